import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { missingInput } from "./missing-input.js";
import { runRule, triples } from "./test-helpers.js";

it("is skipped without input values", () => {
  expect(runRule(missingInput, vqaSpec())).toEqual([]);
});

it("reports required inputs without a value; defaults make an input optional", () => {
  expect(triples(runRule(missingInput, vqaSpec(), {}))).toEqual([["$inputs", "image", "missing_input"]]);
  expect(runRule(missingInput, vqaSpec(), { image: { sha256: "b".repeat(64), mime: "image/png" } })).toEqual([]);
  const spec = vqaSpec();
  spec.inputs = { ...spec.inputs, k: { type: "number" } };
  expect(triples(runRule(missingInput, spec, { image: { sha256: "b".repeat(64), mime: "image/png" } }))).toEqual([["$inputs", "k", "missing_input"]]);
});
