import { expect, it } from "vitest";
import { WorkflowValidationError, serializeError } from "../errors.js";
import { tinyCatalog, vqaSpec } from "../fixtures.js";
import { checkInputs, checkSpec, GRAPH_RULES, INPUT_RULES, parseWorkflow, validateWorkflow } from "./validate.js";

const image = { sha256: "b".repeat(64), mime: "image/png" };

it("accepts the example with inputs and catalog, returning the parsed spec", () => {
  const r = validateWorkflow(vqaSpec(), { image }, tinyCatalog);
  expect(r.ok).toBe(true);
  if (r.ok) expect(r.spec.steps[0]?.timeoutMs).toBe(60_000);
});

it("runs all graph rules at once into one per-step map", () => {
  const raw = vqaSpec();
  raw.steps[0] = { id: "see", op: "encode", model: "metalm-huge", encoder: "vision", image: "{{inputs.image}}" };
  raw.steps[1] = { id: "dock", op: "connect", from: "dock" };
  raw.outputs = { x: "{{steps.nope.text}}" };
  const r = validateWorkflow(raw, { question: 5 }, tinyCatalog);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  const codes = Object.fromEntries(Object.entries(r.errors).map(([k, v]) => [k, v.map((e) => e.code)]));
  expect(codes).toEqual({
    $outputs: ["unknown_reference"],
    dock: ["cycle", "type_mismatch"],
    see: ["unknown_model"],
    $inputs: ["missing_input", "input_type"],
  });
  expect(r.error).toBeInstanceOf(WorkflowValidationError);
  expect(r.error.code).toBe("invalid_workflow");
  expect(serializeError(r.error)).toMatchObject({ code: "invalid_workflow", retryable: false, details: { errors: r.errors } });
});

it("stops at schema errors (graph rules would only echo them)", () => {
  const raw = vqaSpec();
  (raw.steps[2] as { params: unknown }).params = { temperature: 3 };
  raw.steps[1] = { id: "dock", op: "connect", from: "nowhere" };
  const r = validateWorkflow(raw);
  expect(!r.ok && r.errors).toEqual({ answer: [expect.objectContaining({ field: "params.temperature", code: "schema" })] });
});

it("rejects inputs that are not an object", () => {
  const r = validateWorkflow(vqaSpec(), [1]);
  expect(!r.ok && r.errors.$inputs?.[0]?.code).toBe("input_type");
});

it("parseWorkflow throws the typed error with a readable message", () => {
  expect(() => parseWorkflow({ steps: [] })).toThrow(WorkflowValidationError);
  try {
    parseWorkflow({ steps: [{ id: "a", op: "connect", from: "b" }] });
  } catch (e) {
    expect((e as Error).message).toBe("invalid workflow — a.from: unknown step 'b'");
  }
});

it("checkSpec + checkInputs answer exactly what validateWorkflow answers", () => {
  const pre = checkSpec(vqaSpec(), tinyCatalog);
  expect("spec" in pre).toBe(true);
  if (!("spec" in pre)) return;
  const cases: Record<string, unknown>[] = [
    { image, question: "what?" },
    { image },
    {},
    { image: "not an image", question: 5 },
    { image, qestion: "typo" },
    { image, question: "x".repeat(5000) },
  ];
  for (const inputs of cases) {
    const a = checkInputs(pre, inputs);
    const b = validateWorkflow(vqaSpec(), inputs, tinyCatalog);
    expect(a.ok).toBe(b.ok);
    if (a.ok && b.ok) expect(a.spec).toEqual(b.spec);
    if (!a.ok && !b.ok) {
      expect(a.errors).toEqual(b.errors);
      expect(Object.keys(a.errors)).toEqual(Object.keys(b.errors));
      expect(a.error.message).toBe(b.error.message);
    }
  }
});

it("checkSpec refuses a spec with schema or spec/catalog-rule errors (the caller validates in full)", () => {
  const raw = vqaSpec();
  raw.steps[1] = { id: "dock", op: "connect", from: "dock" };
  expect(checkSpec(raw, tinyCatalog)).toEqual({ ok: false });
  expect(checkSpec({ steps: "no" }, tinyCatalog)).toEqual({ ok: false });
  expect(checkSpec(vqaSpec(), {})).toEqual({ ok: false }); // unknown model
});

it("the input rules end GRAPH_RULES (the order of reported issues depends on it)", () => {
  expect(GRAPH_RULES.slice(-INPUT_RULES.length)).toEqual(INPUT_RULES);
});
