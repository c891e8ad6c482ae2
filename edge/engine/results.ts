/**
 * Job outcomes (ARCHITECTURE.md §4): worker results, failed attempts with retry/backoff, and the
 * lease-expiry / deadline sweep. Each outcome is committed with its run's consequences in one
 * batch guarded by the run rev and the job's lease, so it applies at most once.
 */
import { and, eq, inArray, lt } from "drizzle-orm";
import { queries } from "../../db/queries.js";
import { jobs, runs, type JobRow } from "../../db/schema.js";
import type { StepError } from "../../db/types.js";
import type { JobResult } from "../../workflows/index.js";
import { advance } from "./advance.js";
import { isJobConflict, jobGuard, withRun } from "./commit.js";
import { timeOutRun } from "./runs.js";
import { RunDraft } from "./draft.js";
import { JOBS_TOPIC, runTopic } from "./notifier.js";
import type { PoolCtx } from "./pool.js";
import { touchWorker } from "./workers.js";

/** Most jobs expired/failed per sweep (bounded work per call). */
const SWEEP_BATCH = 50;
/** Longest retry backoff. */
const MAX_BACKOFF_MS = 60_000;

/** Apply results; each is accepted at most once, and only from the worker holding its lease. */
export async function applyResults(ctx: PoolCtx, workerId: string, results: JobResult[]): Promise<{ accepted: string[]; ignored: string[] }> {
  await touchWorker(ctx, workerId);
  const accepted: string[] = [];
  const ignored: string[] = [];
  for (const res of results) {
    const [job] = await queries(ctx.store).jobById.all({ id: res.jobId });
    if (!job || job.status !== "leased" || job.leaseId !== res.leaseId || job.leasedBy !== workerId) {
      ignored.push(res.jobId);
      continue;
    }
    const ok = await settleJob(ctx, job, (d, t) => {
      const s = liveStep(d, job, t);
      if (!s) return { job: { status: "canceled" } };
      if (res.ok) {
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
    });
    if (ok) {
      accepted.push(res.jobId);
      ctx.observer?.result?.(job, res);
    } else ignored.push(res.jobId);
  }
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
 * Commit a job outcome together with its run's consequences, guarded by both the run rev and
 * the job's lease. False when the lease was no longer current (the outcome is ignored).
 */
async function settleJob(
  ctx: PoolCtx,
  job: JobRow,
  decide: (d: RunDraft, t: number) => { job: Partial<JobRow> },
): Promise<boolean> {
  try {
    const r = await withRun(ctx.store, job.runId, ctx.now, async (snap, t) => {
      const d = new RunDraft(snap.run, snap.steps, t);
      const { job: jobPatch } = decide(d, t);
      await advance(ctx, d);
      const patch = { ...jobPatch, updatedAt: t };
      const stmts = [jobGuard(ctx.store, job.id, job.leaseId!, patch), ...d.toUpdateStatements(ctx.store)];
      return { stmts, value: jobPatch.status };
    });
    if (!r.committed) return false;
    ctx.notifier.publish(runTopic(job.runId));
    if (r.value === "queued") ctx.notifier.publish(JOBS_TOPIC);
    return true;
  } catch (e) {
    if (isJobConflict(e)) return false;
    throw e;
  }
}

/**
 * Expired leases and passed step deadlines (counted from the lease) → retry or fail; runs past
 * their run deadline → `timed_out` (queued jobs have no deadline of their own: a backlog is not a
 * failure, the run deadline bounds the wait). Driven by DB
 * state only (lease calls, the Node timer, the Workers cron). Bounded; safe to call from anywhere.
 */
export async function sweepExpired(ctx: PoolCtx): Promise<number> {
  const now = ctx.now();
  const expired = await ctx.store.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "leased"), lt(jobs.leaseExpiresAt, now)))
    .limit(SWEEP_BATCH);
  const late = await ctx.store.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "leased"), lt(jobs.deadlineAt, now)))
    .limit(SWEEP_BATCH);
  const seen = new Set<string>();
  let n = 0;
  for (const job of [...late, ...expired]) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    const timedOut = job.deadlineAt != null && job.deadlineAt < now;
    const error: StepError = timedOut
      ? { code: "timeout", message: `step exceeded its timeout of ${job.timeoutMs} ms`, retryable: true }
      : { code: "lease_expired", message: `worker ${job.leasedBy} stopped heartbeating; lease expired`, retryable: true };
    const ok = await settleJob(ctx, job, (d, t) => {
      if (!liveStep(d, job, t)) return { job: { status: "canceled" } };
      return failAttempt(d, job, error, t, timedOut ? "timed_out" : "failed");
    });
    if (ok) n++;
  }
  // run deadlines: live runs whose deadline passed (runs_status_deadline index)
  const overdue = await ctx.store.db
    .select({ id: runs.id })
    .from(runs)
    .where(and(inArray(runs.status, ["queued", "running"]), lt(runs.deadlineAt, now)))
    .limit(SWEEP_BATCH);
  for (const { id } of overdue) {
    if ((await timeOutRun(ctx, id)).committed) n++;
  }
  return n;
}
