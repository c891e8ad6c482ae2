/**
 * Direct handoff from a run's creation to a lease long-poll waiting in this process.
 *
 * A lease poll that found nothing to do registers a `LeaseWaiter` (its worker, models, tenant
 * scope, credential, free slots) before it sleeps. A run created in the same process whose new
 * jobs that worker serves leases them to it IN THE RUN'S OWN INSERT BATCH: the job rows are
 * inserted `leased`, their steps `running` (`step.started`, `run.started`), and the waiting poll
 * answers with them at once. No second commit, no ready-jobs query, no wake-up round trip: the
 * steps a lease would take one commit later are taken in the create's commit.
 *
 * What a claim through the queue guarantees still holds: the batch is atomic (the run is stored
 * with its leases or not at all); a waiter is taken out of the registry synchronously, so two
 * creates never hand it jobs twice; a worker credential is checked live inside the same batch
 * (`credentialGuard`: a revoked credential fails the batch, and the run is then stored with its
 * jobs queued, as without a waiter); only jobs of the waiter's models and tenants, at most its
 * free slots, in spec order. A waiter is only ever registered after a poll found its queue empty
 * (or skipped its query at an unchanged queue version within the recheck, pool.ts), so a queued job
 * is passed over for at most one recheck (500 ms). Purely an optimization within one process: other edge
 * processes sharing the database, and Workers (no long-polls in the creating isolate), use the
 * queue as before.
 */
import { rawStmt, type Stmt } from "../../db/driver.js";
import type { JobRow, StepRow } from "../../db/schema.js";
import { settle } from "./advance.js";
import type { EngineCtx } from "./context.js";
import type { RunDraft } from "./draft.js";

/** The jobs handed to a waiter (leased rows) and the input images the create had in memory. */
export interface Handed {
  jobs: JobRow[];
  blobs: ReadonlyMap<string, Uint8Array>;
}

export class LeaseWaiter {
  private settle!: (h: Handed) => void;
  /** Settles once: the jobs leased to this poll (none when the create's commit failed). */
  readonly handed: Promise<Handed>;
  constructor(
    readonly workerId: string,
    readonly models: ReadonlySet<string>,
    /** Tenants this credential may serve; null = any. */
    readonly tenants: readonly string[] | null,
    readonly credentialId: string,
    readonly max: number,
  ) {
    this.handed = new Promise((resolve) => (this.settle = resolve));
  }
  give(h: Handed): void {
    this.settle(h);
  }
}

const NOTHING: Handed = { jobs: [], blobs: new Map() };
export const nothingHanded = (): Handed => NOTHING;

function waiters(ctx: EngineCtx): LeaseWaiter[] | undefined {
  return ctx.pool ? (ctx.pool.waiters ??= []) : undefined;
}

/** A poll about to sleep with nothing to do: runs created meanwhile may hand it their jobs. */
export function registerWaiter(ctx: EngineCtx, w: LeaseWaiter): void {
  waiters(ctx)?.push(w);
}

/** The poll woke up: false when a create took it first (then await `w.handed`). */
export function unregisterWaiter(ctx: EngineCtx, w: LeaseWaiter): boolean {
  const list = waiters(ctx);
  const i = list ? list.indexOf(w) : -1;
  if (i < 0) return false;
  list!.splice(i, 1);
  return true;
}

/**
 * The first waiter (oldest first) that may take at least one of `draft`'s new jobs, taken out of
 * the registry; undefined when none.
 */
export function takeWaiter(ctx: EngineCtx, draft: RunDraft): LeaseWaiter | undefined {
  const list = ctx.pool?.waiters;
  if (!list?.length || !draft.newJobs.length) return undefined;
  const tenant = draft.run.tenantId;
  const i = list.findIndex((w) => (w.tenants === null || w.tenants.includes(tenant)) && draft.newJobs.some((j) => w.models.has(j.model)));
  if (i < 0) return undefined;
  return list.splice(i, 1)[0];
}

/**
 * Lease `draft`'s new jobs to `w` within the draft (what `claimDecision` in pool.ts writes for a
 * claim through the queue): the jobs `leased`, their steps `running` + `step.started`, the run
 * `running`. Returns the leased rows and the statements that must join the batch (the live
 * credential check). Mutates `draft`.
 */
export function leaseInDraft(ctx: EngineCtx, draft: RunDraft, w: LeaseWaiter): { jobs: JobRow[]; guards: Stmt[] } {
  const t = draft.now;
  const out: JobRow[] = [];
  const order = [...draft.newJobs].sort((a, b) => a.stepIdx - b.stepIdx);
  for (const j of order) {
    if (out.length >= w.max) break;
    if (!w.models.has(j.model)) continue;
    const s = draft.step(j.stepId);
    if (!s || s.status !== "queued") continue;
    Object.assign(j, startLease(ctx, draft, j, s, w.workerId), { status: "leased", updatedAt: t });
    out.push(j as JobRow);
  }
  settle(ctx, draft);
  const guards = out.length && w.credentialId !== "pool" ? [credentialGuard(out[0]!.id, w.credentialId)] : [];
  return { jobs: out, guards };
}

/**
 * What leasing job `j` (its step `s`, queued or running) to `workerId` writes, at `draft.now`: the
 * job's lease fields (returned, for its row) and, in the draft, the step `running` with
 * `step.started`. Shared by a claim through the queue (pool.ts) and a handoff.
 */
export function startLease(
  ctx: Pick<EngineCtx, "leaseMs">,
  draft: RunDraft,
  j: { attempts?: number; timeoutMs: number },
  s: StepRow,
  workerId: string,
): { leaseId: string; leasedBy: string; leasedAt: number; leaseExpiresAt: number; deadlineAt: number; attempts: number } {
  const t = draft.now;
  const c = {
    leaseId: Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex"),
    leasedBy: workerId,
    leasedAt: t,
    leaseExpiresAt: t + ctx.leaseMs,
    deadlineAt: t + j.timeoutMs,
    attempts: (j.attempts ?? 0) + 1,
  };
  draft.patchStep(s.stepId, {
    status: "running",
    attempts: c.attempts,
    workerId,
    startedAt: s.startedAt ?? t,
    queueMs: s.queueMs ?? (s.queuedAt != null ? t - s.queuedAt : null),
  });
  draft.event("step.started", s.stepId, { status: "running", attempt: c.attempts, workerId });
  return c;
}

/**
 * Fails the batch (jobs.status := NULL violates NOT NULL, like `claimGuard`) unless the worker
 * credential is still live when the batch commits: a poll that began before a revocation is
 * handed nothing after it.
 */
export function credentialGuard(jobId: string, credentialId: string): Stmt {
  return rawStmt(
    `UPDATE "jobs" SET "status" = CASE WHEN EXISTS (SELECT 1 FROM "worker_credentials" WHERE "id" = ? AND "revoked_at" IS NULL) THEN "status" ELSE NULL END WHERE "id" = ?`,
    [credentialId, jobId],
  );
}
