import { expect, it } from "vitest";
import { tinyAdvert, tinyCatalog, vqaSpec } from "../fixtures.js";
import { runRule, specWith, triples } from "./test-helpers.js";
import { unknownEncoder } from "./unknown-encoder.js";

it("passes the example", () => {
  expect(runRule(unknownEncoder, vqaSpec(), undefined, tinyCatalog)).toEqual([]);
});

it("reports an unknown encoder", () => {
  const spec = specWith((s) => void (s[0] = { ...s[0]!, encoder: "audio" } as never));
  const issues = runRule(unknownEncoder, spec, undefined, tinyCatalog);
  expect(triples(issues)).toEqual([["see", "encoder", "unknown_encoder"]]);
  expect(issues[0]?.message).toMatch(/has: vision, text/);
});

it("checks image/text against the encoder's modality", () => {
  const spec = specWith((s) => {
    s[0] = { ...s[0]!, text: "a caption" } as never; // vision encoder takes no text
    s.push({ id: "t", op: "encode", model: "metalm-tiny", encoder: "text", image: "{{inputs.image}}" });
  });
  expect(triples(runRule(unknownEncoder, spec, undefined, tinyCatalog))).toEqual([
    ["see", "text", "type_mismatch"],
    ["t", "image", "type_mismatch"],
    ["t", "text", "type_mismatch"],
  ]);
});

it("an image+text encoder needs both", () => {
  const catalog = { "metalm-tiny": { ...tinyAdvert, encoders: [{ name: "vision", modality: "image+text" as const, hiddenSize: 8 }] } };
  expect(triples(runRule(unknownEncoder, vqaSpec(), undefined, catalog))).toEqual([["see", "text", "type_mismatch"]]);
});
