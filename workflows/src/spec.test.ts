import { describe, expect, it } from "vitest";
import { vqaSpec } from "./fixtures.js";
import { DecodeParamsSchema, StepSchema, WorkflowSpecSchema, type WorkflowSpecInput } from "./spec.js";

function issues(spec: unknown) {
  const r = WorkflowSpecSchema.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => i.path.join("."));
}
function withStep(i: number, patch: Record<string, unknown>): WorkflowSpecInput {
  const s = vqaSpec();
  s.steps[i] = { ...s.steps[i], ...patch } as never;
  return s;
}

describe("WorkflowSpecSchema", () => {
  it("accepts the docs/CONTRACTS.md §1 example and applies defaults", () => {
    const spec = WorkflowSpecSchema.parse(vqaSpec());
    const answer = spec.steps[2];
    expect(answer?.op).toBe("decode");
    if (answer?.op !== "decode") throw new Error("unreachable");
    expect(answer.params).toEqual({ maxTokens: 8, temperature: 0, topP: 1, topK: 0, seed: 0, stop: [] });
    expect(answer.retry).toEqual({ maxAttempts: 3, backoffMs: 500 });
    expect(answer.timeoutMs).toBe(60_000);
  });

  it("defaults inputs/outputs to {} and explain labels", () => {
    const spec = WorkflowSpecSchema.parse({
      steps: [{ id: "e", op: "explain", model: "m", segments: [{ text: "x" }] }],
    });
    expect(spec.inputs).toEqual({});
    expect(spec.outputs).toEqual({});
    expect(spec.steps[0]).toMatchObject({ labels: ["entailment", "contradiction", "neutral"] });
  });

  it("rejects unknown top-level and step fields (strict)", () => {
    expect(issues({ ...vqaSpec(), extra: 1 })).toEqual([""]);
    expect(issues(withStep(1, { bogus: true }))).toEqual(["steps.1"]);
  });

  it("rejects an unknown op on field op", () => {
    expect(issues(withStep(0, { op: "resize" }))).toEqual(["steps.0.op"]);
  });

  it("rejects a bad step id", () => {
    expect(issues(withStep(0, { id: "See" }))).toEqual(["steps.0.id"]);
    expect(issues(withStep(0, { id: "a".repeat(65) }))).toEqual(["steps.0.id"]);
  });

  it("rejects a bad workflow name and bad input names", () => {
    expect(issues({ ...vqaSpec(), name: "Bad Name" })).toEqual(["name"]);
    const s = vqaSpec();
    s.inputs = { "1x": { type: "text" } };
    expect(issues(s)).toEqual(["inputs.1x"]);
  });

  it("rejects empty steps", () => {
    expect(issues({ steps: [] })).toEqual(["steps"]);
  });

  it("checks retry and timeout ranges", () => {
    expect(issues(withStep(0, { retry: { maxAttempts: 11 } }))).toEqual(["steps.0.retry.maxAttempts"]);
    expect(issues(withStep(0, { retry: { maxAttempts: 0 } }))).toEqual(["steps.0.retry.maxAttempts"]);
    expect(issues(withStep(0, { timeoutMs: 600_001 }))).toEqual(["steps.0.timeoutMs"]);
  });

  it("encode needs image or text, and image must be one input reference", () => {
    expect(issues(withStep(0, { image: undefined }))).toEqual(["steps.0.image"]);
    expect(issues(withStep(0, { image: "x {{inputs.image}}" }))).toEqual(["steps.0.image"]);
    expect(issues(withStep(0, { image: "{{ inputs.image }}" }))).toEqual([]);
  });

  it("decode needs a non-empty segment list of span/text objects", () => {
    expect(issues(withStep(2, { segments: [] }))).toEqual(["steps.2.segments"]);
    expect(issues(withStep(2, { segments: [{ span: "dock", text: "x" }] }))).toEqual(["steps.2.segments.0"]);
  });

  it("explain labels: 2–16 unique strings", () => {
    expect(issues(withStep(3, { labels: ["yes"] }))).toEqual(["steps.3.labels"]);
    expect(issues(withStep(3, { labels: ["a", "a"] }))).toEqual(["steps.3.labels"]);
  });

  it("input declarations: number min ≤ max, default in range; text default ≤ maxLength", () => {
    const s = vqaSpec();
    s.inputs = { n: { type: "number", min: 5, max: 1 } };
    expect(issues(s)).toEqual(["inputs.n.min"]);
    s.inputs = { n: { type: "number", max: 1, default: 2 } };
    expect(issues(s)).toEqual(["inputs.n.default"]);
    s.inputs = { t: { type: "text", maxLength: 2, default: "abc" } };
    expect(issues(s)).toEqual(["inputs.t.default"]);
    s.inputs = { i: { type: "image", default: "x" } as never };
    expect(issues(s)).toEqual(["inputs.i"]);
  });
});

describe("DecodeParamsSchema", () => {
  const bad: [string, unknown][] = [
    ["maxTokens", 0],
    ["maxTokens", 257],
    ["maxTokens", 1.5],
    ["temperature", -0.1],
    ["temperature", 2.1],
    ["topP", 0],
    ["topP", 1.1],
    ["topK", -1],
    ["seed", -1],
    ["seed", 2 ** 32],
    ["stop", ["a", "b", "c", "d", "e"]],
  ];
  it.each(bad)("rejects %s = %j", (field, value) => {
    const r = DecodeParamsSchema.safeParse({ [field]: value });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path[0]).toBe(field);
  });

  it("accepts the boundaries", () => {
    expect(DecodeParamsSchema.safeParse({ maxTokens: 256, temperature: 2, topP: 1, topK: 0, seed: 2 ** 32 - 1, stop: ["a", "b", "c", "d"] }).success).toBe(
      true,
    );
  });
});

describe("StepSchema", () => {
  it("connect: connector is optional", () => {
    expect(StepSchema.parse({ id: "c", op: "connect", from: "e" })).toMatchObject({ op: "connect", from: "e" });
  });
});
