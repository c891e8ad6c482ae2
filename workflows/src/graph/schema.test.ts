import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { WorkflowSpecSchema } from "../spec.js";
import { schemaIssues, stepKey } from "./schema.js";
import { toErrorMap } from "./types.js";

function mapOf(raw: unknown) {
  const r = WorkflowSpecSchema.safeParse(raw);
  if (r.success) return {};
  return toErrorMap(schemaIssues(r.error.issues, raw));
}

it("files step issues under the step id with the field path", () => {
  const raw = vqaSpec();
  (raw.steps[2] as { params: unknown }).params = { maxTokens: 999 };
  const map = mapOf(raw);
  expect(Object.keys(map)).toEqual(["answer"]);
  expect(map.answer?.[0]).toMatchObject({ code: "schema", field: "params.maxTokens" });
});

it("reports an unknown op with the op named", () => {
  const raw = vqaSpec();
  (raw.steps[1] as { op: string }).op = "blur";
  expect(mapOf(raw).dock).toEqual([{ code: "unknown_op", field: "op", message: 'unknown op "blur" (expected one of encode, connect, decode, explain)' }]);
});

it("reports unknown fields one by one", () => {
  const raw = { ...vqaSpec(), colour: 1 };
  (raw.steps[0] as Record<string, unknown>).bogus = 1;
  (raw.steps[2] as { params: unknown }).params = { maxTokens: 8, tokens: 3 };
  const map = mapOf(raw);
  expect(map.$spec).toEqual([{ code: "unknown_field", field: "colour", message: "unknown field 'colour'" }]);
  expect(map.see).toEqual([{ code: "unknown_field", field: "bogus", message: "unknown field 'bogus'" }]);
  expect(map.answer).toEqual([{ code: "unknown_field", field: "params.tokens", message: "unknown field 'tokens'" }]);
});

it("files inputs / outputs / top-level issues under $inputs / $outputs / $spec", () => {
  const raw = vqaSpec();
  raw.inputs = { n: { type: "number", min: 3, max: 1 } };
  raw.outputs = { answer: 42 as never };
  raw.name = "Not OK";
  const map = mapOf(raw);
  expect(map.$inputs?.[0]?.field).toBe("n.min");
  expect(map.$outputs?.[0]?.field).toBe("answer");
  expect(map.$spec?.[0]?.field).toBe("name");
  expect(Object.keys(mapOf(null))).toEqual(["$spec"]);
});

it("keys a step without a usable id by its index", () => {
  expect(stepKey({ steps: [{ op: "connect" }] }, 0)).toBe("steps[0]");
  expect(stepKey({ steps: [{ id: 5 }] }, 0)).toBe("steps[0]");
  expect(stepKey({ steps: [{ id: "x" }] }, 0)).toBe("x");
  expect(Object.keys(mapOf({ steps: [{ op: "connect", from: "a" }] }))).toEqual(["steps[0]"]);
});
