import { isImageValue, valueType } from "../inputs.js";
import { INPUTS_KEY, type GraphRule, type KeyedIssue } from "./types.js";

/**
 * Rule (with input values): each given value has its declared type — a string for `text`, a
 * finite number for `number`, `{ sha256, mime }` (a stored image) for `image`.
 *
 * @example
 * inputType.check({ ...ctx, inputs: { n: "3" } }); // code "input_type", field "n"
 */
export const inputType: GraphRule = {
  name: "input-type",
  check({ spec, inputs }) {
    if (!inputs) return [];
    const out: KeyedIssue[] = [];
    for (const [name, decl] of Object.entries(spec.inputs)) {
      if (!Object.hasOwn(inputs, name)) continue;
      const v: unknown = inputs[name];
      const ok = decl.type === "text" ? typeof v === "string" : decl.type === "number" ? typeof v === "number" && Number.isFinite(v) : isImageValue(v);
      if (!ok) out.push({ key: INPUTS_KEY, field: name, code: "input_type", message: `input '${name}' must be ${decl.type}, got ${valueType(v)}` });
    }
    return out;
  },
};
