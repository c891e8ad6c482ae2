import { INPUTS_KEY, type GraphRule, type KeyedIssue } from "./types.js";

/**
 * Rule (with input values): numbers respect `min` / `max` / `integer`, texts `maxLength`.
 * Values of the wrong type are left to `input-type`.
 *
 * @example
 * inputRange.check({ ...ctx, inputs: { n: 11 } }); // code "input_range", field "n" (max 10)
 */
export const inputRange: GraphRule = {
  name: "input-range",
  check({ spec, inputs }) {
    if (!inputs) return [];
    const out: KeyedIssue[] = [];
    const bad = (field: string, message: string) => out.push({ key: INPUTS_KEY, field, code: "input_range", message });
    for (const [name, decl] of Object.entries(spec.inputs)) {
      const v: unknown = Object.hasOwn(inputs, name) ? inputs[name] : undefined;
      if (decl.type === "number" && typeof v === "number" && Number.isFinite(v)) {
        if (decl.min !== undefined && v < decl.min) bad(name, `input '${name}' = ${v} is below min ${decl.min}`);
        if (decl.max !== undefined && v > decl.max) bad(name, `input '${name}' = ${v} is above max ${decl.max}`);
        if (decl.integer && !Number.isInteger(v)) bad(name, `input '${name}' = ${v} must be an integer`);
      }
      if (decl.type === "text" && typeof v === "string" && decl.maxLength !== undefined && v.length > decl.maxLength)
        bad(name, `input '${name}' is ${v.length} characters long, more than maxLength ${decl.maxLength}`);
    }
    return out;
  },
};
