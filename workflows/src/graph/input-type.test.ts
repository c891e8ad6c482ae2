import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { inputType } from "./input-type.js";
import { runRule, triples } from "./test-helpers.js";

it("passes values of the declared types", () => {
  expect(runRule(inputType, vqaSpec(), { image: { sha256: "b".repeat(64), mime: "image/png" }, question: "q", n: 2 })).toEqual([]);
});

it("reports each value of the wrong type", () => {
  const issues = runRule(inputType, vqaSpec(), { image: "data:image/png;base64,xx", question: 3, n: "2" });
  expect(triples(issues)).toEqual([
    ["$inputs", "image", "input_type"],
    ["$inputs", "question", "input_type"],
    ["$inputs", "n", "input_type"],
  ]);
  expect(issues[2]?.message).toBe("input 'n' must be number, got text");
});

it("rejects non-finite numbers", () => {
  expect(triples(runRule(inputType, vqaSpec(), { image: { sha256: "b".repeat(64), mime: "image/png" }, n: Number.NaN }))).toEqual([
    ["$inputs", "n", "input_type"],
  ]);
});
