import { expect, it } from "vitest";
import { tinyCatalog, vqaSpec } from "../fixtures.js";
import { modelParams } from "./model-params.js";
import { runRule, specWith, triples } from "./test-helpers.js";

it("topK must not exceed the advertised vocabulary", () => {
  expect(runRule(modelParams, vqaSpec(), undefined, tinyCatalog)).toEqual([]);
  const spec = specWith((s) => void (s[2] = { ...s[2]!, params: { topK: 121 } } as never));
  expect(triples(runRule(modelParams, spec, undefined, tinyCatalog))).toEqual([["answer", "params.topK", "param_range"]]);
  const ok = specWith((s) => void (s[2] = { ...s[2]!, params: { topK: 120 } } as never));
  expect(runRule(modelParams, ok, undefined, tinyCatalog)).toEqual([]);
});
