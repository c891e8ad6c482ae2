/** Test helpers: the tiny random-weight fixture package (gpu-worker/fixtures/tiny) and its reference. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import type { Segment } from "../../../workflows/index.js";
import { loadPackage, type ModelPackage } from "../package/load.js";
import { sha256Hex } from "../../../workflows/index.js";
import { ModelRuntime, type RuntimeOptions } from "../ops/runtime.js";

export const FIXTURE_DIR = fileURLToPath(new URL("../../fixtures/tiny", import.meta.url));

export interface Reference {
  images: Record<string, { width: number; height: number; channels: number; pixels: number[] }>;
  encodings: Record<string, { text?: string; input_ids?: number[]; encode: Summary; connect: Summary }>;
  cases: {
    name: string;
    segments: ({ span: string } | { text: string })[];
    promptLength: number;
    firstLogits: number[];
    greedy: { maxTokens: number; tokens: number[]; text: string; logprobs: number[]; finishReason: string };
  }[];
  minGreedyMargin: number;
  tolerance: { logits: number };
}
interface Summary {
  shape: number[];
  norm: number;
  mean: number;
  std: number;
  first: number[];
}

/** A package's reference.json with its images as PNG bytes and a `getBlob` serving them. */
export function referenceKit(dir: string) {
  const reference: Reference = JSON.parse(readFileSync(`${dir}/reference.json`, "utf8"));
  // lossless PNGs, so the encoder sees exactly the reference pixels
  const pngs: Record<string, Buffer> = Object.fromEntries(
    Object.entries(reference.images).map(([name, img]) => {
      const png = new PNG({ width: img.width, height: img.height });
      for (let p = 0; p < img.width * img.height; p++) {
        for (let c = 0; c < 3; c++) png.data[p * 4 + c] = img.pixels[p * 3 + c]!;
        png.data[p * 4 + 3] = 255;
      }
      return [name, PNG.sync.write(png)];
    }),
  );
  const blobs = new Map<string, Uint8Array>(Object.values(pngs).map((b) => [sha256Hex(b), b]));
  const getBlob = async (sha: string): Promise<Uint8Array> => {
    const b = blobs.get(sha);
    if (!b) throw new Error(`no blob ${sha}`);
    return b;
  };
  /** Reference segment names ("vision:a", "text:premise") → wire segments. */
  const toSegments = (p: ModelPackage, segs: Reference["cases"][number]["segments"]): Segment[] =>
    segs.map((s) => {
      if ("text" in s) return { kind: "text", text: s.text };
      const [encoder, name] = s.span.split(":") as [string, string];
      const source =
        encoder === "vision"
          ? { model: p.manifest.name, encoder, image: { sha256: sha256Hex(pngs[name]!) } }
          : { model: p.manifest.name, encoder, text: reference.encodings[s.span]!.text! };
      return { kind: "span", recipe: { connector: encoder, source } };
    });
  return { reference, pngs, blobs, getBlob, toSegments };
}

const kit = referenceKit(FIXTURE_DIR);
export const reference = kit.reference;
export const referencePngs = kit.pngs;
export const blobs = kit.blobs;
export const getBlob = kit.getBlob;
export const toSegments = kit.toSegments;

let pkg: Promise<ModelPackage> | undefined;
/** The fixture package, loaded once per test file. */
export const fixturePackage = (): Promise<ModelPackage> =>
  (pkg ??= loadPackage(FIXTURE_DIR, { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1 }));

export async function fixtureRuntime(opts: RuntimeOptions = {}): Promise<ModelRuntime> {
  return new ModelRuntime(await fixturePackage(), { getBlob, ...opts });
}

export const greedy = (maxTokens: number, extra: Partial<{ stop: string[]; seed: number; temperature: number; topK: number; topP: number }> = {}) => ({
  maxTokens,
  temperature: 0,
  topK: 0,
  topP: 1,
  seed: 0,
  stop: [],
  ...extra,
});
