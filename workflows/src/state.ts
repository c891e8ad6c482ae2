/**
 * Run and step state machines (docs/CONTRACTS.md §3), and `advanceRun`, the pure heart of the run
 * engine: given the steps' statuses it says which steps are ready, which must be skipped, and
 * what the run's status becomes. The edge persists what it returns.
 */
import { z } from "zod";
import { NonRetryableError } from "./errors.js";
import { hasOutput, isDead, isTerminal, RUN_STATUSES, STEP_STATUSES, type RunStatus, type StepStatus } from "./status.js";

export const RunStatusSchema = z.enum(RUN_STATUSES);
export const StepStatusSchema = z.enum(STEP_STATUSES);

/**
 * Allowed run transitions. A run may fail or end before it starts (cancel, deadline, a model
 * that vanished before planning).
 */
export const RUN_TRANSITIONS: { readonly [S in RunStatus]: readonly RunStatus[] } = {
  queued: ["running", "failed", "canceled", "timed_out"],
  running: ["succeeded", "failed", "canceled", "timed_out"],
  succeeded: [],
  failed: [],
  canceled: [],
  timed_out: [],
};

/**
 * Allowed step transitions. `running → queued` is a retry (retryable error with attempts left,
 * or an expired lease). `cached` comes from pending (memo hit when it becomes ready) or queued;
 * `skipped` from pending/queued when an upstream did not succeed or the run ended.
 * `pending → failed` covers a payload that cannot be resolved.
 */
export const STEP_TRANSITIONS: { readonly [S in StepStatus]: readonly StepStatus[] } = {
  pending: ["queued", "cached", "skipped", "canceled", "failed"],
  queued: ["running", "cached", "skipped", "canceled", "failed", "timed_out"],
  running: ["succeeded", "failed", "canceled", "timed_out", "queued"],
  succeeded: [],
  failed: [],
  canceled: [],
  timed_out: [],
  cached: [],
  skipped: [],
};

/**
 * An attempted transition the machine does not allow.
 *
 * @example
 * throw new IllegalTransitionError("step", "succeeded", "running", "answer");
 */
export class IllegalTransitionError extends NonRetryableError {
  declare readonly details: { kind: "run" | "step"; from: string; to: string; id?: string };
  constructor(kind: "run" | "step", from: string, to: string, id?: string) {
    super(
      "illegal_transition",
      `illegal ${kind} transition${id ? ` of '${id}'` : ""}: ${from} → ${to}`,
      id === undefined ? { kind, from, to } : { kind, from, to, id },
    );
  }
}

/**
 * Whether `from → to` is allowed for a run or a step.
 *
 * @example
 * canTransition("step", "running", "queued"); // true: a retry
 */
export function canTransition(kind: "run", from: RunStatus, to: RunStatus): boolean;
export function canTransition(kind: "step", from: StepStatus, to: StepStatus): boolean;
export function canTransition(kind: "run" | "step", from: string, to: string): boolean {
  const table = (kind === "run" ? RUN_TRANSITIONS : STEP_TRANSITIONS) as Record<string, readonly string[] | undefined>;
  return (Object.hasOwn(table, from) ? table[from] : undefined)?.includes(to) ?? false;
}

/**
 * Throw `IllegalTransitionError` unless `from → to` is allowed (a same-state "transition" is
 * not: callers that want idempotency compare first).
 *
 * @example
 * assertTransition("step", "running", "succeeded", "answer"); // ok
 * assertTransition("run", "succeeded", "running");            // throws IllegalTransitionError
 */
export function assertTransition(kind: "run", from: RunStatus, to: RunStatus, id?: string): void;
export function assertTransition(kind: "step", from: StepStatus, to: StepStatus, id?: string): void;
export function assertTransition(kind: "run" | "step", from: string, to: string, id?: string): void {
  if (!canTransition(kind as "run", from as RunStatus, to as RunStatus)) throw new IllegalTransitionError(kind, from, to, id);
}

/** What `advanceRun` needs of a step (e.g. a `PlannedStep` plus its stored status). */
export interface StepSnapshot {
  id: string;
  status: StepStatus;
  tensorDeps: readonly string[];
  valueDeps: readonly string[];
}

export interface RunAdvance {
  /** Pending steps whose value deps all have outputs: resolve them, then queue (or memoize). */
  ready: string[];
  /** Pending/queued steps to mark `skipped`: a dep (tensor or value, possibly skipped itself) died. */
  skip: string[];
  /** The run status after applying `skip` (ready steps count as live). */
  runStatus: RunStatus;
}

/**
 * One engine tick. Steps do not wait for tensor deps (the job carries the recipe) but are
 * skipped when one of them died. The run is `running` while a step is live; once all are final it
 * is `succeeded` if every step has an output, else `failed` (a failed, timed-out or skipped step)
 * or `canceled` (only canceled steps).
 *
 * @example
 * advanceRun([
 *   { id: "answer", status: "succeeded", tensorDeps: [], valueDeps: [] },
 *   { id: "why", status: "pending", tensorDeps: [], valueDeps: ["answer"] },
 * ]); // { ready: ["why"], skip: [], runStatus: "running" }
 */
export function advanceRun(steps: readonly StepSnapshot[]): RunAdvance {
  const status = new Map(steps.map((s) => [s.id, s.status]));
  const depStatus = (step: StepSnapshot, dep: string): StepStatus => {
    const st = status.get(dep);
    if (st === undefined) throw new NonRetryableError("unknown_step", `step '${step.id}' depends on unknown step '${dep}'`);
    return st;
  };
  const skip: string[] = [];
  // fixpoint: a skip can kill further dependents regardless of the order steps were given in
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of steps) {
      const st = status.get(s.id)!;
      if (st !== "pending" && st !== "queued") continue;
      if ([...s.tensorDeps, ...s.valueDeps].some((d) => isDead(depStatus(s, d)))) {
        status.set(s.id, "skipped");
        skip.push(s.id);
        changed = true;
      }
    }
  }
  const ready = steps.filter((s) => status.get(s.id) === "pending" && s.valueDeps.every((d) => hasOutput(depStatus(s, d)))).map((s) => s.id);
  const finals = [...status.values()];
  let runStatus: RunStatus;
  if (finals.some((st) => !isTerminal(st))) runStatus = "running";
  else if (finals.every(hasOutput)) runStatus = "succeeded";
  else if (finals.some((st) => st === "failed" || st === "timed_out" || st === "skipped")) runStatus = "failed";
  else runStatus = "canceled";
  return { ready, skip, runStatus };
}

/**
 * Ending a run early (cancel or run deadline): running steps get `reason` (and the worker is
 * told at its next heartbeat), pending/queued steps are skipped.
 *
 * @example
 * endRun(steps, "canceled"); // { stop: ["answer"], skip: ["why"], runStatus: "canceled" }
 */
export function endRun(
  steps: readonly Pick<StepSnapshot, "id" | "status">[],
  reason: "canceled" | "timed_out",
): { stop: string[]; skip: string[]; runStatus: RunStatus } {
  return {
    stop: steps.filter((s) => s.status === "running").map((s) => s.id),
    skip: steps.filter((s) => s.status === "pending" || s.status === "queued").map((s) => s.id),
    runStatus: reason,
  };
}
