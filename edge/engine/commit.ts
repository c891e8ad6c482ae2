/**
 * Per-run optimistic concurrency. An engine decision for a run is computed from a snapshot
 * (run + steps) and written as ONE atomic batch whose first statement bumps `runs.rev` only if it
 * still equals the snapshot's rev — otherwise it sets `rev` to NULL, which the NOT NULL
 * constraint rejects, so the whole batch rolls back (on better-sqlite3 and on D1 alike). The
 * caller then re-reads and decides again. No transaction spans an await; several edge
 * instances can drive the same run safely.
 *
 * Jobs use the same trick (`jobGuard`): a result or an expiry only applies to the exact lease
 * it was computed for.
 */
import { errorMentions, rawStmt, type Stmt, type Store } from "../../db/driver.js";
import { queries } from "../../db/queries.js";
import { encodeValue, insertRows, updateRow } from "../../db/rows.js";
import { hookConflict, type EngineCtx } from "./context.js";
import { jobs, runEvents, steps, type RunRow, type StepRow } from "../../db/schema.js";
import type { RunEventRecord } from "../../workflows/index.js";

export interface RunSnapshot {
  run: RunRow;
  steps: StepRow[];
}

export async function loadRun(store: Store, runId: string): Promise<RunSnapshot | undefined> {
  const q = queries(store);
  const [run] = await q.runById.all({ id: runId });
  if (!run) return undefined;
  const rows = await q.stepsByRun.all({ runId });
  return { run, steps: rows };
}

/** First statement of every run commit: `rev := rev + 1` iff unchanged, else a constraint error. */
export function revGuard(runId: string, rev: number, now: number): Stmt {
  return rawStmt(`UPDATE "runs" SET "rev" = CASE WHEN "rev" = ? THEN "rev" + 1 ELSE NULL END, "updated_at" = ? WHERE "id" = ?`, [rev, now, runId]);
}

/**
 * Apply `patch` to a job only while it is still leased under `leaseId`; otherwise fail the batch
 * (status := NULL violates NOT NULL).
 */
export function jobGuard(jobId: string, leaseId: string, patch: Partial<typeof jobs.$inferInsert>): Stmt {
  const { status = "leased", ...rest } = patch;
  const cols = Object.entries(rest).filter(([, v]) => v !== undefined);
  const sets = cols.map(([k]) => `"${jobs[k as keyof typeof rest].name}" = ?`);
  return rawStmt(
    `UPDATE "jobs" SET "status" = CASE WHEN "status" = 'leased' AND "lease_id" = ? THEN ? ELSE NULL END${sets.map((x) => `, ${x}`).join("")} WHERE "id" = ?`,
    [leaseId, status, ...cols.map(([k, v]) => encodeValue(jobs, k as keyof typeof rest, v)), jobId],
  );
}

/** What a claim writes on a job (the lease the worker gets). */
export interface Claim {
  leaseId: string;
  leasedBy: string;
  leasedAt: number;
  leaseExpiresAt: number;
  deadlineAt: number;
  attempts: number;
}

/**
 * Lease a job that is still `queued` at attempt `fromAttempts` (what the caller read); otherwise
 * fail the batch like `jobGuard` (status := NULL), so two workers never get one job.
 */
export function claimGuard(jobId: string, fromAttempts: number, c: Claim, now: number): Stmt {
  return rawStmt(
    `UPDATE "jobs" SET "status" = CASE WHEN "status" = 'queued' AND "attempts" = ? THEN 'leased' ELSE NULL END, "lease_id" = ?, "leased_by" = ?, "leased_at" = ?, "lease_expires_at" = ?, "deadline_at" = ?, "attempts" = ?, "updated_at" = ? WHERE "id" = ?`,
    [fromAttempts, c.leaseId, c.leasedBy, c.leasedAt, c.leaseExpiresAt, c.deadlineAt, c.attempts, now, jobId],
  );
}

export const isRevConflict = (e: unknown) => errorMentions(e, "runs.rev");
export const isJobConflict = (e: unknown) => errorMentions(e, "jobs.status");

/** Insert a new event row (the id is assigned by SQLite: monotonically increasing). */
export type NewEvent = RunEventRecord;

/** Multi-row event inserts, ≤ 100 bound params per statement (6 per row). */
export function insertEvents(run: { id: string; tenantId: string }, events: NewEvent[], now: number): Stmt[] {
  const out: Stmt[] = [];
  for (let i = 0; i < events.length; i += 16) {
    const rows = events.slice(i, i + 16).map((e) => ({
      runId: run.id,
      tenantId: run.tenantId,
      type: e.type,
      stepId: e.stepId ?? null,
      data: e.data,
      createdAt: now,
    }));
    out.push(insertRows(runEvents, rows));
  }
  return out;
}

/** Step patch → UPDATE statement. */
export function updateStep(runId: string, stepId: string, patch: Partial<StepRow>): Stmt {
  return updateRow(steps, patch, { runId, stepId });
}

/**
 * Read-decide-commit loop for one run. `decide` returns the statements to commit after the rev
 * guard (or `null` for nothing to do). Retries on a rev conflict with a fresh snapshot.
 */
export async function withRun<T>(
  store: Store,
  runId: string,
  now: () => number,
  decide: (snap: RunSnapshot, t: number) => Promise<{ stmts: Stmt[]; value: T } | null>,
  hooks?: Pick<EngineCtx, "store" | "commitHooks">,
): Promise<{ committed: boolean; value?: T; snap?: RunSnapshot }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const snap = await loadRun(store, runId);
    if (!snap) return { committed: false };
    const t = now();
    const d = await decide(snap, t);
    if (!d) return { committed: false, snap };
    try {
      await store.batch([revGuard(runId, snap.run.rev, t), ...d.stmts]);
      return { committed: true, value: d.value, snap };
    } catch (e) {
      if (isRevConflict(e) || (hooks && hookConflict(hooks, e, snap.run))) continue;
      throw e;
    }
  }
  throw new Error(`run ${runId}: too many concurrent updates`);
}

/**
 * Several runs' read-decide-commit in ONE batch (one transaction, one WAL commit instead of one
 * per run): what a lease or a results post touching several runs commits under load. Each run
 * keeps its own rev guard, so the batch is as safe as the commits it replaces; but any guard
 * failing rolls back all of them, and then this returns `undefined` (after letting a commit hook
 * drop its assumption): the caller commits run by run (`withRun`), which retries each conflict on
 * its own. Per run: committed (false when `decide` had nothing to do or the run is gone) and value.
 */
export async function withRuns<T>(
  store: Store,
  runIds: readonly string[],
  now: () => number,
  decide: (runId: string, snap: RunSnapshot, t: number) => Promise<{ stmts: Stmt[]; value: T } | null>,
  hooks?: Pick<EngineCtx, "store" | "commitHooks">,
): Promise<Map<string, { committed: boolean; value?: T }> | undefined> {
  const out = new Map<string, { committed: boolean; value?: T }>();
  const stmts: Stmt[] = [];
  const snaps: RunSnapshot[] = [];
  const t = now();
  for (const runId of runIds) {
    const snap = await loadRun(store, runId);
    if (!snap) {
      out.set(runId, { committed: false });
      continue;
    }
    const d = await decide(runId, snap, t);
    if (!d) {
      out.set(runId, { committed: false });
      continue;
    }
    snaps.push(snap);
    stmts.push(revGuard(runId, snap.run.rev, t), ...d.stmts);
    out.set(runId, { committed: true, value: d.value });
  }
  if (!stmts.length) return out;
  try {
    await store.batch(stmts);
    return out;
  } catch (e) {
    // every hook sees the error (the outbox drops its cached "no endpoints" for the tenant)
    const hook = hooks ? snaps.map((s) => hookConflict(hooks, e, s.run)).some(Boolean) : false;
    if (isRevConflict(e) || isJobConflict(e) || hook) return undefined;
    throw e;
  }
}
