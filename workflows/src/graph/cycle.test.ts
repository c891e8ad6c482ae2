import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { cycle } from "./cycle.js";
import { runRule, specWith, triples } from "./test-helpers.js";

it("passes references to earlier steps and outputs referencing any step", () => {
  expect(runRule(cycle, vqaSpec())).toEqual([]);
});

it("reports a self reference", () => {
  const spec = specWith((s) => {
    s[1] = { id: "dock", op: "connect", from: "dock" };
  });
  expect(triples(runRule(cycle, spec))).toEqual([["dock", "from", "cycle"]]);
});

it("reports a reference to a later step (spans and value templates)", () => {
  const spec = specWith((s) => {
    const [see, dock, answer, why] = s;
    s.splice(0, 4, see!, answer!, dock!, why!); // answer now precedes dock
    s[3] = { ...why!, segments: [{ text: "{{steps.later.text}}" }] } as never;
    s.push({ id: "later", op: "decode", model: "metalm-tiny", segments: [{ text: "x" }] });
  });
  const issues = runRule(cycle, spec);
  expect(triples(issues)).toEqual([
    ["answer", "segments.0.span", "cycle"],
    ["why", "segments.0.text", "cycle"],
  ]);
  expect(issues[0]?.message).toMatch(/comes later/);
});

it("reports a two-step cycle on both ends that point forward", () => {
  const spec = {
    steps: [
      { id: "a", op: "decode" as const, model: "m", segments: [{ text: "{{steps.b.text}}" }] },
      { id: "b", op: "decode" as const, model: "m", segments: [{ text: "{{steps.a.text}}" }] },
    ],
  };
  expect(triples(runRule(cycle, spec))).toEqual([["a", "segments.0.text", "cycle"]]);
});
