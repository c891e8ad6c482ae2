/**
 * Rerun-from-step: which steps are downstream of a step, and how overrides change a spec.
 *
 * The flow at the edge: `applyOverrides(old, overrides)` → `validateWorkflow(result, …)` →
 * `rerunSet(newSpec, [from, ...changed])`; steps outside that set are copied from the earlier
 * run as `cached`, the others are planned afresh.
 */
import { z } from "zod";
import { NonRetryableError } from "./errors.js";
import { collectRefs, referencedStep } from "./graph/refs.js";
import { canonicalJson } from "./hash.js";
import type { StepInput, WorkflowSpec, WorkflowSpecInput } from "./spec.js";

/**
 * Overrides of a rerun: step id → fields to replace. `params` is merged field by field; any
 * other field is replaced; `null` removes an optional field. `id` and `op` cannot change.
 */
export const StepOverridesSchema = z
  .record(z.string(), z.record(z.string(), z.unknown()))
  .meta({ id: "StepOverrides", example: { answer: { params: { temperature: 0.7, seed: 7 } } } });
export type StepOverrides = z.infer<typeof StepOverridesSchema>;

/** Step id → the steps that reference it directly (tensor or value). */
function dependents(spec: WorkflowSpec): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const site of collectRefs(spec).refs) {
    const target = referencedStep(site);
    if (target === undefined || site.key.startsWith("$")) continue;
    let set = out.get(target);
    if (!set) out.set(target, (set = new Set()));
    set.add(site.key);
  }
  return out;
}

/**
 * Every step that depends on `stepId`, directly or transitively (not `stepId` itself), in spec
 * order.
 *
 * @example
 * downstreamOf(vqa, "dock"); // ["answer", "why"]
 */
export function downstreamOf(spec: WorkflowSpec, stepId: string): string[] {
  const set = rerunSet(spec, [stepId]);
  return set.filter((id) => id !== stepId);
}

/**
 * Steps that reference any of the given inputs (in their own templates or image fields).
 *
 * @example
 * stepsUsingInputs(vqa, ["question"]); // ["answer"]
 */
export function stepsUsingInputs(spec: WorkflowSpec, inputNames: readonly string[]): string[] {
  const names = new Set(inputNames);
  const ids = new Set<string>();
  for (const site of collectRefs(spec).refs)
    if ((site.via === "image" || site.via === "template") && site.ref.kind === "input" && names.has(site.ref.name) && !site.key.startsWith("$"))
      ids.add(site.key);
  return spec.steps.map((s) => s.id).filter((id) => ids.has(id));
}

/**
 * The steps a rerun must recompute: the seeds (the chosen step, overridden steps), the steps
 * using changed inputs, and everything downstream of those; in spec order.
 *
 * @example
 * rerunSet(spec, ["answer"]);            // ["answer", "why"]
 * rerunSet(spec, [], ["question"]);      // ["answer", "why"]
 */
export function rerunSet(spec: WorkflowSpec, seeds: readonly string[], changedInputs: readonly string[] = []): string[] {
  const deps = dependents(spec);
  const seen = new Set<string>();
  const stack = [...seeds, ...stepsUsingInputs(spec, changedInputs)];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const d of deps.get(id) ?? []) stack.push(d);
  }
  return spec.steps.map((s) => s.id).filter((id) => seen.has(id));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Apply overrides to a spec (parsed or not). Returns the new spec *unvalidated* — run
 * `validateWorkflow` on it — and the ids of the steps whose fields actually changed.
 * Throws `NonRetryableError` (`unknown_step`, `bad_override`) for unknown steps or attempts to
 * change `id` / `op`.
 *
 * @example
 * const { spec, changed } = applyOverrides(old, { answer: { params: { temperature: 0.7 } } });
 * changed; // ["answer"]
 */
export function applyOverrides(spec: WorkflowSpec | WorkflowSpecInput, overrides: StepOverrides): { spec: WorkflowSpecInput; changed: string[] } {
  const steps = spec.steps as StepInput[];
  const ids = new Set(steps.map((s) => s.id));
  for (const [id, o] of Object.entries(overrides)) {
    if (!ids.has(id)) throw new NonRetryableError("unknown_step", `cannot override unknown step '${id}'`, { stepId: id });
    for (const k of ["id", "op"] as const)
      if (Object.hasOwn(o, k) && o[k] !== steps.find((s) => s.id === id)![k])
        throw new NonRetryableError("bad_override", `cannot change '${k}' of step '${id}'`, { stepId: id, field: k });
  }
  const changed: string[] = [];
  const newSteps = steps.map((step) => {
    const o = Object.hasOwn(overrides, step.id) ? overrides[step.id]! : undefined;
    if (!o) return step;
    const next: Record<string, unknown> = structuredClone(step);
    for (const [k, v] of Object.entries(o)) {
      if (v === null) delete next[k];
      else if (k === "params" && isPlainObject(v) && isPlainObject(next.params)) {
        const merged: Record<string, unknown> = { ...next.params };
        for (const [pk, pv] of Object.entries(v)) {
          if (pv === null) delete merged[pk];
          else merged[pk] = structuredClone(pv);
        }
        next.params = merged;
      } else next[k] = structuredClone(v);
    }
    if (canonicalJson(next) !== canonicalJson(step)) changed.push(step.id);
    return next as StepInput;
  });
  return { spec: { ...(structuredClone(spec) as WorkflowSpecInput), steps: newSteps }, changed };
}
