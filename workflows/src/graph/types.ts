/**
 * Shared types of the graph rules: the per-step error map and the rule interface.
 */
import type { Step, WorkflowSpec } from "../spec.js";
import type { ModelCatalog } from "../wire.js";

/** Error codes a validation issue can carry. */
export type ValidationCode =
  | "schema"
  | "unknown_op"
  | "unknown_field"
  | "duplicate_id"
  | "template_syntax"
  | "unknown_reference"
  | "cycle"
  | "type_mismatch"
  | "unknown_model"
  | "unsupported_op"
  | "unknown_encoder"
  | "unknown_connector"
  | "param_range"
  | "missing_input"
  | "unknown_input"
  | "input_type"
  | "input_range";

/** One problem: a code, a human message and the field at fault (dotted path within the key). */
export interface ValidationIssue {
  code: ValidationCode;
  message: string;
  field: string;
}

/**
 * Problems by where they are: a step id, `"$inputs"` (declarations and values), `"$outputs"`, or
 * `"$spec"` (top-level fields such as `name`, or an empty `steps`). A step whose id is not a
 * string is keyed `steps[<index>]`.
 */
export type ValidationErrorMap = Record<string, ValidationIssue[]>;

/** Map keys that are not step ids. */
export const INPUTS_KEY = "$inputs";
export const OUTPUTS_KEY = "$outputs";
export const SPEC_KEY = "$spec";

/** A located issue, as rules emit them. */
export interface KeyedIssue extends ValidationIssue {
  key: string;
}

/** What every rule sees. `inputs` / `catalog` are absent when the caller has none to check. */
export interface GraphContext {
  spec: WorkflowSpec;
  /** First step of each id, with its position. */
  byId: ReadonlyMap<string, { step: Step; index: number }>;
  /** Input values as given (any JSON); rules check their types. */
  inputs?: Readonly<Record<string, unknown>>;
  catalog?: ModelCatalog;
}

/** One graph rule: one file, one test. */
export interface GraphRule {
  name: string;
  check(ctx: GraphContext): KeyedIssue[];
}

/**
 * Build the context rules run in.
 *
 * @example
 * duplicateIds.check(graphContext(spec));
 */
export function graphContext(spec: WorkflowSpec, inputs?: Readonly<Record<string, unknown>>, catalog?: ModelCatalog): GraphContext {
  const byId = new Map<string, { step: Step; index: number }>();
  spec.steps.forEach((step, index) => {
    if (!byId.has(step.id)) byId.set(step.id, { step, index });
  });
  const ctx: GraphContext = { spec, byId };
  if (inputs) ctx.inputs = inputs;
  if (catalog) ctx.catalog = catalog;
  return ctx;
}

/**
 * Group keyed issues into the error map (keys in first-seen order).
 *
 * @example
 * toErrorMap([{ key: "a", code: "cycle", field: "from", message: "…" }]); // { a: [{ code, field, message }] }
 */
export function toErrorMap(issues: Iterable<KeyedIssue>): ValidationErrorMap {
  const map: ValidationErrorMap = {};
  for (const { key, ...issue } of issues) {
    // own keys only: a step id like "constructor" must not find Object.prototype's member
    if (!Object.hasOwn(map, key)) Object.defineProperty(map, key, { value: [], enumerable: true, writable: true, configurable: true });
    map[key]!.push(issue);
  }
  return map;
}
