import type { GraphRule, KeyedIssue } from "./types.js";

/**
 * Rule (with a catalog): sampling parameters fit the model — `topK` at most the vocabulary
 * size, when the model advertises `vocabSize`.
 *
 * @example
 * modelParams.check(ctx); // [{ key: "answer", code: "param_range", field: "params.topK", ... }]
 */
export const modelParams: GraphRule = {
  name: "model-params",
  check({ spec, catalog }) {
    if (!catalog) return [];
    const out: KeyedIssue[] = [];
    for (const step of spec.steps) {
      if (step.op !== "decode" && step.op !== "explain") continue;
      const vocab = Object.hasOwn(catalog, step.model) ? catalog[step.model]!.vocabSize : undefined;
      if (vocab !== undefined && step.params.topK > vocab)
        out.push({
          key: step.id,
          field: "params.topK",
          code: "param_range",
          message: `topK ${step.params.topK} exceeds the vocabulary of '${step.model}' (${vocab})`,
        });
    }
    return out;
  },
};
