import { isRequiredInput } from "../inputs.js";
import { INPUTS_KEY, type GraphRule, type KeyedIssue } from "./types.js";

/**
 * Rule (with input values): every required input (an image, or text/number without a
 * `default`) has a value. Reported under `$inputs`, field = the input name.
 *
 * @example
 * missingInput.check({ ...ctx, inputs: {} }); // [{ key: "$inputs", code: "missing_input", field: "image", ... }]
 */
export const missingInput: GraphRule = {
  name: "missing-input",
  check({ spec, inputs }) {
    if (!inputs) return [];
    const out: KeyedIssue[] = [];
    for (const [name, decl] of Object.entries(spec.inputs))
      if (isRequiredInput(decl) && !Object.hasOwn(inputs, name))
        out.push({ key: INPUTS_KEY, field: name, code: "missing_input", message: `missing required ${decl.type} input '${name}'` });
    return out;
  },
};
