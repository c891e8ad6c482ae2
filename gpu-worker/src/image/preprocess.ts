/**
 * Image preprocessing to the encoder's input: alpha compositing, resizing to S×S, mean/std
 * normalisation, NCHW float32 layout.
 *
 * Resize is separable: bilinear when upscaling, exact area-averaging when downscaling, so a
 * 256×256 rendering does not alias when shrunk to 64×64.
 */
import type { Rgba } from "./decode.js";

export interface PreprocessSpec {
  size: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** RGB (0–255) that transparent pixels are composited onto. Default black: the world's backgrounds are dark. */
  background?: readonly [number, number, number];
}

/** RGBA → RGB float (0–255), alpha composited over `background`. */
export function compositeRgb(img: Rgba, background: readonly [number, number, number] = [0, 0, 0]): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    const a = img.data[p * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) out[p * 3 + c] = img.data[p * 4 + c]! * a + background[c]! * (1 - a);
  }
  return out;
}

/**
 * For each output index: first source index and normalised weights of the source pixels it uses.
 * Downscaling: box filter with fractional coverage (exact area average, like OpenCV INTER_AREA).
 * Upscaling: bilinear with half-pixel centres and edge clamping (like torch align_corners=False).
 */
function filterWeights(inSize: number, outSize: number): { start: number; w: Float32Array }[] {
  const scale = inSize / outSize;
  const res: { start: number; w: Float32Array }[] = [];
  for (let o = 0; o < outSize; o++) {
    if (scale > 1) {
      const a = o * scale;
      const b = (o + 1) * scale;
      const lo = Math.floor(a);
      const hi = Math.min(inSize, Math.ceil(b));
      const w = new Float32Array(hi - lo);
      for (let i = lo; i < hi; i++) w[i - lo] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
      res.push({ start: lo, w });
    } else {
      const x = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const lo = Math.floor(x);
      const f = x - lo;
      if (lo + 1 < inSize && f > 0) res.push({ start: lo, w: Float32Array.of(1 - f, f) });
      else res.push({ start: lo, w: Float32Array.of(1) });
    }
  }
  return res;
}

/** Resizes an interleaved RGB float image (H×W×3) to outH×outW. */
export function resizeRgb(src: Float32Array, width: number, height: number, outW: number, outH: number): Float32Array {
  if (width === outW && height === outH) return src;
  const wx = filterWeights(width, outW);
  const wy = filterWeights(height, outH);
  const tmp = new Float32Array(height * outW * 3); // horizontal pass
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outW; x++) {
      const { start, w } = wx[x]!;
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = 0; k < w.length; k++) acc += w[k]! * src[(y * width + start + k) * 3 + c]!;
        tmp[(y * outW + x) * 3 + c] = acc;
      }
    }
  }
  const out = new Float32Array(outH * outW * 3); // vertical pass
  for (let y = 0; y < outH; y++) {
    const { start, w } = wy[y]!;
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = 0; k < w.length; k++) acc += w[k]! * tmp[((start + k) * outW + x) * 3 + c]!;
        out[(y * outW + x) * 3 + c] = acc;
      }
    }
  }
  return out;
}

/**
 * Decoded RGBA → normalised NCHW float32 [1, 3, S, S]: `(v / 255 - mean[c]) / std[c]`.
 * @example const pixels = preprocessImage(decodeImage(bytes), { size: 64, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
 */
export function preprocessImage(img: Rgba, spec: PreprocessSpec): Float32Array {
  const S = spec.size;
  const rgb = resizeRgb(compositeRgb(img, spec.background), img.width, img.height, S, S);
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const m = spec.mean[c]!;
    const s = spec.std[c]!;
    for (let p = 0; p < S * S; p++) out[c * S * S + p] = (rgb[p * 3 + c]! / 255 - m) / s;
  }
  return out;
}

/** A stable description of the preprocessing, part of the encoder-cache key. */
export function preprocessKey(spec: PreprocessSpec): string {
  return JSON.stringify({ v: 1, size: spec.size, mean: spec.mean, std: spec.std, bg: spec.background ?? [0, 0, 0], resize: "bilinear-up/area-down" });
}
