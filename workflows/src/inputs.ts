/**
 * Resolved input values: what validation and the planner see after the edge has stored images
 * (by content hash). Text → string, number → number, image → `{ sha256, mime }`.
 */
import { z } from "zod";
import type { InputDecl, WorkflowSpec } from "./spec.js";
import { Sha256Schema } from "./wire.js";

/** A stored image, referenced by content. */
export const ImageValueSchema = z
  .object({ sha256: Sha256Schema, mime: z.string().min(1) })
  .strict()
  .meta({ id: "ImageValue" });
export type ImageValue = z.infer<typeof ImageValueSchema>;
/** One resolved input value. */
export const InputValueSchema = z.union([z.string(), z.number(), ImageValueSchema]).meta({ id: "InputValue" });
export type InputValue = z.infer<typeof InputValueSchema>;
/** Input name → resolved value. */
export type InputValues = Readonly<Record<string, InputValue>>;

/**
 * True for `{ sha256, mime }`.
 *
 * @example
 * isImageValue({ sha256, mime: "image/png" }); // true
 */
export function isImageValue(v: unknown): v is ImageValue {
  return typeof v === "object" && v !== null && typeof (v as ImageValue).sha256 === "string" && typeof (v as ImageValue).mime === "string";
}

/**
 * Whether an input must be given a value (no default).
 *
 * @example
 * isRequiredInput({ type: "text", default: "hi" }); // false
 */
export function isRequiredInput(decl: InputDecl): boolean {
  return decl.type === "image" || decl.default === undefined;
}

/**
 * The kind of a value, in the words of input declarations (for messages).
 *
 * @example
 * valueType(3); // "number"
 */
export function valueType(v: unknown): string {
  if (isImageValue(v)) return "image";
  if (typeof v === "string") return "text";
  if (typeof v === "number") return Number.isFinite(v) ? "number" : "non-finite number";
  return v === null ? "null" : typeof v;
}

/**
 * The given values plus the declared defaults (given values win; undeclared names dropped).
 * Does not validate: run `validateWorkflow(spec, inputs)` first.
 *
 * @example
 * withInputDefaults(spec, { image: { sha256, mime: "image/png" } });
 * // { image: {...}, question: "what color is the circle?" }
 */
export function withInputDefaults(spec: WorkflowSpec, inputs: InputValues): Record<string, InputValue> {
  const out: Record<string, InputValue> = {};
  for (const [name, decl] of Object.entries(spec.inputs)) {
    if (Object.hasOwn(inputs, name)) out[name] = inputs[name]!;
    else if (decl.type !== "image" && decl.default !== undefined) out[name] = decl.default;
  }
  return out;
}
