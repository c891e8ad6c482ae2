/**
 * The status vocabulary: the one list of run statuses, of step statuses, and the terminal sets.
 * No dependencies, so the browser code of the UI bundles it as is (state.ts has the transitions
 * and the zod enums).
 */

/**
 * The one list of run statuses (the DB column, the API, the UI's filters and the CLI read it).
 * The terminal ones are those without outgoing transitions in `RUN_TRANSITIONS`.
 */
export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "canceled", "timed_out"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** The one list of step statuses; `cached` and `skipped` are step-only. */
export const STEP_STATUSES = ["pending", "queued", "running", "succeeded", "failed", "canceled", "timed_out", "cached", "skipped"] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Final run statuses. */
export const RUN_TERMINAL: ReadonlySet<RunStatus> = new Set<RunStatus>(["succeeded", "failed", "canceled", "timed_out"]);
export type RunTerminalStatus = "succeeded" | "failed" | "canceled" | "timed_out";
/** Run statuses that are not final (the deadline sweep looks at these). */
// (pure: bundles that do not use it, like the UI's, drop it)
export const RUN_LIVE: readonly RunStatus[] = /* @__PURE__ */ RUN_STATUSES.filter((s) => !RUN_TERMINAL.has(s));
/** Final step statuses with an output downstream steps can use. */
export const STEP_OK: ReadonlySet<StepStatus> = new Set<StepStatus>(["succeeded", "cached"]);
/** Final step statuses without an output: their dependents can never run. */
export const STEP_DEAD: ReadonlySet<StepStatus> = new Set<StepStatus>(["failed", "canceled", "timed_out", "skipped"]);

/**
 * Whether a run or step status is final.
 *
 * @example
 * isTerminal("cached"); // true
 */
export function isTerminal(status: RunStatus | StepStatus): boolean {
  return STEP_OK.has(status) || STEP_DEAD.has(status);
}

/**
 * Whether a run has ended.
 *
 * @example
 * isRunTerminal("running"); // false
 */
export function isRunTerminal(status: RunStatus): status is RunTerminalStatus {
  return RUN_TERMINAL.has(status);
}

/**
 * A step that has an output downstream steps can use.
 *
 * @example
 * hasOutput("cached"); // true
 */
export function hasOutput(status: StepStatus): boolean {
  return STEP_OK.has(status);
}

/**
 * A final step without an output: its dependents can never run.
 *
 * @example
 * isDead("skipped"); // true
 */
export function isDead(status: StepStatus): boolean {
  return STEP_DEAD.has(status);
}
