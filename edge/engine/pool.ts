/**
 * The edge side of the pool protocol (ARCHITECTURE.md §4): register, lease (long-poll), heartbeat,
 * progress, results, and the lease-expiry sweep. Every state change is committed before it is
 * answered; the in-process notifier only shortens waits.
 */
import { and, asc, eq, gte, inArray, lt, lte, sql } from "drizzle-orm";
import { queries } from "../../db/queries.js";
import { jobs, workers, type JobRow, type WorkerRow } from "../../db/schema.js";
import type { StepError } from "../../db/types.js";
import type { Job, JobResult, ModelAdvert, ProgressToken, RegisterRequest } from "../../workflows/index.js";
import { advance } from "./advance.js";
import { insertEvents, isJobConflict, jobGuard, withRun } from "./commit.js";
import { isRunTerminal, RunDraft } from "./draft.js";
import { JOBS_TOPIC, runTopic } from "./notifier.js";
import type { RunsCtx } from "./runs.js";

export interface PoolObserver {
  leased?(jobs: JobRow[], now: number): void;
  result?(job: JobRow, result: JobResult): void;
  memoHit?(n: number): void;
}

export interface PoolCtx extends RunsCtx {
  leaseMs: number;
  observer?: PoolObserver;
}

/** Most jobs expired/failed per sweep (bounded work per call). */
const SWEEP_BATCH = 50;
/** Longest retry backoff. */
const MAX_BACKOFF_MS = 60_000;

export async function registerWorker(ctx: PoolCtx, req: RegisterRequest, tenantId: string): Promise<{ leaseMs: number }> {
  const now = ctx.now();
  const row = {
    id: req.workerId,
    tenantId,
    executionProvider: req.executionProvider,
    ortVersion: req.ortVersion,
    models: req.models,
    leaseMs: ctx.leaseMs,
    registeredAt: now,
    lastSeenAt: now,
  };
  const { id: _id, registeredAt: _r, ...update } = row;
  await ctx.store.batch([ctx.store.db.insert(workers).values(row).onConflictDoUpdate({ target: workers.id, set: update })]);
  return { leaseMs: ctx.leaseMs };
}

/** Workers seen within 3 × their leaseMs. */
export async function liveWorkers(ctx: PoolCtx): Promise<WorkerRow[]> {
  const now = ctx.now();
  return queries(ctx.store).workersSeenSince.all({ since: now - 3 * ctx.leaseMs });
}

export async function liveAdverts(ctx: PoolCtx): Promise<ModelAdvert[]> {
  return (await liveWorkers(ctx)).flatMap((w) => w.models);
}

async function touchWorker(ctx: PoolCtx, workerId: string): Promise<WorkerRow | undefined> {
  const [w] = await ctx.store.db
    .update(workers)
    .set({ lastSeenAt: ctx.now() })
    .where(eq(workers.id, workerId))
    .returning();
  return w;
}

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
  } as Job;
}

/**
 * Long-poll lease: claim up to `max` ready jobs for models this worker advertises, answering as
 * soon as there is at least one, or `[]` after `waitMs`. `undefined` = worker not registered.
 */
export async function leaseJobs(
  ctx: PoolCtx,
  workerId: string,
  max: number,
  waitMs: number,
  signal?: AbortSignal,
): Promise<Job[] | undefined> {
  const worker = await touchWorker(ctx, workerId);
  if (!worker) return undefined;
  const models = [...new Set(worker.models.map((m) => m.name))].slice(0, 64);
  if (models.length === 0) return [];
  const deadline = ctx.now() + waitMs;
  let touched = ctx.now();
  for (;;) {
    // a worker waiting in a long-poll is alive: keep last_seen fresh (at most every leaseMs / 2)
    if (ctx.now() - touched > ctx.leaseMs / 2) {
      touched = ctx.now();
      await touchWorker(ctx, workerId);
    }
    await sweepExpired(ctx);
    const claimed = await claim(ctx, workerId, models, max);
    if (claimed.length) {
      const handed = await markStarted(ctx, claimed);
      if (handed.length) {
        ctx.observer?.leased?.(handed, ctx.now());
        return handed.map(toWireJob);
      }
    }
    const left = deadline - ctx.now();
    if (left <= 0 || signal?.aborted) return [];
    await ctx.notifier.wait(JOBS_TOPIC, Math.min(left, ctx.notifier.recheckMs ?? 500), signal);
  }
}

/** One atomic UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING: two workers never get one job. */
async function claim(ctx: PoolCtx, workerId: string, models: string[], max: number): Promise<JobRow[]> {
  const now = ctx.now();
  const ready = ctx.store.db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, "queued"), lte(jobs.availableAt, now), inArray(jobs.model, models)))
    .orderBy(asc(jobs.availableAt), asc(jobs.runId), asc(jobs.stepIdx))
    .limit(max);
  return ctx.store.db
    .update(jobs)
    .set({
      status: "leased",
      leaseId: sql`lower(hex(randomblob(12)))`,
      leasedBy: workerId,
      leasedAt: now,
      leaseExpiresAt: now + ctx.leaseMs,
      deadlineAt: sql`${now} + ${jobs.timeoutMs}`,
      attempts: sql`${jobs.attempts} + 1`,
      updatedAt: now,
    })
    .where(and(inArray(jobs.id, ready), eq(jobs.status, "queued")))
    .returning();
}

/** Claimed jobs → their steps `running` (+ `step.started`), per run. Jobs of finished runs are dropped. */
async function markStarted(ctx: PoolCtx, claimed: JobRow[]): Promise<JobRow[]> {
  const byRun = new Map<string, JobRow[]>();
  for (const j of claimed) byRun.set(j.runId, [...(byRun.get(j.runId) ?? []), j]);
  const handed: JobRow[] = [];
  for (const [runId, list] of byRun) {
    const r = await withRun(ctx.store, runId, ctx.now, async (snap, t) => {
      const d = new RunDraft(snap.run, snap.steps, t);
      const ok: JobRow[] = [];
      for (const j of list) {
        const s = d.step(j.stepId);
        if (isRunTerminal(d.run.status) || !s || (s.status !== "queued" && s.status !== "running")) {
          d.cancelJobs.push(j.id);
          continue;
        }
        ok.push(j);
        d.patchStep(s.stepId, {
          status: "running",
          attempts: j.attempts,
          workerId: j.leasedBy,
          startedAt: s.startedAt ?? t,
          queueMs: s.queueMs ?? (s.queuedAt != null ? t - s.queuedAt : null),
        });
        d.event("step.started", s.stepId, { status: "running", attempt: j.attempts, workerId: j.leasedBy });
      }
      await advance(ctx, d);
      return { stmts: d.toUpdateStatements(ctx.store), value: ok };
    });
    handed.push(...(r.value ?? []));
    if (r.committed) ctx.notifier.publish(runTopic(runId));
  }
  return handed;
}

/** Extend the leases this worker still holds; tell it which to stop and which it lost. */
export async function heartbeat(ctx: PoolCtx, workerId: string, jobIds: string[]): Promise<{ cancel: string[]; lost: string[] } | undefined> {
  if (!(await touchWorker(ctx, workerId))) return undefined;
  const now = ctx.now();
  const cancel: string[] = [];
  const lost: string[] = [];
  const ids = [...new Set(jobIds)];
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    const extended = await ctx.store.db
      .update(jobs)
      .set({ leaseExpiresAt: now + ctx.leaseMs, updatedAt: now })
      .where(and(inArray(jobs.id, chunk), eq(jobs.leasedBy, workerId), eq(jobs.status, "leased")))
      .returning({ id: jobs.id });
    const held = new Set(extended.map((r) => r.id));
    const rest = chunk.filter((id) => !held.has(id));
    if (!rest.length) continue;
    const rows = await ctx.store.db.select({ id: jobs.id, status: jobs.status, leasedBy: jobs.leasedBy }).from(jobs).where(inArray(jobs.id, rest));
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of rest) {
      const r = byId.get(id);
      if (r && r.status === "canceled" && r.leasedBy === workerId) cancel.push(id);
      else lost.push(id);
    }
  }
  return { cancel, lost };
}

/** Token progress → `token` events. `cancel: true` when the job was withdrawn. */
export async function progress(ctx: PoolCtx, workerId: string, jobId: string, tokens: ProgressToken[]): Promise<{ cancel: boolean } | undefined> {
  const [job] = await queries(ctx.store).jobById.all({ id: jobId });
  if (!job || job.leasedBy !== workerId) return undefined;
  if (job.status !== "leased") return { cancel: true };
  if (tokens.length) {
    await ctx.store.batch(
      insertEvents(ctx.store, { id: job.runId, tenantId: job.tenantId }, tokens.map((t) => ({ type: "token", stepId: job.stepId, data: { ...t } })), ctx.now()),
    );
    ctx.notifier.publish(runTopic(job.runId));
  }
  return { cancel: false };
}

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
      const stmts = [jobGuard(ctx.store, job.id, job.leaseId!, { ...jobPatch, updatedAt: t }), ...d.toUpdateStatements(ctx.store)];
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

/** Expired leases and passed deadlines → retry or fail. Bounded; safe to call from anywhere. */
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
  return n;
}
