/**
 * The example workflows (`<name>.json`, bare specs) and their committed sample inputs
 * (`samples/<name>.json`, images beside the specs, rendered by `gpu-worker/eval/make-samples.ts`):
 * the one loader for the UI's new-run page, `npm start`, the CLI's docs, the end-to-end test and
 * the benchmarks. Unlike the rest of `workflows/`, this module reads files, so it is not part of
 * the pure core and `workflows/index.ts` does not export it. The file system is imported on use:
 * on a runtime without one (Workers) the module still loads, `listExamples()` is empty and a
 * sample file is `undefined`.
 *
 * @example
 * const { spec, sample } = await loadExample("vqa");
 * const { values, files } = await sampleInputs(sample); // files.image: the PNG bytes of vqa.png
 */
export const EXAMPLES = ["vqa", "vqa-then-explain", "caption", "few-shot", "text-nli"] as const;
export type ExampleName = (typeof EXAMPLES)[number];

/** The model name the examples are written for (the shipped package's manifest name). */
export const EXAMPLE_MODEL = "metalm-tiny";

/** Names of sample files that may be read (images beside the specs). */
export const SAMPLE_FILE_RE = /^[a-z0-9][a-z0-9_-]{0,80}\.(png|jpe?g)$/;

export interface Sample {
  /** Input values; `@file` is a file in this folder (as in curl's `-F name=@file` and the CLI's `--input`). */
  inputs: Record<string, string>;
  /** The scene drawn in each image input (a `Scene` of gpu-worker/eval/shapes.ts). */
  scenes: Record<string, unknown>;
  /** Ground truth for the run's outputs (by output name). */
  expected: Record<string, string>;
}

export interface Example {
  /** File name without `.json`. */
  name: string;
  description: string | undefined;
  /** The file's text, as written (so its layout survives into the UI's editor). */
  text: string;
  spec: unknown;
  /** `samples/<name>.json`, when there is one. */
  sample: Sample | undefined;
}

const DIR = new URL("./", import.meta.url);
const fs = () => import("node:fs/promises");

/**
 * One example by name (throws when its spec is missing or is not JSON).
 *
 * @example
 * (await loadExample("caption")).sample?.expected.caption; // "a green triangle on the left, …"
 */
export async function loadExample(name: string, dir: URL = DIR): Promise<Example & { sample: Sample }> {
  const { readFile } = await fs();
  const text = await readFile(new URL(`${name}.json`, dir), "utf8");
  const spec = JSON.parse(text) as { description?: unknown };
  const sample = JSON.parse(await readFile(new URL(`samples/${name}.json`, dir), "utf8")) as Sample;
  return { name, description: typeof spec.description === "string" ? spec.description : undefined, text, spec, sample };
}

/** Every `*.json` in the folder (read now, so a new example shows up without a restart), the flagship first; [] without a file system. */
export async function listExamples(dir: URL = DIR): Promise<Example[]> {
  let files: string[];
  try {
    files = (await (await fs()).readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  } catch {
    return [];
  }
  const out: Example[] = [];
  for (const f of files) {
    const name = f.slice(0, -".json".length);
    const e = await loadExample(name, dir).catch(async () => {
      // a spec without samples is still listed; a broken spec is skipped, not shown
      try {
        const text = await (await fs()).readFile(new URL(f, dir), "utf8");
        const spec = JSON.parse(text) as { description?: unknown };
        return { name, description: typeof spec.description === "string" ? spec.description : undefined, text, spec, sample: undefined };
      } catch {
        return undefined;
      }
    });
    if (e) out.push(e);
  }
  return out.sort((a, b) => Number(b.name === "vqa-then-explain") - Number(a.name === "vqa-then-explain"));
}

/** The bytes of a sample file beside the examples, or undefined (bad name, missing, no file system). */
export async function readSampleFile(file: string, dir: URL = DIR): Promise<Uint8Array | undefined> {
  if (!SAMPLE_FILE_RE.test(file)) return undefined;
  try {
    return new Uint8Array(await (await fs()).readFile(new URL(file, dir)));
  } catch {
    return undefined;
  }
}

/** Splits a sample's input values into text values and file contents (`@file`, beside the examples). */
export async function sampleInputs(sample: Sample, dir: URL = DIR): Promise<{ values: Record<string, string>; files: Record<string, Uint8Array> }> {
  const values: Record<string, string> = {};
  const files: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(sample.inputs)) {
    if (!v.startsWith("@")) values[k] = v;
    else {
      const bytes = await readSampleFile(v.slice(1), dir);
      if (!bytes) throw new Error(`sample input ${k}: no file ${v.slice(1)} beside the examples`);
      files[k] = bytes;
    }
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
