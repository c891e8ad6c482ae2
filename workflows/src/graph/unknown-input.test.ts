import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { runRule, triples } from "./test-helpers.js";
import { unknownInput } from "./unknown-input.js";

it("reports values for undeclared inputs", () => {
  const issues = runRule(unknownInput, vqaSpec(), { image: { sha256: "b".repeat(64), mime: "image/png" }, qestion: "typo" });
  expect(triples(issues)).toEqual([["$inputs", "qestion", "unknown_input"]]);
  expect(issues[0]?.message).toMatch(/declared: image, question, n/);
});

it("does not fall for prototype names", () => {
  expect(triples(runRule(unknownInput, vqaSpec(), { toString: "x" }))).toEqual([["$inputs", "toString", "unknown_input"]]);
});
