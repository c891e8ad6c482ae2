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
import { and, asc, eq, sql } from "drizzle-orm";
import { errorMentions, type Stmt, type Store } from "../../db/driver.js";
import { queries } from "../../db/queries.js";
import { jobs, runEvents, runs, steps, type RunRow, type StepRow } from "../../db/schema.js";

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
export function revGuard(store: Store, runId: string, rev: number, now: number): Stmt {
  return store.db
    .update(runs)
    .set({ rev: sql`CASE WHEN ${runs.rev} = ${rev} THEN ${runs.rev} + 1 ELSE NULL END`, updatedAt: now })
    .where(eq(runs.id, runId));
}

/**
 * Apply `patch` to a job only while it is still leased under `leaseId`; otherwise fail the batch
 * (status := NULL violates NOT NULL).
 */
export function jobGuard(store: Store, jobId: string, leaseId: string, patch: Partial<typeof jobs.$inferInsert>): Stmt {
  const status = patch.status ?? "leased";
  return store.db
    .update(jobs)
    .set({
      ...patch,
      status: sql`CASE WHEN ${jobs.status} = 'leased' AND ${jobs.leaseId} = ${leaseId} THEN ${status} ELSE NULL END`,
    } as never)
    .where(eq(jobs.id, jobId));
}

export const isRevConflict = (e: unknown) => errorMentions(e, "runs.rev");
export const isJobConflict = (e: unknown) => errorMentions(e, "jobs.status");

/** Insert a new event row (the id is assigned by SQLite: monotonically increasing). */
export type NewEvent = { type: string; stepId?: string | null; data: Record<string, unknown> };

/** Multi-row event inserts, ≤ 100 bound params per statement (6 per row). */
export function insertEvents(store: Store, run: { id: string; tenantId: string }, events: NewEvent[], now: number): Stmt[] {
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
    out.push(store.db.insert(runEvents).values(rows));
  }
  return out;
}

/** Step patch → UPDATE statement. */
export function updateStep(store: Store, runId: string, stepId: string, patch: Partial<StepRow>): Stmt {
  return store.db
    .update(steps)
    .set(patch)
    .where(and(eq(steps.runId, runId), eq(steps.stepId, stepId)));
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
): Promise<{ committed: boolean; value?: T; snap?: RunSnapshot }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const snap = await loadRun(store, runId);
    if (!snap) return { committed: false };
    const t = now();
    const d = await decide(snap, t);
    if (!d) return { committed: false, snap };
    try {
      await store.batch([revGuard(store, runId, snap.run.rev, t), ...d.stmts]);
      return { committed: true, value: d.value, snap };
    } catch (e) {
      if (isRevConflict(e)) continue;
      throw e;
    }
  }
  throw new Error(`run ${runId}: too many concurrent updates`);
}
