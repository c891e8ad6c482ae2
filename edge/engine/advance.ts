/**
 * The run engine's one decision procedure: given a draft of a run, move every step that can move
 * (pending → skipped / cached / queued), then settle the run when every step is terminal. Used on
 * create, after every result, after a lease expiry and on cancel — so the rules live in one place.
 */
import { queries } from "../../db/queries.js";
import type { StepRow } from "../../db/schema.js";
import type { Store } from "../../db/driver.js";
import type { StepError } from "../../db/types.js";
import { advanceRun, isRunTerminal, isTerminal, STEP_DEAD, STEP_OK, type ModelCatalog, type StepOutput } from "../../workflows/index.js";
import { jobIdOf } from "../lib/ids.js";
import { RunDraft } from "./draft.js";
import type { EngineCtx } from "./context.js";

/** Outputs of the steps that have them (succeeded or cached). */
export function stepOutputs(draft: RunDraft): Record<string, StepOutput> {
  const out: Record<string, StepOutput> = {};
  for (const s of draft.steps) if (STEP_OK.has(s.status) && s.output) out[s.stepId] = s.output;
  return out;
}

/** What a memo hit copies from the step that computed the value first. */
type MemoHit = Pick<StepRow, "runId" | "stepId" | "output" | "receipt">;

/**
 * A succeeded step (same tenant) per cache key: the memo table is the steps table. One statement
 * for all the keys (`memoByKeys`: per key the row a `LIMIT 1` lookup of that key returns).
 */
async function memoLookup(store: Store, tenantId: string, keys: string[]): Promise<Map<string, MemoHit>> {
  const found = new Map<string, MemoHit>();
  const rows = await queries(store).memoByKeys.all({ tenantId, keys: JSON.stringify([...new Set(keys)]) });
  for (const row of rows) if (row.cacheKey !== null && row.output && !found.has(row.cacheKey)) found.set(row.cacheKey, row);
  return found;
}

function skip(draft: RunDraft, s: StepRow, error: StepError): void {
  draft.patchStep(s.stepId, { status: "skipped", error, finishedAt: draft.now });
  draft.event("step.skipped", s.stepId, { status: "skipped", error });
}

/** Move every movable step, then settle the run. Mutates `draft`. */
export async function advance(ctx: Pick<EngineCtx, "store" | "planner" | "observer">, draft: RunDraft): Promise<void> {
  if (isRunTerminal(draft.run.status)) return;
  const spec = draft.run.spec;
  const catalog = draft.run.catalog as ModelCatalog;
  for (let round = 0; round < 10_000; round++) {
    // the rules (what is ready, what is skipped) are workflows' advanceRun; this applies them
    const tick = advanceRun(draft.steps.map((s) => ({ id: s.stepId, status: s.status, valueDeps: s.valueDeps, tensorDeps: s.tensorDeps })));
    for (const id of tick.skip) {
      const s = draft.step(id)!;
      const dead = [...s.valueDeps, ...s.tensorDeps].find((d) => STEP_DEAD.has(draft.step(d)!.status));
      // a queued step may already have a job: withdraw it
      if (s.status === "queued") draft.cancelJobs.push(jobIdOf(draft.run.id, s.stepId));
      skip(draft, s, { code: "upstream_failed", message: `upstream step '${dead}' is ${dead ? draft.step(dead)!.status : "dead"}` });
    }
    const ready = tick.ready.map((id) => draft.step(id)!);
    if (ready.length) {
      const outputs = stepOutputs(draft);
      const resolved = await Promise.all(ready.map((s) => ctx.planner.resolve(spec, draft.run.inputs, catalog, s.stepId, outputs)));
      const keys = resolved.flatMap((r, i) => (r.ok && !ready[i]!.noCache ? [r.cacheKey] : []));
      const memo = keys.length ? await memoLookup(ctx.store, draft.run.tenantId, keys) : new Map<string, MemoHit>();
      let hits = 0;
      ready.forEach((s, i) => {
        const r = resolved[i]!;
        if (!r.ok) {
          draft.patchStep(s.stepId, { status: "failed", error: r.error, finishedAt: draft.now });
          draft.event("step.failed", s.stepId, { status: "failed", error: r.error });
          return;
        }
        const hit = s.noCache ? undefined : memo.get(r.cacheKey);
        if (hit) {
          hits++;
          draft.patchStep(s.stepId, {
            status: "cached",
            cacheKey: r.cacheKey,
            cacheHit: true,
            cachedFrom: `${hit.runId}/${hit.stepId}`,
            output: hit.output,
            receipt: hit.receipt,
            finishedAt: draft.now,
          });
          draft.event("step.completed", s.stepId, { status: "cached", cachedFrom: `${hit.runId}/${hit.stepId}`, output: hit.output });
          return;
        }
        draft.patchStep(s.stepId, { status: "queued", cacheKey: r.cacheKey, queuedAt: draft.now });
        draft.newJobs.push({
          id: jobIdOf(draft.run.id, s.stepId),
          tenantId: draft.run.tenantId,
          runId: draft.run.id,
          stepId: s.stepId,
          stepIdx: s.idx,
          model: r.payload.model,
          op: r.payload.op,
          payload: r.payload,
          status: "queued",
          attempts: 0,
          maxAttempts: s.maxAttempts,
          backoffMs: s.backoffMs,
          timeoutMs: s.timeoutMs,
          availableAt: draft.now,
          // Queued jobs have no deadline: a backlog is not a failure (the step's timeoutMs bounds
          // execution, from the lease on); the run deadline bounds how long a run may wait.
          deadlineAt: null,
          createdAt: draft.now,
          updatedAt: draft.now,
        });
        draft.event("step.queued", s.stepId, { status: "queued", cacheKey: r.cacheKey });
      });
      if (hits) ctx.observer?.memoHit?.(hits);
    }
    if (!tick.skip.length && !ready.length) break;
  }
  settle(ctx, draft);
}

/** Every step terminal → the run's final status (workflows' rules), outputs and `run.completed`. */
export function settle(ctx: Pick<EngineCtx, "planner">, draft: RunDraft): void {
  if (isRunTerminal(draft.run.status)) return;
  const started = draft.steps.some((s) => s.status !== "pending" && s.status !== "queued");
  const { runStatus } = advanceRun(draft.steps.map((s) => ({ id: s.stepId, status: s.status, valueDeps: s.valueDeps, tensorDeps: s.tensorDeps })));
  if (runStatus === "running" || !draft.steps.every((s) => isTerminal(s.status))) {
    if (started && draft.run.status === "queued") {
      draft.patchRun({ status: "running", startedAt: draft.now });
      draft.event("run.started", null, { status: "running" });
    }
    return;
  }
  if (draft.run.status === "queued") {
    // e.g. every step memoized: the run still passes through running (the state machine's path)
    draft.patchRun({ status: "running", startedAt: draft.now });
    draft.event("run.started", null, { status: "running" });
  }
  const culprit = draft.steps.find((s) => s.status === "failed" || s.status === "timed_out") ?? draft.steps.find((s) => STEP_DEAD.has(s.status));
  const patch: Parameters<RunDraft["patchRun"]>[0] = { status: runStatus, finishedAt: draft.now };
  if (!draft.run.startedAt) patch.startedAt = draft.now;
  if (runStatus !== "succeeded" && culprit) {
    patch.error = {
      code: culprit.error?.code ?? culprit.status,
      message: `step '${culprit.stepId}' ${culprit.status}: ${culprit.error?.message ?? ""}`.trim(),
      stepId: culprit.stepId,
    };
  } else {
    try {
      patch.outputs = ctx.planner.outputs(draft.run.spec, draft.run.inputs, stepOutputs(draft));
    } catch (e) {
      patch.status = "failed";
      patch.error = { code: "outputs_unresolved", message: (e as Error).message };
    }
  }
  draft.patchRun(patch);
  draft.event("run.completed", null, {
    status: draft.run.status,
    outputs: draft.run.outputs ?? null,
    error: draft.run.error ?? null,
  });
}
