/**
 * Specs that passed validation, kept so that posting the same spec again (the common case: a
 * client runs one workflow over many images) does not parse and check it again. An entry is
 * `checkSpec`'s answer (workflows/src/graph/validate.ts) for one tenant, one model catalog and one
 * spec, keyed by all three as JSON text: a changed catalog (a worker came or went, a model
 * changed) is another key, so a stale answer is never served; input values are checked on every
 * request (`checkInputs`). Only passing specs are kept: a rejected one is validated in full each
 * time, so its errors are exactly `validateWorkflow`'s. Bounded in bytes (edge/limits/memory.ts).
 *
 * @example
 * const r = validateCached(c.var.caches.specs, tenantId, specJson, inputs, catalog);
 */
import { checkInputs, checkSpec, validateWorkflow, type CheckedSpec, type ModelCatalog, type ValidationResult } from "../../workflows/index.js";
import { ByteLru } from "./byte-lru.js";

/** Byte budget of the cache, and the largest spec (as JSON text) it keeps. */
export const SPEC_CACHE_BYTES = 4 << 20;
export const SPEC_CACHE_ENTRY_BYTES = 64 << 10;

interface Entry {
  checked: CheckedSpec;
  /** Bytes accounted: the key (a JS string, ≤ 2 bytes a character) and the parsed spec (about as much again). */
  size: number;
}
export type SpecCache = ByteLru<Entry>;

export const newSpecCache = (limitBytes = SPEC_CACHE_BYTES): SpecCache => new ByteLru<Entry>(limitBytes, (e) => e.size, SPEC_CACHE_ENTRY_BYTES * 4);

/**
 * `validateWorkflow(specJson, inputs, catalog)`, with the input-independent half cached. `specJson`
 * must be JSON-faithful (parsed from JSON text: a request body or a stored row), since it is keyed
 * by its `JSON.stringify`.
 */
export function validateCached(
  cache: SpecCache,
  tenantId: string,
  specJson: unknown,
  inputs: Readonly<Record<string, unknown>>,
  catalog: ModelCatalog,
): ValidationResult {
  const specText = JSON.stringify(specJson);
  if (specText === undefined || specText.length > SPEC_CACHE_ENTRY_BYTES) return validateWorkflow(specJson, inputs, catalog);
  const key = `${tenantId}\u0000${JSON.stringify(catalog)}\u0000${specText}`;
  let hit = cache.get(key);
  if (!hit) {
    const pre = checkSpec(specJson, catalog);
    if (!("spec" in pre)) return validateWorkflow(specJson, inputs, catalog);
    deepFreeze(pre.spec);
    hit = { checked: pre, size: 4 * key.length + 256 };
    cache.set(key, hit);
  }
  return checkInputs(hit.checked, inputs);
}

/** The checked spec is shared by every run made from it: nothing may change it in place. */
function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== "object" || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}
