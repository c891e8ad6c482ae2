/**
 * The edge side of the pool protocol (docs/CONTRACTS.md §4): lease (long-poll), heartbeat and
 * progress here; registration in workers.ts; results and the lease-expiry sweep in results.ts.
 * Every state change is committed before it is answered; the in-process notifier only shortens
 * waits.
 *
 * One round trip per phase: a lease answer carries the jobs AND the input images they read
 * (`blobs`, inline up to a budget), so a worker needs no second request to start computing.
 */
import { queries } from "../../db/queries.js";
import type { JobRow } from "../../db/schema.js";
import {
  encodeLeaseFrame,
  isRunTerminal,
  LEASE_FRAME_TYPE,
  traceRun,
  tracing,
  type Job,
  type JobPayload,
  type LeaseResponse,
  type ProgressToken,
} from "../../workflows/index.js";
import { advance } from "./advance.js";
import type { Stmt } from "../../db/driver.js";
import { claimGuard, insertEvents, isJobConflict, withRun, withRuns, type RunSnapshot } from "./commit.js";
import type { EngineCtx } from "./context.js";
import { RunDraft } from "./draft.js";
import { LeaseWaiter, registerWaiter, startLease, unregisterWaiter } from "./handoff.js";
import { JOBS_TOPIC, runTopic } from "./notifier.js";
import { sweepExpired } from "./results.js";
import { touchWorker } from "./workers.js";

/** Largest image sent inline with a lease; larger ones the worker fetches (`GET /v1/pool/blobs/:sha256`). */
export const INLINE_BLOB_MAX = 1 << 20;
/** Most inline bytes per lease answer. */
const INLINE_TOTAL_MAX = 4 << 20;

function toWireJob(j: JobRow): Job {
  return {
    ...j.payload,
    jobId: j.id,
    leaseId: j.leaseId!,
    runId: j.runId,
    stepId: j.stepId,
    attempt: j.attempts,
    deadlineAt: j.deadlineAt!,
    model: j.model,
    tenant: j.tenantId,
  } as Job;
}

/** The image blobs (sha256) a job's recipes read. */
export function imageShas(p: JobPayload): string[] {
  const sources =
    p.op === "encode" ? [p.recipe] : p.op === "connect" ? [p.recipe.source] : p.segments.flatMap((s) => (s.kind === "span" ? [s.recipe.source] : []));
  return sources.flatMap((r) => (r.image ? [r.image.sha256] : []));
}

/**
 * Sweep expired leases at most every min(1 s, leaseMs / 4) per process, not on every lease poll:
 * Node also sweeps on a 1 s timer and Workers on the cron, so this only bounds how late an
 * expired lease is noticed when no timer runs (a Worker between cron ticks).
 */
async function maybeSweep(ctx: EngineCtx): Promise<void> {
  const now = ctx.now();
  const pool = ctx.pool;
  if (pool && now - pool.sweptAt < Math.min(1000, ctx.leaseMs / 4)) return;
  await sweepExpired(ctx);
}

export interface Lease {
  jobs: Job[];
  /**
   * Input images of these jobs by sha256 (each ≤ INLINE_BLOB_MAX, all ≤ INLINE_TOTAL_MAX): base64
   * in the JSON answer, bytes in the binary one (the route picks, `leaseBody`).
   */
  blobs: Record<string, Uint8Array>;
}

/**
 * Long-poll lease: claim up to `max` ready jobs for models this worker advertises, answering as
 * soon as there is at least one, or none after `waitMs`. `undefined` = worker not registered.
 */
export async function leaseJobs(
  ctx: EngineCtx,
  workerId: string,
  max: number,
  waitMs: number,
  signal?: AbortSignal,
  /**
   * The worker credential (edge/credentials/): only its `tenants`' jobs (null = any), and only
   * while it is live — checked by every poll's ready-jobs query, so a long-poll that began before a
   * revocation hands out nothing after it. Default: the shared pool token, unlimited.
   */
  scope: { credentialId?: string; tenants?: string[] | null } = {},
): Promise<Lease | undefined> {
  const worker = await touchWorker(ctx, workerId);
  if (!worker) return undefined;
  const models = JSON.stringify(worker.models);
  if (worker.models.length === 0) return { jobs: [], blobs: {} };
  const deadline = ctx.now() + waitMs;
  const tenants = scope.tenants ? JSON.stringify(scope.tenants) : null;
  const credentialId = scope.credentialId ?? "pool";
  const recheckMs = ctx.notifier.recheckMs ?? 500;
  // an idle poll skips its query (Node: the in-process notifier counts the jobs topic's publishes)
  const idle = ctx.notifier.seq && ctx.pool ? (ctx.pool.idle ??= new Map()) : undefined;
  const scopeKey = `${models}\n${tenants}\n${credentialId}`;
  let modelSet: Set<string> | undefined;
  for (;;) {
    // a worker waiting in a long-poll is alive: touchWorker writes last_seen when it is due
    await touchWorker(ctx, workerId);
    await maybeSweep(ctx);
    // read BEFORE the query: a job queued after it bumps the version, so it is never skipped
    const seq = idle ? ctx.notifier.seq!(JOBS_TOPIC) : 0;
    const seen = idle?.get(scopeKey);
    const quiet = seen !== undefined && seen.seq === seq && ctx.now() - seen.at < recheckMs;
    if (!quiet) {
      const now = ctx.now();
      const ready = await queries(ctx.store).readyJobs.all({ now, max, models, tenants, credentialId });
      // nothing ready for this scope at this version: remembered; and also when every ready job
      // (fewer than max: there are no more) is now claimed by this poll
      const markIdle = () => {
        if (!idle) return;
        if (idle.size >= 1024) idle.clear();
        idle.set(scopeKey, { seq, at: now });
      };
      if (ready.length) {
        const { handed, raced } = await claimAndStart(ctx, workerId, ready);
        if (handed.length) {
          if (!raced && ready.length < max) markIdle();
          return answer(ctx, handed);
        }
        if (raced) continue; // another worker took them: look again at once
      } else markIdle();
    }
    const left = deadline - ctx.now();
    if (left <= 0 || signal?.aborted) return { jobs: [], blobs: {} };
    // a skipped query is made up for at the end of its recheck window at the latest
    const recheck = quiet ? Math.max(1, seen.at + recheckMs - ctx.now()) : recheckMs;
    // nothing to do: a run created in this process meanwhile may lease its jobs to this poll in
    // its own commit (handoff.ts) — the poll then answers without a query or a claim of its own
    const waiter = new LeaseWaiter(workerId, (modelSet ??= new Set(worker.models)), scope.tenants ?? null, credentialId, max);
    registerWaiter(ctx, waiter);
    await Promise.race([ctx.notifier.wait(JOBS_TOPIC, Math.min(left, recheck), signal), waiter.handed]);
    if (!unregisterWaiter(ctx, waiter)) {
      const h = await waiter.handed;
      if (h.jobs.length) return answer(ctx, h.jobs, h.blobs);
    }
    // an abort (the worker hung up) wakes the wait: claim nothing more, or the jobs sit leased
    // by a caller that will never see them until the lease expires
    if (signal?.aborted) return { jobs: [], blobs: {} };
  }
}

/** The lease answer for jobs just leased to the caller (by its claim or by a handoff). */
async function answer(ctx: EngineCtx, handed: JobRow[], have?: ReadonlyMap<string, Uint8Array>): Promise<Lease> {
  ctx.observer?.leased?.(handed, ctx.now());
  const out = { jobs: handed.map(toWireJob), blobs: await inlineBlobs(ctx, handed, have) };
  if (tracing) for (const j of handed) traceRun(j.runId, `edge.leased.${j.stepId}`);
  return out;
}

/** The handed jobs' input images, inline within the budgets; `have`: bytes already in memory (a handoff's uploads). */
async function inlineBlobs(ctx: EngineCtx, handed: JobRow[], have?: ReadonlyMap<string, Uint8Array>): Promise<Record<string, Uint8Array>> {
  const shas = [...new Set(handed.flatMap((j) => imageShas(j.payload)))];
  const out: Record<string, Uint8Array> = {};
  if (!shas.length) return out;
  let total = 0;
  const add = (sha: string, data: Uint8Array) => {
    if (data.length > INLINE_BLOB_MAX || total + data.length > INLINE_TOTAL_MAX) return;
    total += data.length;
    out[sha] = data;
  };
  const missing = have ? shas.filter((sha) => !have.has(sha)) : shas;
  if (have) for (const sha of shas) if (have.has(sha)) add(sha, have.get(sha)!);
  if (missing.length)
    for (const b of await queries(ctx.store).smallBlobsByShas.all({ shas: JSON.stringify(missing), maxSize: INLINE_BLOB_MAX })) add(b.sha256, b.data);
  return out;
}

/**
 * Claim ready jobs and mark their steps `running` (+ `step.started`) in ONE batch per run: the
 * run's rev guard, a guarded claim per job (`claimGuard`: fails the batch if another worker took
 * the job meanwhile) and the steps' changes. One commit instead of a claim and a second commit to
 * start the steps, and no window in which a job is leased but its step still queued. Queued jobs
 * of a finished run or a step no longer live are withdrawn. `raced`: some run's jobs went to
 * another worker. Jobs of several runs (a lease under load) are first tried as ONE batch for all
 * of them (`withRuns`: one transaction instead of one per run); on any conflict, run by run.
 */
async function claimAndStart(ctx: EngineCtx, workerId: string, ready: JobRow[]): Promise<{ handed: JobRow[]; raced: boolean }> {
  const byRun = new Map<string, JobRow[]>();
  for (const j of ready) byRun.set(j.runId, [...(byRun.get(j.runId) ?? []), j]);
  const handed: JobRow[] = [];
  if (byRun.size > 1) {
    const all = await withRuns(ctx.store, [...byRun.keys()], ctx.now, (runId, snap, t) => claimDecision(ctx, workerId, byRun.get(runId)!, snap, t), ctx);
    if (all) {
      for (const [runId, r] of all) claimed(runId, r);
      return { handed, raced: false };
    }
  }
  let raced = false;
  for (const [runId, list] of byRun) {
    try {
      claimed(runId, await withRun(ctx.store, runId, ctx.now, (snap, t) => claimDecision(ctx, workerId, list, snap, t), ctx));
    } catch (e) {
      if (!isJobConflict(e)) throw e;
      raced = true;
    }
  }
  return { handed, raced };

  function claimed(runId: string, r: { committed: boolean; value?: { jobs: JobRow[]; queued: boolean } }): void {
    handed.push(...(r.value?.jobs ?? []));
    if (!r.committed) return;
    ctx.notifier.publish(runTopic(runId));
    if (r.value?.queued) ctx.notifier.publish(JOBS_TOPIC);
  }
}

/** One run's claim: the jobs handed out (as leased rows), whether it queues jobs too, and the statements. */
async function claimDecision(
  ctx: EngineCtx,
  workerId: string,
  list: JobRow[],
  snap: RunSnapshot,
  t: number,
): Promise<{ stmts: Stmt[]; value: { jobs: JobRow[]; queued: boolean } }> {
  const d = new RunDraft(snap.run, snap.steps, t);
  const ok: JobRow[] = [];
  const claims: Stmt[] = [];
  for (const j of list) {
    const s = d.step(j.stepId);
    if (isRunTerminal(d.run.status) || !s || (s.status !== "queued" && s.status !== "running")) {
      d.cancelJobs.push(j.id);
      continue;
    }
    const c = startLease(ctx, d, j, s, workerId);
    claims.push(claimGuard(j.id, j.attempts, c, t));
    ok.push({ ...j, ...c, status: "leased", updatedAt: t });
  }
  await advance(ctx, d);
  return { stmts: [...claims, ...d.toUpdateStatements(ctx)], value: { jobs: ok, queued: d.newJobs.length > 0 } };
}

/** Extend the leases this worker still holds; tell it which to stop and which it lost. */
export async function heartbeat(ctx: EngineCtx, workerId: string, jobIds: string[]): Promise<{ cancel: string[]; lost: string[] } | undefined> {
  if (!(await touchWorker(ctx, workerId))) return undefined;
  const now = ctx.now();
  const cancel: string[] = [];
  const lost: string[] = [];
  const ids = [...new Set(jobIds)];
  if (!ids.length) return { cancel, lost };
  const q = queries(ctx.store);
  const extended = await q.extendLeases.all({ ids: JSON.stringify(ids), workerId, now, expires: now + ctx.leaseMs });
  const held = new Set(extended.map((r) => r.id));
  const rest = ids.filter((id) => !held.has(id));
  if (!rest.length) return { cancel, lost };
  const byId = new Map((await q.jobsByIds.all({ ids: JSON.stringify(rest) })).map((r) => [r.id, r]));
  for (const id of rest) {
    const r = byId.get(id);
    if (r && r.status === "canceled" && r.leasedBy === workerId) cancel.push(id);
    else lost.push(id);
  }
  return { cancel, lost };
}

/** Token progress → `token` events. `cancel: true` when the job was withdrawn. */
export async function progress(ctx: EngineCtx, workerId: string, jobId: string, tokens: ProgressToken[]): Promise<{ cancel: boolean } | undefined> {
  const [job] = await queries(ctx.store).jobById.all({ id: jobId });
  if (!job || job.leasedBy !== workerId) return undefined;
  if (job.status !== "leased") return { cancel: true };
  if (tokens.length) {
    await ctx.store.batch(
      insertEvents(
        { id: job.runId, tenantId: job.tenantId },
        tokens.map((t) => ({ type: "token", stepId: job.stepId, data: { ...t } })),
        ctx.now(),
      ),
    );
    ctx.notifier.publish(runTopic(job.runId));
  }
  return { cancel: false };
}

/**
 * A lease as the worker asked for it: the binary frame (workflows/src/lease-frame.ts) when its
 * Accept names `LEASE_FRAME_TYPE`, else JSON with the images in base64 (`LeaseResponseSchema`).
 */
export function leaseBody(lease: Lease, accept: string | undefined): { type: string; body: Uint8Array } | { json: LeaseResponse } {
  if (accept?.includes(LEASE_FRAME_TYPE)) return { type: LEASE_FRAME_TYPE, body: encodeLeaseFrame(lease.jobs, lease.blobs) };
  const blobs: Record<string, string> = {};
  for (const [sha, b] of Object.entries(lease.blobs)) blobs[sha] = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
  return { json: { jobs: lease.jobs, blobs } };
}
