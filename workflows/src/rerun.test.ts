import { describe, expect, it } from "vitest";
import { NonRetryableError } from "./errors.js";
import { vqaSpec } from "./fixtures.js";
import { parseWorkflow, validateWorkflow } from "./graph/validate.js";
import { applyOverrides, downstreamOf, rerunSet, stepsUsingInputs } from "./rerun.js";

const spec = parseWorkflow(vqaSpec());

describe("downstream sets", () => {
  it("follow tensor and value references transitively", () => {
    expect(downstreamOf(spec, "see")).toEqual(["dock", "answer", "why"]);
    expect(downstreamOf(spec, "dock")).toEqual(["answer", "why"]);
    expect(downstreamOf(spec, "answer")).toEqual(["why"]);
    expect(downstreamOf(spec, "why")).toEqual([]);
  });

  it("rerunSet includes seeds and steps using changed inputs, in spec order", () => {
    expect(rerunSet(spec, ["why", "answer"])).toEqual(["answer", "why"]);
    expect(rerunSet(spec, [], ["question"])).toEqual(["answer", "why"]);
    expect(rerunSet(spec, [], ["image"])).toEqual(["see", "dock", "answer", "why"]);
    expect(stepsUsingInputs(spec, ["n"])).toEqual([]);
  });

  it("leave independent branches out", () => {
    const two = parseWorkflow({
      steps: [
        { id: "a", op: "decode", model: "m", segments: [{ text: "x" }] },
        { id: "b", op: "decode", model: "m", segments: [{ text: "y" }] },
        { id: "c", op: "decode", model: "m", segments: [{ text: "{{steps.a.text}}" }] },
      ],
    });
    expect(rerunSet(two, ["a"])).toEqual(["a", "c"]);
  });
});

describe("applyOverrides", () => {
  it("merges params field by field and reports changed steps", () => {
    const { spec: next, changed } = applyOverrides(spec, { answer: { params: { temperature: 0.7 } }, see: {} });
    expect(changed).toEqual(["answer"]);
    const parsed = parseWorkflow(next);
    expect(parsed.steps[2]).toMatchObject({ params: { maxTokens: 8, temperature: 0.7 } });
    expect(spec.steps[2]).toMatchObject({ params: { temperature: 0 } }); // not mutated
  });

  it("replaces other fields, null removes, unchanged values are not changes", () => {
    const { spec: next, changed } = applyOverrides(spec, {
      why: { labels: ["yes", "no"] },
      dock: { connector: "vision" },
      answer: { params: { maxTokens: 8 } },
    });
    expect(changed).toEqual(["dock", "why"]);
    expect(applyOverrides(next, { dock: { connector: null } }).changed).toEqual(["dock"]);
  });

  it("rejects unknown steps and changes of id/op", () => {
    expect(() => applyOverrides(spec, { nope: {} })).toThrow(NonRetryableError);
    expect(() => applyOverrides(spec, { answer: { op: "explain" } })).toThrow(/cannot change 'op'/);
    expect(() => applyOverrides(spec, { answer: { id: "answer" } })).not.toThrow();
  });

  it("leaves validation to validateWorkflow", () => {
    const { spec: next } = applyOverrides(spec, { answer: { params: { maxTokens: 1000 } } });
    const r = validateWorkflow(next);
    expect(!r.ok && r.errors.answer?.[0]?.field).toBe("params.maxTokens");
  });
});
