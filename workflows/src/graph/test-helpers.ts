/** Helpers for the rule tests (not exported from the package). */
import { vqaSpec } from "../fixtures.js";
import { WorkflowSpecSchema, type StepInput, type WorkflowSpecInput } from "../spec.js";
import type { ModelCatalog } from "../wire.js";
import { graphContext, type GraphRule, type KeyedIssue } from "./types.js";

/** Parse a spec and run one rule on it. */
export function runRule(rule: GraphRule, spec: WorkflowSpecInput, inputs?: Record<string, unknown>, catalog?: ModelCatalog): KeyedIssue[] {
  return rule.check(graphContext(WorkflowSpecSchema.parse(spec), inputs, catalog));
}

/** The VQA fixture with steps patched/replaced. */
export function specWith(patch: (steps: StepInput[]) => void, base = vqaSpec()): WorkflowSpecInput {
  patch(base.steps as StepInput[]);
  return base;
}

/** [key, field, code] triples, for compact assertions. */
export function triples(issues: KeyedIssue[]): [string, string, string][] {
  return issues.map((i) => [i.key, i.field, i.code]);
}
