/**
 * The edge side of the pool protocol (ARCHITECTURE.md §4): lease (long-poll), heartbeat and
 * progress here; registration in workers.ts; results and the lease-expiry sweep in results.ts.
 * Every state change is committed before it is answered; the in-process notifier only shortens
 * waits.
 */
import { and, asc, eq, inArray, lte, sql, type SQL } from "drizzle-orm";
import { queries } from "../../db/queries.js";
import { jobs, type JobRow } from "../../db/schema.js";
import type { Job, JobResult, ProgressToken } from "../../workflows/index.js";
import { advance } from "./advance.js";
import { insertEvents, withRun } from "./commit.js";
import { isRunTerminal, RunDraft } from "./draft.js";
import { JOBS_TOPIC, runTopic } from "./notifier.js";
import { sweepExpired } from "./results.js";
import type { RunsCtx } from "./runs.js";
import { touchWorker } from "./workers.js";

export interface PoolObserver {
  leased?(jobs: JobRow[], now: number): void;
  result?(job: JobRow, result: JobResult): void;
  memoHit?(n: number): void;
}

export interface PoolCtx extends RunsCtx {
  leaseMs: number;
  observer?: PoolObserver;
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
    tenant: j.tenantId,
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
  /**
   * The worker credential's limits: only these `tenants`' jobs (null = any), and a `guard`
   * condition checked in the same UPDATE as the claim (the credential is still live), so a
   * long-poll that began before a revocation hands out nothing after it.
   */
  scope: { tenants?: string[] | null; guard?: SQL } = {},
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
    const claimed = await claim(ctx, workerId, models, max, scope);
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
    // an abort (the worker hung up) wakes the wait: claim nothing more, or the jobs sit leased
    // by a caller that will never see them until the lease expires
    if (signal?.aborted) return [];
  }
}

/**
 * One atomic UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING: two workers never get one job.
 * Fair between tenants: jobs are ranked within their tenant (oldest first, a run's jobs in spec
 * order) and taken rank by rank, so a tenant with a thousand queued jobs gets one turn per round
 * like a tenant with one — its flood cannot push another tenant's run to the back of the queue.
 */
async function claim(ctx: PoolCtx, workerId: string, models: string[], max: number, { tenants, guard }: { tenants?: string[] | null; guard?: SQL }): Promise<JobRow[]> {
  const now = ctx.now();
  const where = and(eq(jobs.status, "queued"), lte(jobs.availableAt, now), inArray(jobs.model, models), tenants ? inArray(jobs.tenantId, tenants) : undefined);
  const ready = sql`SELECT id FROM (SELECT ${jobs.id} AS id, ${jobs.availableAt} AS a, ${jobs.runId} AS r, ${jobs.stepIdx} AS s,
    ROW_NUMBER() OVER (PARTITION BY ${jobs.tenantId} ORDER BY ${jobs.availableAt}, ${jobs.runId}, ${jobs.stepIdx}) AS rn
    FROM ${jobs} WHERE ${where}) ORDER BY rn, a, r, s LIMIT ${max}`;
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
    .where(and(sql`${jobs.id} IN (${ready})`, eq(jobs.status, "queued"), guard))
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

export { applyResults, sweepExpired } from "./results.js";
export { liveAdverts, liveWorkers, registerWorker, touchWorker } from "./workers.js";
