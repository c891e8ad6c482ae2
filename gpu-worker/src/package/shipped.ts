/**
 * Where the service's shipped model package lives, the random-weight fixture it falls back on,
 * and the advert a worker serving a package registers (for `npm start`, the benchmarks and tests
 * that validate against a package without loading its graphs).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ModelAdvert } from "../../../workflows/index.js";
import { readVerifiedManifest } from "./load.js";

export const SHIPPED_MODEL_DIR = fileURLToPath(new URL("../../models/metalm-tiny", import.meta.url));
export const FIXTURE_MODEL_DIR = fileURLToPath(new URL("../../fixtures/tiny", import.meta.url));

/** The shipped model's folder if it holds a package, else the random-weight fixture (`fixture: true`). */
export function shippedOrFixture(): { dir: string; fixture: boolean } {
  return existsSync(join(SHIPPED_MODEL_DIR, "manifest.json")) ? { dir: SHIPPED_MODEL_DIR, fixture: false } : { dir: FIXTURE_MODEL_DIR, fixture: true };
}

/** The advert a worker serving the package in `dir` registers (what validation checks against), without loading any graph. */
export async function advertOfPackage(dir: string): Promise<ModelAdvert> {
  const { manifest: m, sha256 } = await readVerifiedManifest(dir);
  return {
    name: m.name,
    version: m.version,
    sha256,
    encoders: m.encoders.map((e) => ({ name: e.name, modality: e.modality, hiddenSize: e.hiddenSize })),
    connectors: m.connectors.map((c) => ({ name: c.name, encoder: c.encoder })),
    ops: ["encode", "connect", "decode", "explain"],
    vocabSize: m.decoder.vocabSize,
  };
}
