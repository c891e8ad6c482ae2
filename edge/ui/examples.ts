/**
 * Example workflows for the new-run page: `workflows/examples/*.json` (bare specs), read when the
 * page is rendered so a new example shows up without a restart. On a runtime without a file
 * system (Workers) the list is simply empty and the page falls back to saved workflows.
 */
export interface Example {
  /** File name without `.json`. */
  name: string;
  description: string | undefined;
  /** The file's text, as written (so its layout survives into the editor). */
  text: string;
  /** Sample inputs (`samples/<name>.json`): text values, and `@file` for images beside the spec. */
  sample?: { inputs: Record<string, string>; expected: Record<string, string> };
}

/** Names of sample files the UI may serve (images beside the specs). */
export const SAMPLE_FILE_RE = /^[a-z0-9][a-z0-9_-]{0,80}\.(png|jpe?g)$/;

const DIR = new URL("../../workflows/examples/", import.meta.url);

export async function loadExamples(dir: URL = DIR): Promise<Example[]> {
  try {
    const fs = await import("node:fs/promises");
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith(".json")).sort();
    const out: Example[] = [];
    for (const f of files) {
      const text = await fs.readFile(new URL(f, dir), "utf8");
      let description: string | undefined;
      try {
        const j = JSON.parse(text) as { description?: unknown };
        if (typeof j.description === "string") description = j.description;
      } catch {
        continue; // a broken example is skipped, not shown
      }
      const name = f.slice(0, -".json".length);
      out.push({ name, description, text, sample: await readSample(fs, new URL(`samples/${f}`, dir)) });
    }
    // the flagship example first
    return out.sort((a, b) => Number(b.name === "vqa-then-explain") - Number(a.name === "vqa-then-explain"));
  } catch {
    return [];
  }
}

async function readSample(fs: typeof import("node:fs/promises"), url: URL): Promise<Example["sample"]> {
  try {
    const j = JSON.parse(await fs.readFile(url, "utf8")) as { inputs?: unknown; expected?: unknown };
    const strings = (o: unknown) =>
      Object.fromEntries(Object.entries(o && typeof o === "object" ? o : {}).filter((e): e is [string, string] => typeof e[1] === "string"));
    return { inputs: strings(j.inputs), expected: strings(j.expected) };
  } catch {
    return undefined;
  }
}

/** The bytes of a sample image beside the examples, or undefined. */
export async function readSampleFile(file: string, dir: URL = DIR): Promise<Uint8Array | undefined> {
  if (!SAMPLE_FILE_RE.test(file)) return undefined;
  try {
    const fs = await import("node:fs/promises");
    return new Uint8Array(await fs.readFile(new URL(file, dir)));
  } catch {
    return undefined;
  }
}
