import { expect, it } from "vitest";
import { vqaSpec } from "../fixtures.js";
import { duplicateIds } from "./duplicate-ids.js";
import { runRule, specWith, triples } from "./test-helpers.js";

it("passes unique ids", () => {
  expect(runRule(duplicateIds, vqaSpec())).toEqual([]);
});

it("reports every repeat of an id, not the first occurrence", () => {
  const spec = specWith((s) => {
    s.push({ ...s[0]!, id: "see" }, { ...s[1]!, id: "see" });
  });
  const issues = runRule(duplicateIds, spec);
  expect(triples(issues)).toEqual([
    ["see", "id", "duplicate_id"],
    ["see", "id", "duplicate_id"],
  ]);
  expect(issues[0]?.message).toMatch(/steps\[4\] repeats steps\[0\]/);
});
