/**
 * The benchmarks' VQA workload, one definition for `bench/worker.ts` and `bench/gpu/bench.ts`:
 * 16 scene images (a colored disc on a dark background, as PNG, addressed by sha256), four
 * questions, and the wire segments and decode jobs built from them. Job `i` asks question
 * `i % 4` about image `i % 16`, so 64 jobs cover every (image, question) pair once.
 */
import { PNG } from "pngjs";
import { sha256Hex, type Job, type Segment } from "../workflows/index.js";
import type { Manifest } from "../gpu-worker/src/package/manifest.js";

export const QUESTIONS = ["what color is the circle?", "what shape is on the left?", "how many objects are there?", "what is in the middle?"];

/** Greedy sampling parameters for `maxTokens` tokens (no stop strings). */
export const greedy = (maxTokens: number) => ({ maxTokens, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] as string[] });

/** The shapes world's eight reference colours (SHAPES_WORLD.md), as the benches' scene discs use them. */
export const SCENE_COLORS = [
  [220, 40, 40],
  [40, 180, 60],
  [40, 70, 220],
  [230, 210, 40],
  [240, 140, 30],
  [150, 60, 190],
  [40, 200, 210],
  [235, 235, 235],
] as const;

/** A scene image: a colored disc on a dark background (PNG bytes). */
export function scene(i: number, size = 64): Uint8Array {
  const png = new PNG({ width: size, height: size });
  const c = SCENE_COLORS[i % SCENE_COLORS.length]!;
  const cx = ((i * 7) % 3) * (size / 3) + size / 6;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const inside = Math.hypot(x - cx, y - size / 2) < size / 8 + (i % 3);
      const p = (y * size + x) * 4;
      png.data[p] = inside ? c[0]! : 30 + (i % 5);
      png.data[p + 1] = inside ? c[1]! : 30;
      png.data[p + 2] = inside ? c[2]! : 30;
      png.data[p + 3] = 255;
    }
  return PNG.sync.write(png);
}

/** The scene images by sha256, and the runtime's blob fetcher over them (`RuntimeOptions.getBlob`). */
export interface Scenes {
  images: string[];
  getBlob: (sha256: string) => Promise<Uint8Array>;
}

/** `n` scene images (needs no model: a runtime can be created with `getBlob` before the workload). */
export function sceneImages(n = 16): Scenes {
  const blobs = new Map<string, Uint8Array>();
  const images = Array.from({ length: n }, (_, i) => {
    const b = scene(i);
    const sha = sha256Hex(b);
    blobs.set(sha, b);
    return sha;
  });
  const getBlob = async (sha: string) => {
    const b = blobs.get(sha);
    if (!b) throw new Error(`bench/vqa.ts: no scene image with sha256 ${sha}`);
    return b;
  };
  return { images, getBlob };
}

export interface VqaWorkload extends Scenes {
  visionEncoder: string;
  visionConnector: string;
  /** The image span of image `i % images.length`. */
  span: (i: number) => Segment;
  /** Job `i`'s prompt: its image span, then `question: … answer:`. */
  segments: (i: number) => Segment[];
  /** Decode job `i` (greedy, at most `maxTokens` tokens, stops at eos). */
  job: (i: number, maxTokens?: number) => Job;
}

/**
 * @example
 * const scenes = sceneImages();
 * const rt = new ModelRuntime(pkg, { getBlob: scenes.getBlob });
 * const w = vqaWorkload(pkg.manifest, scenes);
 * const results = await Promise.all(Array.from({ length: 64 }, (_, i) => batcher.submit({ job: w.job(i) })));
 */
export function vqaWorkload(manifest: Manifest, scenes: Scenes = sceneImages()): VqaWorkload {
  const { images } = scenes;
  const visionEncoder = manifest.encoders.find((e) => e.modality === "image")!.name;
  const visionConnector = manifest.connectors.find((c) => c.encoder === visionEncoder)!.name;
  const span = (i: number): Segment => ({
    kind: "span",
    recipe: { connector: visionConnector, source: { model: manifest.name, encoder: visionEncoder, image: { sha256: images[i % images.length]! } } },
  });
  const segments = (i: number): Segment[] => [span(i), { kind: "text", text: `question: ${QUESTIONS[i % QUESTIONS.length]} answer:` }];
  const job = (i: number, maxTokens = 8): Job => ({
    jobId: `j${i}`,
    leaseId: `l${i}`,
    runId: "r",
    stepId: "answer",
    attempt: 1,
    deadlineAt: Date.now() + 600_000,
    model: manifest.name,
    op: "decode",
    segments: segments(i),
    params: greedy(maxTokens),
  });
  return { ...scenes, visionEncoder, visionConnector, span, segments, job };
}
