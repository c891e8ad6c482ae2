/**
 * The image preprocessing as first written (one object per output index, one channel at a time,
 * no opaque-pixel shortcut). Not used by the worker: it is the oracle that preprocess.ts's faster
 * loops must match bit for bit (preprocess.test.ts), so encoder outputs and the eval do not move,
 * and the "before" side of `npx tsx bench/image.ts`.
 */
import type { Rgba } from "./decode.js";

export function preprocessReference(
  img: Rgba,
  spec: { size: number; mean: readonly number[]; std: readonly number[]; background?: readonly number[] },
): Float32Array {
  const bg = spec.background ?? [0, 0, 0];
  const n = img.width * img.height;
  const rgb = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    const a = img.data[p * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = img.data[p * 4 + c]! * a + bg[c]! * (1 - a);
  }
  const weights = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    return Array.from({ length: outSize }, (_, o) => {
      if (scale > 1) {
        const a = o * scale;
        const b = (o + 1) * scale;
        const lo = Math.floor(a);
        const hi = Math.min(inSize, Math.ceil(b));
        const w = new Float32Array(hi - lo);
        for (let i = lo; i < hi; i++) w[i - lo] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
        return { start: lo, w };
      }
      const x = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const lo = Math.floor(x);
      const f = x - lo;
      return { start: lo, w: lo + 1 < inSize && f > 0 ? Float32Array.of(1 - f, f) : Float32Array.of(1) };
    });
  };
  const S = spec.size;
  let res = rgb;
  if (img.width !== S || img.height !== S) {
    const wx = weights(img.width, S);
    const wy = weights(img.height, S);
    const tmp = new Float32Array(img.height * S * 3);
    for (let y = 0; y < img.height; y++)
      for (let x = 0; x < S; x++)
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let k = 0; k < wx[x]!.w.length; k++) acc += wx[x]!.w[k]! * rgb[(y * img.width + wx[x]!.start + k) * 3 + c]!;
          tmp[(y * S + x) * 3 + c] = acc;
        }
    res = new Float32Array(S * S * 3);
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let k = 0; k < wy[y]!.w.length; k++) acc += wy[y]!.w[k]! * tmp[((wy[y]!.start + k) * S + x) * 3 + c]!;
          res[(y * S + x) * 3 + c] = acc;
        }
  }
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) for (let p = 0; p < S * S; p++) out[c * S * S + p] = (res[p * 3 + c]! / 255 - spec.mean[c]!) / spec.std[c]!;
  return out;
}
