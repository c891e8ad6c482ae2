import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { runRule, specWith, triples } from "./test-helpers.js";
import { unknownReference } from "./unknown-reference.js";

it("passes the example", () => {
  expect(runRule(unknownReference, vqaSpec())).toEqual([]);
});

it("reports unknown from, span, step and input references with positions", () => {
  const spec = specWith((s) => {
    s[1] = { id: "dock", op: "connect", from: "nope" };
    s[2] = {
      id: "answer",
      op: "decode",
      model: "metalm-tiny",
      segments: [{ span: "ghost" }, { text: "q: {{inputs.missing}} {{steps.gone.text}}" }],
    };
  });
  spec.outputs = { x: "{{steps.nowhere.text}}" };
  const issues = runRule(unknownReference, spec);
  expect(triples(issues)).toEqual([
    ["dock", "from", "unknown_reference"],
    ["answer", "segments.0.span", "unknown_reference"],
    ["answer", "segments.1.text", "unknown_reference"],
    ["answer", "segments.1.text", "unknown_reference"],
    ["$outputs", "x", "unknown_reference"],
  ]);
  expect(issues[2]?.message).toBe("unknown input 'missing' in {{inputs.missing}} at 3");
  expect(issues[3]?.message).toMatch(/unknown step 'gone' .* at 22/);
});

it("reports an unknown image input and template syntax errors", () => {
  const spec = specWith((s) => {
    s[0] = { id: "see", op: "encode", model: "metalm-tiny", encoder: "vision", image: "{{inputs.photo}}", text: "a {{inputs}}" };
  });
  const issues = runRule(unknownReference, spec);
  expect(triples(issues)).toEqual([
    ["see", "text", "template_syntax"],
    ["see", "image", "unknown_reference"],
  ]);
  expect(issues[0]?.message).toMatch(/at 2$/);
});
