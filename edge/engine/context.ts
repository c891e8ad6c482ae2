/**
 * The one context every engine function takes: storage, planner, notifier, clock, pool settings
 * and the hooks other features plug into. Defined here, apart from the modules that use it, so
 * the engine's modules import it rather than each other (runs.ts, lease.ts, results.ts and
 * workers.ts used to import one another's context types, in a circle).
 */
import type { Stmt, Store } from "../../db/driver.js";
import type { JobRow, RunRow, StepRow } from "../../db/schema.js";
import type { JobResult } from "../../workflows/index.js";
import type { NewEvent } from "./commit.js";
import type { LeaseWaiter } from "./handoff.js";
import type { Notifier } from "./notifier.js";
import type { PlannerPort } from "./planner.js";

/** What the engine reports as it goes (edge/metrics.ts implements it). */
export interface EngineObserver {
  leased?(jobs: JobRow[], now: number): void;
  result?(job: JobRow, result: JobResult): void;
  memoHit?(n: number): void;
}

/** One engine commit as a hook sees it: the run and steps after the change, and its events. */
export interface CommitView {
  run: RunRow;
  steps: StepRow[];
  events: NewEvent[];
  now: number;
}

/**
 * Extra statements for an engine commit, in the same atomic batch (the webhook outbox is one:
 * edge/webhooks/outbox.ts). A hook must not read the database: it only adds writes. A hook may
 * add a guard that fails the batch when an assumption it made no longer holds; `conflict` then
 * recognizes the error (and drops the assumption), and the engine computes the commit again.
 */
export interface CommitHook {
  statements(store: Store, commit: CommitView): Stmt[];
  /** True when `e` is this hook's guard failing for `run`: the caller retries the commit. */
  conflict?(e: unknown, store: Store, run: { id: string; tenantId: string }): boolean;
}

export interface EngineCtx {
  store: Store;
  planner: PlannerPort;
  notifier: Notifier;
  now: () => number;
  /** Lease length handed to workers (ms). */
  leaseMs: number;
  /** Run-level deadline for specs without `timeoutMs` (ms after creation). Default 10 minutes. */
  runTimeoutMs?: number;
  observer?: EngineObserver;
  /** Statements appended to every run commit (webhook outbox). */
  commitHooks?: readonly CommitHook[];
  /**
   * Per-process pool state: when this process last swept expired leases, and the workers it
   * touched recently (so a lease poll need not write `last_seen_at` every time). Only saves
   * work: the database stays the truth, several edge processes may share it.
   */
  pool?: {
    sweptAt: number;
    touched: Map<string, { at: number; models: string[] }>;
    /**
     * Per lease scope (models, tenants, credential): the jobs-topic version at which a poll last
     * saw no ready job, and when (edge/engine/pool.ts: an idle poll skips its query).
     */
    idle?: Map<string, { seq: number; at: number }>;
    /** Lease polls asleep with nothing to do, oldest first: a run created here may hand them its jobs (handoff.ts). */
    waiters?: LeaseWaiter[];
  };
}

/** The statements every commit hook adds for one commit. */
export function hookStatements(ctx: Pick<EngineCtx, "store" | "commitHooks">, commit: CommitView): Stmt[] {
  const out: Stmt[] = [];
  for (const h of ctx.commitHooks ?? []) out.push(...h.statements(ctx.store, commit));
  return out;
}

/** Whether a failed commit of `run` failed on a hook's guard (then compute it again). */
export function hookConflict(ctx: Pick<EngineCtx, "store" | "commitHooks">, e: unknown, run: { id: string; tenantId: string }): boolean {
  return (ctx.commitHooks ?? []).some((h) => h.conflict?.(e, ctx.store, run) ?? false);
}
