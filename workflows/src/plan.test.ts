import { describe, expect, it } from "vitest";
import { NonRetryableError } from "./errors.js";
import { TINY_SHA, tinyAdvert, tinyCatalog, vqaSpec } from "./fixtures.js";
import { parseWorkflow } from "./graph/validate.js";
import type { InputValues } from "./inputs.js";
import { plan, resolveOutputs, resolveStep, type PlannedStep } from "./plan.js";
import type { WorkflowSpecInput } from "./spec.js";
import type { StepOutput } from "./wire.js";

const IMG = "c".repeat(64);
const inputs: InputValues = { image: { sha256: IMG, mime: "image/png" } };
const answerOut: StepOutput = { op: "decode", text: "red", tokens: [9], tokenTexts: ["red"], logprobs: [-0.1], finishReason: "eos" };
const whyOut: StepOutput = {
  op: "explain",
  label: "entailment",
  scores: { entailment: -0.1 },
  explanation: "the circle is red",
  text: "entailment because …",
  tokens: [],
  logprobs: [],
};

function planOf(spec: WorkflowSpecInput = vqaSpec(), ins: InputValues = inputs, catalog = tinyCatalog) {
  return plan(parseWorkflow(spec, ins, catalog), ins, catalog);
}
const byId = (steps: PlannedStep[]) => Object.fromEntries(steps.map((s) => [s.id, s]));

/** Cache keys of every step, resolving value deps with fixed outputs. */
function keys(spec?: WorkflowSpecInput, ins?: InputValues, catalog = tinyCatalog, answer: StepOutput = answerOut) {
  return Object.fromEntries(planOf(spec, ins, catalog).map((s) => [s.id, s.cacheKey ?? resolveStep(s, { answer }).cacheKey]));
}

describe("plan", () => {
  it("gives the VQA steps tensor deps only, so they are leasable together", () => {
    const s = byId(planOf());
    expect(s.see).toMatchObject({ tensorDeps: [], valueDeps: [], model: "metalm-tiny", modelSha256: TINY_SHA });
    expect(s.dock).toMatchObject({ tensorDeps: ["see"], valueDeps: [] });
    expect(s.answer).toMatchObject({ tensorDeps: ["dock"], valueDeps: [] });
    expect(s.why).toMatchObject({ tensorDeps: ["dock"], valueDeps: ["answer"] });
    expect(s.why?.job).toBeUndefined();
    expect(s.why?.cacheKey).toBeUndefined();
    for (const id of ["see", "dock", "answer"]) expect(s[id]?.cacheKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it("builds recipes and segments with the default connector and input defaults", () => {
    const s = byId(planOf());
    const source = { model: "metalm-tiny", encoder: "vision", image: { sha256: IMG } };
    expect(s.see?.job).toEqual({ op: "encode", model: "metalm-tiny", recipe: source });
    expect(s.dock?.job).toEqual({ op: "connect", model: "metalm-tiny", recipe: { connector: "vision", source } });
    expect(s.answer?.job).toEqual({
      op: "decode",
      model: "metalm-tiny",
      segments: [
        { kind: "span", recipe: { connector: "vision", source } },
        { kind: "text", text: "question: what color is the circle? answer:" },
      ],
      params: { maxTokens: 8, temperature: 0, topP: 1, topK: 0, seed: 0, stop: [] },
    });
  });

  it("resolveStep fills value deps once they have outputs", () => {
    const why = byId(planOf()).why!;
    expect(() => resolveStep(why, {})).toThrow(NonRetryableError);
    const { job, cacheKey } = resolveStep(why, { answer: answerOut });
    expect(job.op === "explain" && job.segments[1]).toEqual({ kind: "text", text: "hypothesis: the circle is red it is" });
    expect(job.op === "explain" && job.labels).toEqual(["entailment", "contradiction", "neutral"]);
    expect(cacheKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it("propagates value deps through recipes", () => {
    const spec = vqaSpec();
    spec.steps.push(
      { id: "say", op: "encode", model: "metalm-tiny", encoder: "text", text: "{{steps.answer.text}}" },
      { id: "dock2", op: "connect", from: "say" },
      { id: "again", op: "decode", model: "metalm-tiny", segments: [{ span: "dock2" }] },
    );
    const s = byId(planOf(spec));
    expect(s.dock2?.valueDeps).toEqual(["answer"]);
    expect(s.again?.valueDeps).toEqual(["answer"]);
    const job = resolveStep(s.again!, { answer: answerOut }).job;
    expect(job.op === "decode" && job.segments[0]).toEqual({
      kind: "span",
      recipe: { connector: "text", source: { model: "metalm-tiny", encoder: "text", text: "red" } },
    });
  });

  it("an input value that looks like a template is not re-expanded", () => {
    const k = planOf(vqaSpec(), { ...inputs, question: "{{steps.answer.text}}" });
    const job = byId(k).answer?.job;
    expect(job?.op === "decode" && job.segments[1]).toEqual({ kind: "text", text: "question: {{steps.answer.text}} answer:" });
  });
});

describe("cache keys", () => {
  const base = keys();

  it("are stable: same spec, inputs and catalog give the same keys", () => {
    expect(keys()).toEqual(base);
    expect(new Set(Object.values(base)).size).toBe(4);
  });

  it("ignore model names, retry and timeout", () => {
    const spec = vqaSpec();
    spec.steps[2] = { ...spec.steps[2]!, retry: { maxAttempts: 5 }, timeoutMs: 1000 } as never;
    expect(keys(spec)).toEqual(base);
  });

  it("change with a param, downstream only", () => {
    const spec = vqaSpec();
    spec.steps[2] = { ...spec.steps[2]!, params: { maxTokens: 8, temperature: 0, seed: 1 } } as never;
    const k = keys(spec);
    expect([k.see, k.dock]).toEqual([base.see, base.dock]);
    expect(k.answer).not.toBe(base.answer);
    expect(k.why).toBe(base.why); // why depends on answer's *value*, which is the same here
    expect(keys(spec, inputs, tinyCatalog, { ...answerOut, text: "blue" } as StepOutput).why).not.toBe(base.why);
  });

  it("change with the model sha everywhere", () => {
    const k = keys(vqaSpec(), inputs, { "metalm-tiny": { ...tinyAdvert, sha256: "d".repeat(64) } });
    for (const id of Object.keys(base)) expect(k[id]).not.toBe(base[id]);
  });

  it("change with the image hash everywhere the image flows", () => {
    const k = keys(vqaSpec(), { image: { sha256: "e".repeat(64), mime: "image/png" } });
    for (const id of Object.keys(base)) expect(k[id]).not.toBe(base[id]);
  });

  it("do not change with the image mime", () => {
    expect(keys(vqaSpec(), { image: { sha256: IMG, mime: "image/jpeg" } })).toEqual(base);
  });

  it("change with resolved text, and with upstream encoder / connector choices", () => {
    expect(keys(vqaSpec(), { ...inputs, question: "what shape?" }).answer).not.toBe(base.answer);
    const spec = vqaSpec();
    spec.steps[0] = { ...spec.steps[0]!, encoder: "vision2" } as never;
    const catalog = {
      "metalm-tiny": {
        ...tinyAdvert,
        encoders: [...tinyAdvert.encoders, { name: "vision2", modality: "image" as const, hiddenSize: 128 }],
        connectors: [...tinyAdvert.connectors, { name: "v2", encoder: "vision2" }],
      },
    };
    const k = keys(spec, inputs, catalog);
    expect([k.see !== base.see, k.dock !== base.dock, k.answer !== base.answer]).toEqual([true, true, true]);
  });

  it("change with explain labels", () => {
    const spec = vqaSpec();
    spec.steps[3] = { ...spec.steps[3]!, labels: ["yes", "no"] } as never;
    expect(keys(spec).why).not.toBe(base.why);
  });
});

describe("resolveOutputs", () => {
  it("renders declared outputs; unresolvable ones are null", () => {
    const spec = parseWorkflow(vqaSpec());
    expect(resolveOutputs(spec, { answer: answerOut, why: whyOut })).toEqual({
      answer: "red",
      label: "entailment",
      explanation: "the circle is red",
    });
    expect(resolveOutputs(spec, { answer: answerOut })).toEqual({ answer: "red", label: null, explanation: null });
  });

  it("may use inputs and their defaults", () => {
    const spec = parseWorkflow({ ...vqaSpec(), outputs: { q: "Q: {{inputs.question}} ({{inputs.n}})" } });
    expect(resolveOutputs(spec, {}, inputs)).toEqual({ q: "Q: what color is the circle? (1)" });
  });
});
