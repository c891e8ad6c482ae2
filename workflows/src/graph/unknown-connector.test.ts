import { expect, it } from "vitest";
import { tinyAdvert, tinyCatalog, vqaSpec } from "../fixtures.js";
import { runRule, specWith, triples } from "./test-helpers.js";
import { pickConnector, unknownConnector } from "./unknown-connector.js";

it("passes the default connector and a named one that docks the encoder", () => {
  expect(runRule(unknownConnector, vqaSpec(), undefined, tinyCatalog)).toEqual([]);
  const spec = specWith((s) => void (s[1] = { id: "dock", op: "connect", from: "see", connector: "vision" }));
  expect(runRule(unknownConnector, spec, undefined, tinyCatalog)).toEqual([]);
});

it("reports an unknown connector and one that docks another encoder", () => {
  const unknown = specWith((s) => void (s[1] = { id: "dock", op: "connect", from: "see", connector: "nope" }));
  expect(triples(runRule(unknownConnector, unknown, undefined, tinyCatalog))).toEqual([["dock", "connector", "unknown_connector"]]);
  const wrong = specWith((s) => void (s[1] = { id: "dock", op: "connect", from: "see", connector: "text" }));
  const issues = runRule(unknownConnector, wrong, undefined, tinyCatalog);
  expect(issues[0]?.message).toBe("connector 'text' docks encoder 'text', not 'vision'");
});

it("reports a model with no connector for the encoder", () => {
  const catalog = { "metalm-tiny": { ...tinyAdvert, connectors: [{ name: "text", encoder: "text" }] } };
  expect(triples(runRule(unknownConnector, vqaSpec(), undefined, catalog))).toEqual([["dock", "from", "unknown_connector"]]);
});

it("pickConnector picks the first that docks the encoder", () => {
  expect(pickConnector(tinyAdvert, "text")?.name).toBe("text");
  expect(pickConnector(tinyAdvert, "vision", "text")).toBeUndefined();
});
