/**
 * A `RunDraft` is an in-memory copy of a run snapshot that engine decisions mutate; it records
 * what changed and turns that into the statements of one atomic commit.
 */
import { and, eq, inArray } from "drizzle-orm";
import { jobs, steps, runs, type JobRow, type RunRow, type StepRow, type StepStatus } from "../../db/schema.js";
import type { Stmt, Store } from "../../db/store.js";
import { assertTransition } from "../../workflows/index.js";
import { outboxStatements } from "../webhooks/outbox.js";
import { insertEvents, updateStep, type NewEvent } from "./commit.js";

export const STEP_OK: ReadonlySet<StepStatus> = new Set(["succeeded", "cached"]);
export const STEP_BAD: ReadonlySet<StepStatus> = new Set(["failed", "canceled", "timed_out", "skipped"]);
export const isStepTerminal = (s: StepStatus) => STEP_OK.has(s) || STEP_BAD.has(s);
export const isRunTerminal = (s: RunRow["status"]) => s !== "queued" && s !== "running";

export type NewJob = typeof jobs.$inferInsert;

export class RunDraft {
  readonly run: RunRow;
  readonly steps: StepRow[];
  private readonly byId = new Map<string, StepRow>();
  private readonly stepPatches = new Map<string, Partial<StepRow>>();
  private runPatch: Partial<RunRow> = {};
  readonly events: NewEvent[] = [];
  readonly newJobs: NewJob[] = [];
  /** Job ids to mark canceled (queued or leased: a leased one is told at its next heartbeat). */
  readonly cancelJobs: string[] = [];
  readonly extra: Stmt[] = [];

  constructor(run: RunRow, stepRows: StepRow[], readonly now: number) {
    this.run = { ...run };
    this.steps = stepRows.map((s) => ({ ...s }));
    for (const s of this.steps) this.byId.set(s.stepId, s);
  }

  step(id: string): StepRow | undefined {
    return this.byId.get(id);
  }

  /** Patch a step; a status change must be a legal transition (workflows' state machine). */
  patchStep(id: string, patch: Partial<StepRow>): void {
    const s = this.byId.get(id);
    if (!s) throw new Error(`unknown step ${id}`);
    if (patch.status && patch.status !== s.status) assertTransition("step", s.status, patch.status, id);
    Object.assign(s, patch);
    this.stepPatches.set(id, { ...this.stepPatches.get(id), ...patch });
  }

  patchRun(patch: Partial<RunRow>): void {
    if (patch.status && patch.status !== this.run.status) assertTransition("run", this.run.status, patch.status, this.run.id);
    Object.assign(this.run, patch);
    Object.assign(this.runPatch, patch);
  }

  event(type: string, stepId: string | null, data: Record<string, unknown> = {}): void {
    this.events.push({ type, stepId, data });
  }

  get changed(): boolean {
    return (
      this.stepPatches.size > 0 ||
      Object.keys(this.runPatch).length > 0 ||
      this.events.length > 0 ||
      this.newJobs.length > 0 ||
      this.cancelJobs.length > 0 ||
      this.extra.length > 0
    );
  }

  /** Statements for an existing run (after the rev guard). */
  toUpdateStatements(store: Store): Stmt[] {
    const out: Stmt[] = [];
    if (Object.keys(this.runPatch).length) out.push(store.db.update(runs).set(this.runPatch).where(eq(runs.id, this.run.id)));
    for (const [id, p] of this.stepPatches) out.push(updateStep(store, this.run.id, id, p));
    out.push(...this.jobStatements(store));
    out.push(...this.extra);
    out.push(...insertEvents(store, this.run, this.events, this.now));
    // webhook messages for this commit's events, in the same atomic batch (edge/webhooks/outbox.ts)
    out.push(...outboxStatements(store, this));
    return out;
  }

  /** Statements for a brand-new run: insert the run and its steps as they stand now. */
  toInsertStatements(store: Store): Stmt[] {
    const out: Stmt[] = [store.db.insert(runs).values(this.run)];
    // ≤ 100 params per statement: a step row has 28 columns
    for (let i = 0; i < this.steps.length; i += 3) out.push(store.db.insert(steps).values(this.steps.slice(i, i + 3)));
    out.push(...this.jobStatements(store));
    out.push(...this.extra);
    out.push(...insertEvents(store, this.run, this.events, this.now));
    // webhook messages for this commit's events, in the same atomic batch (edge/webhooks/outbox.ts)
    out.push(...outboxStatements(store, this));
    return out;
  }

  private jobStatements(store: Store): Stmt[] {
    const out: Stmt[] = [];
    // one job row per (run, step): a duplicate enqueue is a no-op
    // ≤ 100 params per statement: a job row has 22 columns
    for (let i = 0; i < this.newJobs.length; i += 4) out.push(store.db.insert(jobs).values(this.newJobs.slice(i, i + 4)).onConflictDoNothing());
    for (let i = 0; i < this.cancelJobs.length; i += 90) {
      out.push(
        store.db
          .update(jobs)
          .set({ status: "canceled", updatedAt: this.now })
          .where(and(inArray(jobs.id, this.cancelJobs.slice(i, i + 90)), inArray(jobs.status, ["queued", "leased"]))),
      );
    }
    return out;
  }
}

export type { JobRow };
