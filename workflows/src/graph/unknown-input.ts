import { INPUTS_KEY, type GraphRule, type KeyedIssue } from "./types.js";

/**
 * Rule (with input values): no value is given for an undeclared input (usually a typo).
 *
 * @example
 * unknownInput.check({ ...ctx, inputs: { qestion: "…" } }); // code "unknown_input", field "qestion"
 */
export const unknownInput: GraphRule = {
  name: "unknown-input",
  check({ spec, inputs }) {
    if (!inputs) return [];
    const declared = Object.keys(spec.inputs);
    const out: KeyedIssue[] = [];
    for (const name of Object.keys(inputs))
      if (!Object.hasOwn(spec.inputs, name))
        out.push({
          key: INPUTS_KEY,
          field: name,
          code: "unknown_input",
          message: `unknown input '${name}' (declared: ${declared.join(", ") || "none"})`,
        });
    return out;
  },
};
