import { expect, it } from "vitest";
import { catalogFrom, validateWorkflow } from "../../workflows/index.js";
import { tinyAdvert, tinyCatalog, vqaSpec } from "../../workflows/src/fixtures.js";
import { newSpecCache, validateCached } from "./spec-cache.js";

const image = { sha256: "b".repeat(64), mime: "image/png" };

it("validates a spec once per tenant + catalog, then only the inputs", () => {
  const cache = newSpecCache();
  const a = validateCached(cache, "t1", vqaSpec(), { image }, tinyCatalog);
  expect(a).toEqual(validateWorkflow(vqaSpec(), { image }, tinyCatalog));
  expect(cache.size).toBe(1);
  const b = validateCached(cache, "t1", vqaSpec(), { image, question: "what colour?" }, tinyCatalog);
  expect(cache.size).toBe(1);
  expect(b.ok && a.ok && b.spec).toBe(a.ok && a.spec); // the same checked spec, shared
  expect(b.ok && Object.isFrozen(b.spec.steps[0])).toBe(true);
  // another tenant is another entry
  validateCached(cache, "t2", vqaSpec(), { image }, tinyCatalog);
  expect(cache.size).toBe(2);
});

it("a changed catalog is another key: no stale answer", () => {
  const cache = newSpecCache();
  expect(validateCached(cache, "t", vqaSpec(), { image }, tinyCatalog).ok).toBe(true);
  const gone = validateCached(cache, "t", vqaSpec(), { image }, {});
  expect(gone).toEqual(validateWorkflow(vqaSpec(), { image }, {}));
  expect(gone.ok).toBe(false);
  const changed = catalogFrom([{ ...tinyAdvert, encoders: [] }]);
  const r = validateCached(cache, "t", vqaSpec(), { image }, changed);
  expect(r).toEqual(validateWorkflow(vqaSpec(), { image }, changed));
  expect(r.ok).toBe(false);
});

it("errors are validateWorkflow's, cached spec or not", () => {
  const cache = newSpecCache();
  validateCached(cache, "t", vqaSpec(), { image }, tinyCatalog);
  for (const inputs of [{}, { image: 5 }, { image, nope: "x" }] as Record<string, unknown>[]) {
    const r = validateCached(cache, "t", vqaSpec(), inputs, tinyCatalog);
    const w = validateWorkflow(vqaSpec(), inputs, tinyCatalog);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual(!w.ok && w.errors);
  }
  const bad = vqaSpec();
  bad.steps[1] = { id: "dock", op: "connect", from: "nowhere" };
  const r = validateCached(cache, "t", bad, { image }, tinyCatalog);
  expect(!r.ok && r.errors).toEqual(
    !validateWorkflow(bad, { image }, tinyCatalog).ok && (validateWorkflow(bad, { image }, tinyCatalog) as { errors: unknown }).errors,
  );
  expect(cache.size).toBe(1); // rejected specs are not kept
});
