/**
 * A `RunDraft` is an in-memory copy of a run snapshot that engine decisions mutate; it records
 * what changed and turns that into the statements of one atomic commit.
 */
import { rawStmt, type Stmt } from "../../db/driver.js";
import { insertRows, updateRow } from "../../db/rows.js";
import { jobs, runs, steps, type JobRow, type RunRow, type StepRow } from "../../db/schema.js";
import { assertTransition, type RunEventData, type RunEventRecord, type RunEventType } from "../../workflows/index.js";
import { insertEvents, updateStep, type NewEvent } from "./commit.js";
import { hookStatements, type EngineCtx } from "./context.js";

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

  constructor(
    run: RunRow,
    stepRows: StepRow[],
    readonly now: number,
  ) {
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

  /** Record an event; its data must be that type's (workflows/src/events.ts). */
  event<T extends RunEventType>(type: T, stepId: string | null, data: RunEventData<T>): void {
    this.events.push({ type, stepId, data } as RunEventRecord);
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

  /**
   * Statements for an existing run (after the rev guard); the commit hooks' statements (the
   * webhook outbox) join the same atomic batch.
   */
  toUpdateStatements(ctx: Pick<EngineCtx, "store" | "commitHooks">): Stmt[] {
    const out: Stmt[] = [];
    if (Object.keys(this.runPatch).length) out.push(updateRow(runs, this.runPatch, { id: this.run.id }));
    for (const [id, p] of this.stepPatches) out.push(updateStep(this.run.id, id, p));
    out.push(...this.jobStatements());
    out.push(...this.extra);
    out.push(...insertEvents(this.run, this.events, this.now));
    out.push(...hookStatements(ctx, this));
    return out;
  }

  /** Statements for a brand-new run: insert the run and its steps as they stand now. */
  toInsertStatements(ctx: Pick<EngineCtx, "store" | "commitHooks">): Stmt[] {
    const out: Stmt[] = [insertRows(runs, [this.run])];
    // ≤ 100 params per statement: a step row has 28 columns
    for (let i = 0; i < this.steps.length; i += 3) out.push(insertRows(steps, this.steps.slice(i, i + 3)));
    out.push(...this.jobStatements());
    out.push(...this.extra);
    out.push(...insertEvents(this.run, this.events, this.now));
    out.push(...hookStatements(ctx, this));
    return out;
  }

  private jobStatements(): Stmt[] {
    const out: Stmt[] = [];
    // one job row per (run, step): a duplicate enqueue is a no-op
    // ≤ 100 params per statement: a job row has 22 columns
    for (let i = 0; i < this.newJobs.length; i += 4) out.push(insertRows(jobs, this.newJobs.slice(i, i + 4), { onConflictDoNothing: true }));
    for (let i = 0; i < this.cancelJobs.length; i += 90) {
      const ids = this.cancelJobs.slice(i, i + 90);
      out.push(
        rawStmt(
          `UPDATE "jobs" SET "status" = 'canceled', "updated_at" = ? WHERE "id" IN (${ids.map(() => "?").join(", ")}) AND "status" IN ('queued', 'leased')`,
          [this.now, ...ids],
        ),
      );
    }
    return out;
  }
}

export type { JobRow };
