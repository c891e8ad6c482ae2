/**
 * `validateWorkflow`: the schema, then every graph rule at once, all-or-nothing.
 */
import { WorkflowValidationError } from "../errors.js";
import { WorkflowSpecSchema, type WorkflowSpec } from "../spec.js";
import type { ModelCatalog } from "../wire.js";
import { cycle } from "./cycle.js";
import { duplicateIds } from "./duplicate-ids.js";
import { inputRange } from "./input-range.js";
import { inputType } from "./input-type.js";
import { missingInput } from "./missing-input.js";
import { modelParams } from "./model-params.js";
import { schemaIssues } from "./schema.js";
import { typeMismatch } from "./type-mismatch.js";
import { graphContext, INPUTS_KEY, toErrorMap, type GraphRule, type ValidationErrorMap } from "./types.js";
import { unknownConnector } from "./unknown-connector.js";
import { unknownEncoder } from "./unknown-encoder.js";
import { unknownInput } from "./unknown-input.js";
import { unknownModel } from "./unknown-model.js";
import { unknownReference } from "./unknown-reference.js";

/** Every graph rule, in reporting order. */
export const GRAPH_RULES: readonly GraphRule[] = [
  duplicateIds,
  unknownReference,
  cycle,
  typeMismatch,
  unknownModel,
  unknownEncoder,
  unknownConnector,
  modelParams,
  missingInput,
  unknownInput,
  inputType,
  inputRange,
];

/**
 * Run every graph rule on a parsed spec; `{}` when all pass. Rules that need input values or a
 * catalog are skipped when those are not given.
 *
 * @example
 * runGraphRules(spec, { image: { sha256, mime: "image/png" } }, catalog); // {}
 */
export function runGraphRules(spec: WorkflowSpec, inputs?: Readonly<Record<string, unknown>>, catalog?: ModelCatalog): ValidationErrorMap {
  const ctx = graphContext(spec, inputs, catalog);
  return toErrorMap(GRAPH_RULES.flatMap((r) => r.check(ctx)));
}

export type ValidationResult = { ok: true; spec: WorkflowSpec } | { ok: false; errors: ValidationErrorMap; error: WorkflowValidationError };

function fail(errors: ValidationErrorMap): ValidationResult {
  return { ok: false, errors, error: new WorkflowValidationError(errors) };
}

/**
 * Validate a spec as received (any JSON), and optionally input values and a model catalog.
 * The schema runs first; if it fails, its issues (filed by step id) are the answer, since graph
 * rules on a malformed spec would only report echoes. Otherwise every graph rule runs and all
 * problems are returned together.
 *
 * @example
 * const r = validateWorkflow(body.spec, body.inputs, catalogFrom(adverts));
 * if (!r.ok) return c.json({ error: serializeError(r.error) }, 400);
 * r.spec; // parsed, defaults applied
 */
export function validateWorkflow(specJson: unknown, inputs?: unknown, catalog?: ModelCatalog): ValidationResult {
  const parsed = WorkflowSpecSchema.safeParse(specJson);
  if (!parsed.success) return fail(toErrorMap(schemaIssues(parsed.error.issues, specJson)));
  if (inputs !== undefined && (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)))
    return fail({ [INPUTS_KEY]: [{ code: "input_type", field: "", message: "inputs must be an object of name → value" }] });
  const errors = runGraphRules(parsed.data, inputs as Readonly<Record<string, unknown>> | undefined, catalog);
  return Object.keys(errors).length ? fail(errors) : { ok: true, spec: parsed.data };
}

/**
 * Like `validateWorkflow`, but returns the parsed spec or throws `WorkflowValidationError`.
 *
 * @example
 * const spec = parseWorkflow(json, inputs, catalog);
 */
export function parseWorkflow(specJson: unknown, inputs?: unknown, catalog?: ModelCatalog): WorkflowSpec {
  const r = validateWorkflow(specJson, inputs, catalog);
  if (!r.ok) throw r.error;
  return r.spec;
}
