/**
 * Run lifecycle entry points: create (with idempotency), cancel, wait.
 */
import { queries } from "../../db/queries.js";
import { insertRows } from "../../db/rows.js";
import { blobs, tenantBlobs, type RunRow, type StepRow } from "../../db/schema.js";
import { errorMentions, type Stmt } from "../../db/driver.js";
import type { ResolvedInputs, RunCatalog } from "../../db/types.js";
import { endRun, isRunTerminal, type ModelCatalog, type WorkflowSpec } from "../../workflows/index.js";
import { jobIdOf, newRunId } from "../lib/ids.js";
import { advance } from "./advance.js";
import { isJobConflict, withRun } from "./commit.js";
import { leaseInDraft, nothingHanded, takeWaiter } from "./handoff.js";
import { hookConflict, type EngineCtx } from "./context.js";
import { RunDraft } from "./draft.js";
import { JOBS_TOPIC, runTopic } from "./notifier.js";

/** The run deadline when neither the spec nor the edge (`RUN_TIMEOUT_MS`) sets one. */
export const DEFAULT_RUN_TIMEOUT_MS = 600_000;

export interface NewBlob {
  sha256: string;
  mime: string;
  bytes: Uint8Array;
}

export interface CreateRunInput {
  tenantId: string;
  spec: WorkflowSpec;
  inputs: ResolvedInputs;
  catalog: RunCatalog;
  tags?: string[];
  idempotencyKey?: string | null;
  workflowId?: string | null;
  workflowVersion?: number | null;
  blobs?: NewBlob[];
  parentRunId?: string | null;
  rerunFrom?: string | null;
  /** Rerun: steps whose parent output is reused as `cached` (step id → parent step row). */
  copyFrom?: ReadonlyMap<string, StepRow>;
  /** Rerun: steps that must execute again (never satisfied from the memo table). */
  noCache?: ReadonlySet<string>;
}

/**
 * Store a validated, planned run and everything it starts with (steps, first jobs, memo hits,
 * events) in one atomic batch. With an idempotency key, concurrent duplicates converge on the
 * first run stored (the unique index decides), and `created` is false for the others.
 */
/** What a new run row is made of (the rest starts empty: queued, rev 0, no timestamps but `now`). */
export interface NewRunFields {
  id: string;
  tenantId: string;
  spec: WorkflowSpec;
  inputs: ResolvedInputs;
  catalog: RunCatalog;
  workflowId?: string | null;
  workflowVersion?: number | null;
  tags?: string[];
  idempotencyKey?: string | null;
  parentRunId?: string | null;
  rerunFrom?: string | null;
  deadlineAt: number | null;
}

/** A new, queued run row (run creation and the dry-run planner build it the same way). */
export function newRunRow(f: NewRunFields, now: number): RunRow {
  return {
    id: f.id,
    tenantId: f.tenantId,
    workflowId: f.workflowId ?? null,
    workflowVersion: f.workflowVersion ?? null,
    name: f.spec.name ?? null,
    spec: f.spec,
    inputs: f.inputs,
    catalog: f.catalog,
    status: "queued",
    rev: 0,
    tags: f.tags ?? [],
    idempotencyKey: f.idempotencyKey ?? null,
    parentRunId: f.parentRunId ?? null,
    rerunFrom: f.rerunFrom ?? null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
    outputs: null,
    error: null,
    deadlineAt: f.deadlineAt,
  };
}

export async function createRun(ctx: EngineCtx, input: CreateRunInput): Promise<{ run: RunRow; created: boolean; steps?: StepRow[] }> {
  const { store } = ctx;
  const key = input.idempotencyKey ?? null;
  if (key) {
    const existing = await findByIdempotencyKey(ctx, input.tenantId, key);
    if (existing) return { run: existing, created: false };
  }
  const now = ctx.now();
  const id = newRunId(now);
  const run = newRunRow({ ...input, id, idempotencyKey: key, deadlineAt: now + (input.spec.timeoutMs ?? ctx.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS) }, now);
  const stepRows = pendingStepRows(id, input.tenantId, ctx.planner.steps(input.spec, input.inputs, input.catalog as ModelCatalog), input.noCache);
  /** The run as it is stored; with `handoff`, its new jobs leased to a waiting poll (handoff.ts). */
  const build = async (handoff: boolean) => {
    const draft = new RunDraft(run, stepRows, now);
    draft.event("run.created", null, { status: "queued", workflowId: run.workflowId, parentRunId: run.parentRunId });
    for (const [stepId, parent] of input.copyFrom ?? []) {
      draft.patchStep(stepId, {
        status: "cached",
        cacheKey: parent.cacheKey,
        cacheHit: true,
        cachedFrom: parent.cachedFrom ?? `${parent.runId}/${parent.stepId}`,
        output: parent.output,
        receipt: parent.receipt,
        finishedAt: now,
      });
      draft.event("step.completed", stepId, { status: "cached", cachedFrom: `${parent.runId}/${parent.stepId}`, output: parent.output });
    }
    await advance(ctx, draft);
    const waiter = handoff ? takeWaiter(ctx, draft) : undefined;
    if (!waiter) return { draft, waiter, lease: undefined };
    try {
      return { draft, waiter, lease: leaseInDraft(ctx, draft, waiter) };
    } catch (e) {
      waiter.give(nothingHanded()); // a taken waiter is always answered
      throw e;
    }
  };
  const blobStmts: Stmt[] = (input.blobs ?? []).map((b) =>
    insertRows(blobs, [{ sha256: b.sha256, mime: b.mime, size: b.bytes.length, data: Buffer.from(b.bytes), createdAt: now }], { onConflictDoNothing: true }),
  );
  // the tenant owns what it stored: only its own images can be referenced by sha256 later
  for (const b of input.blobs ?? [])
    blobStmts.push(insertRows(tenantBlobs, [{ tenantId: input.tenantId, sha256: b.sha256, createdAt: now }], { onConflictDoNothing: true }));
  let built = await build(true);
  const commit = async () => {
    const stmts = () => [...blobStmts, ...built.draft.toInsertStatements(ctx), ...(built.lease?.guards ?? [])];
    try {
      await store.batch(stmts());
    } catch (e) {
      // a commit hook's guard (e.g. a webhook endpoint appeared): its statements again, once
      if (!hookConflict(ctx, e, run)) throw e;
      await store.batch(stmts());
    }
  };
  try {
    try {
      await commit();
    } catch (e) {
      // the waiting worker's credential was revoked meanwhile: store the run with its jobs queued
      if (!built.waiter || !isJobConflict(e)) throw e;
      built.waiter.give(nothingHanded());
      built = await build(false);
      await commit();
    }
  } catch (e) {
    built.waiter?.give(nothingHanded()); // the poll looks at the queue again
    if (key && errorMentions(e, "runs.idempotency_key")) {
      const existing = await findByIdempotencyKey(ctx, input.tenantId, key);
      if (existing) return { run: existing, created: false };
    }
    throw e;
  }
  const { draft, waiter, lease } = built;
  if (waiter) waiter.give({ jobs: lease!.jobs, blobs: new Map((input.blobs ?? []).map((b) => [b.sha256, b.bytes])) });
  if (draft.newJobs.some((j) => j.status === "queued")) ctx.notifier.publish(JOBS_TOPIC);
  ctx.notifier.publish(runTopic(id));
  return { run: draft.run, created: true, steps: draft.steps };
}

async function findByIdempotencyKey(ctx: EngineCtx, tenantId: string, key: string): Promise<RunRow | undefined> {
  const [row] = await queries(ctx.store).runByIdempotencyKey.all({ tenantId, key });
  return row;
}

/**
 * Cancel a run: pending/queued steps are skipped, running ones canceled, their jobs withdrawn
 * (a worker holding one learns it at its next heartbeat or progress call, and its result is
 * ignored). Canceling a finished run changes nothing.
 */
export async function cancelRun(ctx: EngineCtx, runId: string, reason = "canceled by request"): Promise<RunRow | undefined> {
  return (await endRunEarly(ctx, runId, "canceled", { code: "canceled", message: reason })).run;
}

/**
 * A run past its deadline (`runs.deadline_at`) ends `timed_out` like a cancel: pending/queued
 * steps are skipped, running ones `timed_out` with their jobs withdrawn (the holder hears
 * `cancel` at its next heartbeat). `run.completed` → the `run.failed` webhook. No-op when the run
 * already finished or its deadline moved (re-read under the rev guard).
 */
export async function timeOutRun(ctx: EngineCtx, runId: string): Promise<{ run?: RunRow; committed: boolean }> {
  return endRunEarly(ctx, runId, "timed_out", (run) => ({
    code: "run_timeout",
    message: `run exceeded its timeout of ${run.deadlineAt! - run.createdAt} ms`,
  }));
}

/** Cancel or run deadline: workflows' `endRun` (stop running steps, skip pending/queued ones). */
async function endRunEarly(
  ctx: EngineCtx,
  runId: string,
  reason: "canceled" | "timed_out",
  error: { code: string; message: string } | ((run: RunRow) => { code: string; message: string }),
): Promise<{ run?: RunRow; committed: boolean }> {
  const r = await withRun(
    ctx.store,
    runId,
    ctx.now,
    async (snap, t) => {
      if (isRunTerminal(snap.run.status)) return null;
      if (reason === "timed_out" && (snap.run.deadlineAt == null || snap.run.deadlineAt > t)) return null;
      const err = typeof error === "function" ? error(snap.run) : error;
      const d = new RunDraft(snap.run, snap.steps, t);
      const plan = endRun(
        d.steps.map((s) => ({ id: s.stepId, status: s.status })),
        reason,
      );
      for (const id of plan.skip) {
        const s = d.step(id)!;
        if (s.status === "queued") d.cancelJobs.push(jobIdOf(runId, id));
        d.patchStep(id, { status: "skipped", error: err, finishedAt: t });
        d.event("step.skipped", id, { status: "skipped", error: err });
      }
      for (const id of plan.stop) {
        d.cancelJobs.push(jobIdOf(runId, id));
        d.patchStep(id, { status: reason, error: err, finishedAt: t });
        d.event(reason === "canceled" ? "step.canceled" : "step.timed_out", id, reason === "canceled" ? { status: reason } : { status: reason, error: err });
      }
      d.patchRun({ status: plan.runStatus, finishedAt: t, error: err });
      d.event("run.completed", null, { status: plan.runStatus, outputs: null, error: d.run.error });
      return { stmts: d.toUpdateStatements(ctx), value: d.run };
    },
    ctx,
  );
  if (r.committed) ctx.notifier.publish(runTopic(runId));
  return { run: r.value ?? r.snap?.run, committed: r.committed };
}

/**
 * Wait (DB polling + notifier) until the run is terminal or `ms` passes. Polls the status alone
 * (the caller reads the run once it is done waiting); `undefined` = no such run.
 */
export async function waitForRun(ctx: EngineCtx, runId: string, ms: number, signal?: AbortSignal): Promise<RunRow["status"] | undefined> {
  const deadline = ctx.now() + ms;
  for (;;) {
    const [row] = await queries(ctx.store).runStatusById.all({ id: runId });
    if (!row || isRunTerminal(row.status)) return row?.status;
    const left = deadline - ctx.now();
    if (left <= 0 || signal?.aborted) return row.status;
    await ctx.notifier.wait(runTopic(runId), Math.min(left, ctx.notifier.recheckMs ?? 250), signal);
  }
}

/** What the planner says of one step (the fields a new, pending step row is made from). */
type PlannedStepInfo = Pick<StepRow, "stepId" | "op" | "model" | "valueDeps" | "tensorDeps" | "maxAttempts" | "backoffMs" | "timeoutMs">;

/**
 * The rows of a new run's steps, all `pending` (shared by run creation and the dry-run planner,
 * so a plan shows exactly what a run would store).
 */
export function pendingStepRows(runId: string, tenantId: string, infos: readonly PlannedStepInfo[], noCache?: ReadonlySet<string>): StepRow[] {
  return infos.map((info, idx) => ({
    runId,
    stepId: info.stepId,
    tenantId,
    idx,
    op: info.op,
    model: info.model,
    status: "pending",
    valueDeps: info.valueDeps,
    tensorDeps: info.tensorDeps,
    attempts: 0,
    maxAttempts: info.maxAttempts,
    backoffMs: info.backoffMs,
    timeoutMs: info.timeoutMs,
    cacheKey: null,
    cacheHit: false,
    cachedFrom: null,
    noCache: noCache?.has(info.stepId) ?? false,
    workerId: null,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
    queueMs: null,
    computeMs: null,
    output: null,
    receipt: null,
    error: null,
  }));
}
