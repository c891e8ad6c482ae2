import type { GraphRule, KeyedIssue } from "./types.js";
import { tensorModel } from "./type-mismatch.js";

/**
 * Rule (with a catalog): every step's model is advertised by a worker and supports the step's
 * op. A connect step's model is its `from` step's (reported there, so only the op is checked).
 *
 * @example
 * unknownModel.check({ ...ctx, catalog: {} }); // [{ key: "see", code: "unknown_model", field: "model", ... }]
 */
export const unknownModel: GraphRule = {
  name: "unknown-model",
  check({ spec, byId, catalog }) {
    if (!catalog) return [];
    const out: KeyedIssue[] = [];
    const known = Object.keys(catalog).sort().join(", ") || "none";
    for (const step of spec.steps) {
      const model = tensorModel(step, byId);
      if (model === undefined) continue;
      const advert = Object.hasOwn(catalog, model) ? catalog[model] : undefined;
      if (!advert) {
        if (step.op !== "connect") out.push({ key: step.id, field: "model", code: "unknown_model", message: `unknown model '${model}' (loaded: ${known})` });
        continue;
      }
      if (!advert.ops.includes(step.op))
        out.push({
          key: step.id,
          field: step.op === "connect" ? "from" : "model",
          code: "unsupported_op",
          message: `model '${model}' does not support op '${step.op}' (supports: ${advert.ops.join(", ")})`,
        });
    }
    return out;
  },
};
