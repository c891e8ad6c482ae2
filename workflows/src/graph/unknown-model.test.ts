import { expect, it } from "vitest";
import { tinyAdvert, tinyCatalog, vqaSpec } from "../fixtures.js";
import { runRule, specWith, triples } from "./test-helpers.js";
import { unknownModel } from "./unknown-model.js";

it("is skipped without a catalog and passes with the right one", () => {
  expect(
    runRule(
      unknownModel,
      specWith((s) => void (s[0] = { ...s[0]!, model: "x" } as never)),
    ),
  ).toEqual([]);
  expect(runRule(unknownModel, vqaSpec(), undefined, tinyCatalog)).toEqual([]);
});

it("reports unknown models on the step that names them (not on connect)", () => {
  const spec = specWith((s) => {
    s[0] = { ...s[0]!, model: "metalm-huge" } as never;
    s[3] = { ...s[3]!, model: "metalm-huge" } as never;
  });
  const issues = runRule(unknownModel, spec, undefined, tinyCatalog);
  expect(triples(issues)).toEqual([
    ["see", "model", "unknown_model"],
    ["why", "model", "unknown_model"],
  ]);
  expect(issues[0]?.message).toMatch(/loaded: metalm-tiny/);
});

it("reports ops the model does not support", () => {
  const catalog = { "metalm-tiny": { ...tinyAdvert, ops: ["encode" as const, "decode" as const] } };
  expect(triples(runRule(unknownModel, vqaSpec(), undefined, catalog))).toEqual([
    ["dock", "from", "unsupported_op"],
    ["why", "model", "unsupported_op"],
  ]);
});

it("treats catalog keys as data (no prototype lookups)", () => {
  const spec = specWith((s) => void (s[0] = { ...s[0]!, model: "constructor" } as never));
  expect(triples(runRule(unknownModel, spec, undefined, tinyCatalog))).toEqual([["see", "model", "unknown_model"]]);
});
