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
import { graphContext, INPUTS_KEY, toErrorMap, type GraphContext, type GraphRule, type ValidationErrorMap } from "./types.js";
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
 * The rules that read input values: the last ones of `GRAPH_RULES`, so the issues of the others
 * (which read only the spec and the catalog) always come first, and a spec + catalog that passed
 * them once need only these for each new set of inputs (`checkInputs`).
 */
export const INPUT_RULES: readonly GraphRule[] = [missingInput, unknownInput, inputType, inputRange];
const SPEC_RULES = GRAPH_RULES.slice(0, GRAPH_RULES.length - INPUT_RULES.length);
if (GRAPH_RULES.slice(SPEC_RULES.length).some((r, i) => r !== INPUT_RULES[i])) throw new Error("INPUT_RULES must end GRAPH_RULES");

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
 * A spec that passed the schema and every rule that does not read input values, against one
 * catalog (`checkSpec`). Nothing in it depends on inputs, so a caller may keep it (frozen: it is
 * shared) and check many requests' inputs against it with `checkInputs`.
 */
export interface CheckedSpec {
  readonly spec: WorkflowSpec;
  readonly catalog: ModelCatalog | undefined;
  readonly byId: GraphContext["byId"];
}

/**
 * The input-independent half of `validateWorkflow(specJson, inputs, catalog)`: the checked spec,
 * or the failure `validateWorkflow` would answer for any inputs that are an object (the schema's
 * issues, or those of the spec/catalog rules together with `inputs`' own, in the same order).
 *
 * @example
 * const pre = checkSpec(json, catalog);
 * const r = "spec" in pre ? checkInputs(pre, inputs) : validateWorkflow(json, inputs, catalog);
 */
export function checkSpec(specJson: unknown, catalog?: ModelCatalog): CheckedSpec | { ok: false } {
  const parsed = WorkflowSpecSchema.safeParse(specJson);
  if (!parsed.success) return { ok: false };
  const ctx = graphContext(parsed.data, undefined, catalog);
  if (SPEC_RULES.some((r) => r.check(ctx).length > 0)) return { ok: false };
  return { spec: parsed.data, catalog, byId: ctx.byId };
}

/**
 * `validateWorkflow(specJson, inputs, catalog)` for a spec `checkSpec(specJson, catalog)` passed:
 * the same result (same spec value, same errors) without parsing the spec again.
 *
 * @example
 * checkInputs(checkSpec(vqaSpec(), tinyCatalog) as CheckedSpec, { image }).ok; // true
 */
export function checkInputs(pre: CheckedSpec, inputs: Readonly<Record<string, unknown>>): ValidationResult {
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs))
    return fail({ [INPUTS_KEY]: [{ code: "input_type", field: "", message: "inputs must be an object of name → value" }] });
  const ctx: GraphContext = { spec: pre.spec, byId: pre.byId, inputs };
  if (pre.catalog) ctx.catalog = pre.catalog;
  const errors = toErrorMap(INPUT_RULES.flatMap((r) => r.check(ctx)));
  return Object.keys(errors).length ? fail(errors) : { ok: true, spec: pre.spec };
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
