/**
 * PNG decoding for the worker, side by side in one run (`npx tsx bench/image.ts`): pngjs (what
 * every PNG went through before) vs `decodePngFast` (gpu-worker/src/image/png.ts: native inflate
 * and CRC, one unfilter loop), on the scenes the benchmarks send (128×128 RGBA renderings, fresh
 * seeds); then the rest of the image path, composite → resize to the encoder's 64×64 → normalise:
 * `preprocessReference` (the loops as first written, kept as the oracle) vs `preprocessImage`
 * (flat filter tables kept per size, three channels per pass, opaque pixels copied); both pairs
 * give the same bytes, checked before timing. Rounds alternate the order within each pair; each
 * one's best round is reported, per image, wall time on this thread.
 * Env: BENCH_IMAGES (images per round, default 100), BENCH_ROUNDS (default 7), BENCH_SIZE (128).
 */
import { PNG } from "pngjs";
import { randomScene, renderPng, rng } from "../gpu-worker/eval/shapes.js";
import { decodePngFast } from "../gpu-worker/src/image/png.js";
import { preprocessImage } from "../gpu-worker/src/image/preprocess.js";
import { preprocessReference } from "../gpu-worker/src/image/preprocess-reference.js";

const N = Number(process.env.BENCH_IMAGES ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SIZE = Number(process.env.BENCH_SIZE ?? 128);
const images = Array.from({ length: N }, (_, s) => new Uint8Array(renderPng(randomScene(rng(1000 + s)), { size: SIZE, seed: 1000 + s })));
const spec = { size: 64, mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const };

const ways = {
  pngjs: (b: Uint8Array) => {
    const p = PNG.sync.read(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return { width: p.width, height: p.height, data: new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength) };
  },
  fast: (b: Uint8Array) => decodePngFast(b)!,
};
// the two agree on every image before anything is timed
for (const b of images) {
  const a = ways.pngjs(b);
  const f = ways.fast(b);
  if (!f || !Buffer.from(a.data).equals(Buffer.from(f.data))) throw new Error("decodePngFast differs from pngjs");
}
const decoded = images.map(ways.fast);
const pre = { reference: (d: (typeof decoded)[number]) => preprocessReference(d, spec), current: (d: (typeof decoded)[number]) => preprocessImage(d, spec) };
for (const d of decoded)
  if (!Buffer.from(pre.reference(d).buffer).equals(Buffer.from(pre.current(d).buffer))) throw new Error("preprocessImage differs from preprocessReference");
const best = { pngjs: Infinity, fast: Infinity, reference: Infinity, current: Infinity };
for (let r = 0; r < ROUNDS; r++) {
  for (const k of r % 2 ? (["fast", "pngjs"] as const) : (["pngjs", "fast"] as const)) {
    const t0 = performance.now();
    for (const b of images) ways[k](b);
    best[k] = Math.min(best[k], (performance.now() - t0) / N);
  }
  for (const k of r % 2 ? (["current", "reference"] as const) : (["reference", "current"] as const)) {
    const t0 = performance.now();
    for (const d of decoded) pre[k](d);
    best[k] = Math.min(best[k], (performance.now() - t0) / N);
  }
}
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
console.log(
  `bench/image: ${N} rendered ${SIZE}×${SIZE} PNGs (${Math.round(images.reduce((a, b) => a + b.length, 0) / N)} bytes each), best of ${ROUNDS} alternated rounds, per image:`,
);
console.log(`  decode with pngjs           ${us(best.pngjs)}`);
console.log(`  decode with decodePngFast   ${us(best.fast)}   → ${(best.pngjs / best.fast).toFixed(2)}× faster, same pixels`);
console.log(`  preprocessReference         ${us(best.reference)} (composite, resize to 64×64, normalise)`);
console.log(`  preprocessImage             ${us(best.current)}   → ${(best.reference / best.current).toFixed(2)}× faster, same bytes`);
console.log(`  the image path per scene: ${us(best.pngjs + best.reference)} before → ${us(best.fast + best.current)} now`);
