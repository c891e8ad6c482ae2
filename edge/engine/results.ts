/**
 * Job outcomes (docs/CONTRACTS.md §4): worker results, failed attempts with retry/backoff, and the
 * lease-expiry / deadline sweep. Each outcome is committed with its run's consequences in one
 * batch guarded by the run rev and the job's lease, so it applies at most once.
 */
import { queries } from "../../db/queries.js";
import type { JobRow } from "../../db/schema.js";
import type { StepError } from "../../db/types.js";
import { traceRun, tracing, type JobResult } from "../../workflows/index.js";
import { advance } from "./advance.js";
import type { Stmt } from "../../db/driver.js";
import { isJobConflict, jobGuard, withRun, withRuns, type RunSnapshot } from "./commit.js";
import type { EngineCtx } from "./context.js";
import { timeOutRun } from "./runs.js";
import { RunDraft } from "./draft.js";
import { JOBS_TOPIC, runTopic } from "./notifier.js";
import { touchWorker } from "./workers.js";

/** Longest retry backoff. */
const MAX_BACKOFF_MS = 60_000;

type Decide = (d: RunDraft, t: number) => { job: Partial<JobRow> };

/** How one worker result changes its run (step patch, events) and its job. */
function resultDecision(job: JobRow, res: JobResult, workerId: string): Decide {
  return (d, t) => {
    const s = liveStep(d, job, t);
    if (!s) return { job: { status: "canceled" } };
    if (res.ok) {
      // tokens the worker did not post as progress (the result came first): their events now,
      // before step.completed, as /progress would have written them
      for (const tk of res.progress ?? []) d.event("token", s.stepId, { ...tk });
      const patch = {
        status: "succeeded" as const,
        output: res.output,
        receipt: res.receipt,
        cacheHit: res.cacheHit,
        computeMs: Math.round(res.timings.computeMs),
        finishedAt: t,
        error: null,
        ...(res.timings.queueMs !== undefined ? { queueMs: Math.round(res.timings.queueMs) } : {}),
      };
      d.patchStep(s.stepId, patch);
      d.event("step.completed", s.stepId, { status: "succeeded", output: res.output, cacheHit: res.cacheHit, computeMs: patch.computeMs, workerId });
      return { job: { status: "done" } };
    }
    return failAttempt(d, job, { code: res.error.code, message: res.error.message, retryable: res.error.retryable, details: res.error.details }, t, "failed");
  };
}

/**
 * Apply results; each is accepted at most once, and only from the worker holding its lease. The
 * results of one run (a worker posts the jobs it leased together in one request) are committed
 * together: one snapshot, one advance, one batch — instead of one of each per job.
 */
export async function applyResults(ctx: EngineCtx, workerId: string, results: JobResult[]): Promise<{ accepted: string[]; ignored: string[] }> {
  await touchWorker(ctx, workerId);
  const accepted: string[] = [];
  const ignored: string[] = [];
  const rows = await queries(ctx.store).jobsByIds.all({ ids: JSON.stringify(results.map((r) => r.jobId)) });
  if (tracing) for (const r of rows) traceRun(r.runId, `edge.results.${r.stepId}`);
  const byId = new Map(rows.map((j) => [j.id, j]));
  const byRun = new Map<string, { job: JobRow; res: JobResult }[]>();
  const seen = new Set<string>();
  for (const res of results) {
    const job = byId.get(res.jobId);
    if (!job || seen.has(res.jobId) || job.status !== "leased" || job.leaseId !== res.leaseId || job.leasedBy !== workerId) {
      ignored.push(res.jobId);
      continue;
    }
    seen.add(res.jobId);
    byRun.set(job.runId, [...(byRun.get(job.runId) ?? []), { job, res }]);
  }
  const outcomesOf = (list: { job: JobRow; res: JobResult }[]) => list.map(({ job, res }) => ({ job, decide: resultDecision(job, res, workerId) }));
  const settled = (list: { job: JobRow; res: JobResult }[], ok: readonly boolean[]) =>
    list.forEach(({ job, res }, i) => {
      if (ok[i]) {
        accepted.push(res.jobId);
        ctx.observer?.result?.(job, res);
      } else ignored.push(res.jobId);
    });
  // several runs' results (a post under load): one batch for all of them, else run by run
  if (byRun.size > 1) {
    const all = await withRuns(ctx.store, [...byRun.keys()], ctx.now, (runId, snap, t) => settleDecision(ctx, outcomesOf(byRun.get(runId)!), snap, t), ctx);
    if (all) {
      let queued = false;
      for (const [runId, r] of all) {
        if (r.committed) ctx.notifier.publish(runTopic(runId));
        queued ||= r.value === true;
        const list = byRun.get(runId)!;
        settled(
          list,
          list.map(() => r.committed),
        );
      }
      if (queued) ctx.notifier.publish(JOBS_TOPIC);
      return { accepted, ignored };
    }
  }
  for (const list of byRun.values()) settled(list, await settleJobs(ctx, outcomesOf(list)));
  if (tracing) for (const r of rows) traceRun(r.runId, `edge.applied.${r.stepId}`);
  return { accepted, ignored };
}

/**
 * The step a leased job belongs to, `running` — or undefined when it is no longer live (the run
 * was canceled or the step skipped; the job is then withdrawn). A step still `queued` under a
 * current lease means the edge stopped between claiming the job and marking the step started;
 * it is started now, so the outcome applies.
 */
function liveStep(d: RunDraft, job: JobRow, t: number) {
  const s = d.step(job.stepId);
  if (!s || (s.status !== "running" && s.status !== "queued")) return undefined;
  if (s.status === "queued") d.patchStep(s.stepId, { status: "running", attempts: job.attempts, workerId: job.leasedBy, startedAt: s.startedAt ?? t });
  return s;
}

/**
 * An attempt failed (worker error, expired lease, deadline): re-queue with exponential backoff
 * while attempts remain and the error is retryable; else the step ends `final` with the reason.
 */
function failAttempt(d: RunDraft, job: JobRow, error: StepError, t: number, final: "failed" | "timed_out"): { job: Partial<JobRow> } {
  const s = d.step(job.stepId)!;
  const err = { ...error, attempt: job.attempts };
  if (error.retryable !== false && job.attempts < job.maxAttempts) {
    const availableAt = t + Math.min(MAX_BACKOFF_MS, job.backoffMs * 2 ** Math.max(0, job.attempts - 1));
    d.patchStep(s.stepId, { status: "queued", error: err, queuedAt: t });
    d.event("step.retrying", s.stepId, { status: "queued", attempt: job.attempts, error: err, availableAt });
    return { job: { status: "queued", leaseId: null, leasedBy: null, leaseExpiresAt: null, deadlineAt: null, availableAt } };
  }
  const message = job.attempts >= job.maxAttempts && error.retryable !== false ? `${error.message} (after ${job.attempts} attempts)` : error.message;
  const fin = { ...err, message };
  d.patchStep(s.stepId, { status: final, error: fin, finishedAt: t });
  d.event(final === "failed" ? "step.failed" : "step.timed_out", s.stepId, { status: final, error: fin });
  return { job: { status: "failed" } };
}

/**
 * One run's job outcomes as statements (each job's guarded patch, then the run's changes); value:
 * the commit queues jobs (a retry, or downstream steps the outcome unblocked), so a waiting lease
 * must be woken — without it a chained step waited for the lease's recheck (up to 500 ms).
 */
async function settleDecision(
  ctx: EngineCtx,
  outcomes: { job: JobRow; decide: Decide }[],
  snap: RunSnapshot,
  t: number,
): Promise<{ stmts: Stmt[]; value: boolean }> {
  const d = new RunDraft(snap.run, snap.steps, t);
  const guards = outcomes.map(({ job, decide }) => {
    const { job: jobPatch } = decide(d, t);
    return { guard: jobGuard(job.id, job.leaseId!, { ...jobPatch, updatedAt: t }), requeued: jobPatch.status === "queued" };
  });
  await advance(ctx, d);
  return { stmts: [...guards.map((g) => g.guard), ...d.toUpdateStatements(ctx)], value: guards.some((g) => g.requeued) || d.newJobs.length > 0 };
}

/**
 * Commit job outcomes of ONE run together with the run's consequences, guarded by the run rev and
 * each job's lease. Per job: false when its lease was no longer current (its outcome is ignored).
 * When one lease of several changed meanwhile the whole batch rolls back, and the outcomes are
 * committed one by one, so the others still apply.
 */
async function settleJobs(ctx: EngineCtx, outcomes: { job: JobRow; decide: Decide }[]): Promise<boolean[]> {
  const runId = outcomes[0]!.job.runId;
  try {
    const r = await withRun(ctx.store, runId, ctx.now, (snap, t) => settleDecision(ctx, outcomes, snap, t), ctx);
    if (!r.committed) return outcomes.map(() => false);
    ctx.notifier.publish(runTopic(runId));
    if (r.value) ctx.notifier.publish(JOBS_TOPIC);
    return outcomes.map(() => true);
  } catch (e) {
    if (!isJobConflict(e)) throw e;
    if (outcomes.length === 1) return [false];
    const one: boolean[] = [];
    for (const o of outcomes) one.push(...(await settleJobs(ctx, [o])));
    return one;
  }
}

/**
 * Expired leases and passed step deadlines (counted from the lease) → retry or fail; runs past
 * their run deadline → `timed_out` (queued jobs have no deadline of their own: a backlog is not a
 * failure, the run deadline bounds the wait). Driven by DB
 * state only (lease calls, the Node timer, the Workers cron). Bounded; safe to call from anywhere.
 */
export async function sweepExpired(ctx: EngineCtx): Promise<number> {
  const now = ctx.now();
  if (ctx.pool) ctx.pool.sweptAt = now;
  const q = queries(ctx.store);
  const expired = await q.expiredLeases.all({ now });
  const late = await q.lateJobs.all({ now });
  const seen = new Set<string>();
  let n = 0;
  for (const job of [...late, ...expired]) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    const timedOut = job.deadlineAt != null && job.deadlineAt < now;
    const error: StepError = timedOut
      ? { code: "timeout", message: `step exceeded its timeout of ${job.timeoutMs} ms`, retryable: true }
      : { code: "lease_expired", message: `worker ${job.leasedBy} stopped heartbeating; lease expired`, retryable: true };
    const [ok] = await settleJobs(ctx, [
      {
        job,
        decide: (d, t) => {
          if (!liveStep(d, job, t)) return { job: { status: "canceled" } };
          return failAttempt(d, job, error, t, timedOut ? "timed_out" : "failed");
        },
      },
    ]);
    if (ok) n++;
  }
  // run deadlines: live runs whose deadline passed (runs_status_deadline index)
  const overdue = await q.overdueRuns.all({ now });
  for (const { id } of overdue) {
    if ((await timeOutRun(ctx, id)).committed) n++;
  }
  return n;
}
