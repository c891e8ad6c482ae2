import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { inputRange } from "./input-range.js";
import { runRule, triples } from "./test-helpers.js";

it("checks min and max inclusively", () => {
  expect(runRule(inputRange, vqaSpec(), { n: 0 })).toEqual([]);
  expect(runRule(inputRange, vqaSpec(), { n: 10 })).toEqual([]);
  expect(triples(runRule(inputRange, vqaSpec(), { n: -1 }))).toEqual([["$inputs", "n", "input_range"]]);
  expect(runRule(inputRange, vqaSpec(), { n: 11 })[0]?.message).toBe("input 'n' = 11 is above max 10");
});

it("checks integer and maxLength; leaves wrong types to input-type", () => {
  const spec = vqaSpec();
  spec.inputs = { k: { type: "number", integer: true }, t: { type: "text", maxLength: 3 } };
  expect(triples(runRule(inputRange, spec, { k: 1.5, t: "abcd" }))).toEqual([
    ["$inputs", "k", "input_range"],
    ["$inputs", "t", "input_range"],
  ]);
  expect(runRule(inputRange, spec, { k: "x", t: 5 })).toEqual([]);
});
