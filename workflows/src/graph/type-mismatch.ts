import { VALUE_FIELDS, type Step } from "../spec.js";
import { collectRefs } from "./refs.js";
import type { GraphContext, GraphRule, KeyedIssue } from "./types.js";

/**
 * The model a step's tensors belong to: its own, or (connect) its `from` step's.
 *
 * @example
 * tensorModel(dockStep, ctx.byId); // "metalm-tiny" (from its encode step)
 */
export function tensorModel(step: Step, byId: GraphContext["byId"]): string | undefined {
  if (step.op !== "connect") return step.model;
  const src = byId.get(step.from)?.step;
  return src?.op === "encode" ? src.model : undefined;
}

/**
 * Rule: references point at the right kind of thing. `from` → an encode step; `span` → a connect
 * step of the same model as the decoding step; `image` → an image input; text templates → text or
 * number inputs, and step fields that the referenced op produces (decode: `text`; explain:
 * `label`, `explanation`, `text`). Unknown targets are left to `unknown-reference`.
 *
 * @example
 * typeMismatch.check(ctx); // [{ key: "dock", code: "type_mismatch", field: "from", ... }]
 */
export const typeMismatch: GraphRule = {
  name: "type-mismatch",
  check({ spec, byId }) {
    const out: KeyedIssue[] = [];
    for (const site of collectRefs(spec).refs) {
      const { key, field } = site;
      const bad = (message: string) => out.push({ key, field, code: "type_mismatch", message });
      if (site.via === "from" || site.via === "span") {
        const target = byId.get(site.stepId)?.step;
        if (!target) continue;
        const want = site.via === "from" ? "encode" : "connect";
        if (target.op !== want) {
          bad(`'${site.stepId}' is a ${target.op} step; ${site.via} must name a ${want} step`);
          continue;
        }
        const owner = spec.steps[site.index];
        if (site.via === "span" && owner && owner.op !== "connect") {
          const m = tensorModel(target, byId);
          if (m !== undefined && m !== tensorModel(owner, byId)) bad(`span '${site.stepId}' was connected for model '${m}', not '${tensorModel(owner, byId)}'`);
        }
        continue;
      }
      const { ref } = site;
      if (ref.kind === "input") {
        const decl = spec.inputs[ref.name];
        if (!decl) continue;
        if (site.via === "image" && decl.type !== "image") bad(`input '${ref.name}' is ${decl.type}, not an image`);
        if (site.via === "template" && decl.type === "image") bad(`input '${ref.name}' is an image and cannot be used in text (${ref.raw} at ${ref.start})`);
        continue;
      }
      const target = byId.get(ref.stepId)?.step;
      if (!target) continue;
      const fields = VALUE_FIELDS[target.op];
      if (!fields.includes(ref.field))
        bad(
          fields.length
            ? `${target.op} step '${ref.stepId}' has no field '${ref.field}' (has: ${fields.join(", ")}) in ${ref.raw} at ${ref.start}`
            : `${target.op} step '${ref.stepId}' has no text fields; reference its tensor with a span (${ref.raw} at ${ref.start})`,
        );
    }
    return out;
  },
};
