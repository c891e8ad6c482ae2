import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { runRule, specWith, triples } from "./test-helpers.js";
import { typeMismatch } from "./type-mismatch.js";

it("passes the example", () => {
  expect(runRule(typeMismatch, vqaSpec())).toEqual([]);
});

it("from must be an encode step, span a connect step", () => {
  const spec = specWith((s) => {
    s[1] = { id: "dock", op: "connect", from: "answer" };
    s[2] = { ...s[2]!, segments: [{ span: "see" }] } as never;
  });
  expect(triples(runRule(typeMismatch, spec))).toEqual([
    ["dock", "from", "type_mismatch"],
    ["answer", "segments.0.span", "type_mismatch"],
  ]);
});

it("a span must be connected for the decoding model", () => {
  const spec = specWith((s) => {
    s[2] = { ...s[2]!, model: "other-model" } as never;
  });
  const issues = runRule(typeMismatch, spec);
  expect(triples(issues)).toEqual([["answer", "segments.0.span", "type_mismatch"]]);
  expect(issues[0]?.message).toMatch(/connected for model 'metalm-tiny', not 'other-model'/);
});

it("image must be an image input; images cannot go into text", () => {
  const spec = specWith((s) => {
    s[0] = { ...s[0]!, image: "{{inputs.question}}" } as never;
    s[2] = { ...s[2]!, segments: [{ text: "{{inputs.image}}" }] } as never;
  });
  expect(triples(runRule(typeMismatch, spec))).toEqual([
    ["see", "image", "type_mismatch"],
    ["answer", "segments.0.text", "type_mismatch"],
  ]);
});

it("text templates may use number inputs", () => {
  const spec = specWith((s) => {
    s[2] = { ...s[2]!, segments: [{ text: "{{inputs.n}} {{inputs.question}}" }] } as never;
  });
  expect(runRule(typeMismatch, spec)).toEqual([]);
});

it("step fields must exist on the referenced op", () => {
  const spec = specWith((s) => {
    s[3] = { ...s[3]!, segments: [{ text: "{{steps.answer.label}} {{steps.see.text}}" }] } as never;
  });
  spec.outputs = { a: "{{steps.why.explanation}}", b: "{{steps.answer.tokens}}" };
  const issues = runRule(typeMismatch, spec);
  expect(triples(issues)).toEqual([
    ["why", "segments.0.text", "type_mismatch"],
    ["why", "segments.0.text", "type_mismatch"],
    ["$outputs", "b", "type_mismatch"],
  ]);
  expect(issues[0]?.message).toMatch(/has no field 'label' \(has: text\)/);
  expect(issues[1]?.message).toMatch(/use .* span|reference its tensor with a span/);
});
