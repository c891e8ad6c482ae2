/**
 * The example workflows (`<name>.json`) and their committed sample inputs (`samples/<name>.json`, the
 * images beside the specs, rendered by `make-samples.ts`), for the README, the CLI, the end-to-end test and the
 * benchmarks. Unlike the rest of `workflows/`, this module reads files: it is not part of the
 * pure core and `workflows/index.ts` does not export it.
 *
 * @example
 * const { spec, sample } = loadExample("vqa");
 * const { values, files } = sampleInputs(sample); // files.image: the PNG bytes of vqa.png
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Scene } from "../../gpu-worker/eval/shapes.js";
import { readVerifiedManifest } from "../../gpu-worker/src/package/load.js";
import type { ModelAdvert } from "../index.js";

export const EXAMPLES_DIR = fileURLToPath(new URL(".", import.meta.url));
export const EXAMPLES = ["vqa", "vqa-then-explain", "caption", "few-shot", "text-nli"] as const;
export type ExampleName = (typeof EXAMPLES)[number];

/** The model name the examples are written for (the shipped package's manifest name). */
export const EXAMPLE_MODEL = "metalm-tiny";

export interface Sample {
  /** Input values; `@file` is a file in this folder (as in curl's `-F name=@file` and the CLI's `--input`). */
  inputs: Record<string, string>;
  /** The scene drawn in each image input. */
  scenes: Record<string, Scene>;
  /** Ground truth for the run's outputs (by output name). */
  expected: Record<string, string>;
}

export function loadExample(name: ExampleName): { spec: unknown; sample: Sample; specPath: string } {
  const specPath = join(EXAMPLES_DIR, `${name}.json`);
  return {
    spec: JSON.parse(readFileSync(specPath, "utf8")) as unknown,
    sample: JSON.parse(readFileSync(join(EXAMPLES_DIR, "samples", `${name}.json`), "utf8")) as Sample,
    specPath,
  };
}

/** Splits input values into text values and file contents (`@file`, relative to `dir`). */
export function sampleInputs(sample: Sample, dir = EXAMPLES_DIR): { values: Record<string, string>; files: Record<string, Uint8Array> } {
  const values: Record<string, string> = {};
  const files: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(sample.inputs)) {
    if (v.startsWith("@")) files[k] = new Uint8Array(readFileSync(join(dir, v.slice(1))));
    else values[k] = v;
  }
  return { values, files };
}

/**
 * The spec with every step's `model` replaced (e.g. to run the examples on the random-weight
 * fixture package, whose manifest name is `metalm-tiny-fixture`). Returns a copy.
 */
export function withModel<T>(spec: T, model: string): T {
  const copy = structuredClone(spec) as { steps?: Array<Record<string, unknown>> };
  for (const s of copy.steps ?? []) if (typeof s.model === "string") s.model = model;
  return copy as T;
}

/** Where the service's shipped model lives, and the fixture it falls back on. */
export const SHIPPED_MODEL_DIR = fileURLToPath(new URL("../../gpu-worker/models/metalm-tiny", import.meta.url));
export const FIXTURE_MODEL_DIR = fileURLToPath(new URL("../../gpu-worker/fixtures/tiny", import.meta.url));

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
