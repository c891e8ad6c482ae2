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

/** RGBA → RGB float (0–255), alpha composited over `background`. An opaque pixel is copied: the formula gives it exactly (v·1 + bg·0). */
export function compositeRgb(img: Rgba, background: readonly [number, number, number] = [0, 0, 0]): Float32Array {
  const n = img.width * img.height;
  const d = img.data;
  const out = new Float32Array(n * 3);
  const [b0, b1, b2] = background;
  for (let p = 0, i = 0, o = 0; p < n; p++, i += 4, o += 3) {
    const alpha = d[i + 3]!;
    if (alpha === 255) {
      out[o] = d[i]!;
      out[o + 1] = d[i + 1]!;
      out[o + 2] = d[i + 2]!;
    } else {
      const a = alpha / 255;
      const na = 1 - a;
      out[o] = d[i]! * a + b0 * na;
      out[o + 1] = d[i + 1]! * a + b1 * na;
      out[o + 2] = d[i + 2]! * a + b2 * na;
    }
  }
  return out;
}

/** One axis of a resize: output o reads source pixels start[o] … start[o] + len[o] − 1 with weights w[off[o] …]. */
interface AxisFilter {
  start: Int32Array;
  len: Int32Array;
  off: Int32Array;
  w: Float32Array;
}
const filters = new Map<string, AxisFilter>();

/**
 * For each output index: first source index and normalised weights of the source pixels it uses.
 * Downscaling: box filter with fractional coverage (exact area average, like OpenCV INTER_AREA).
 * Upscaling: bilinear with half-pixel centres and edge clamping (like torch align_corners=False).
 * Kept per (inSize, outSize): an encoder sees the same few sizes again and again.
 */
function filterWeights(inSize: number, outSize: number): AxisFilter {
  const key = `${inSize}:${outSize}`;
  const hit = filters.get(key);
  if (hit) return hit;
  const scale = inSize / outSize;
  const start = new Int32Array(outSize);
  const len = new Int32Array(outSize);
  const off = new Int32Array(outSize);
  const ws: number[] = [];
  for (let o = 0; o < outSize; o++) {
    off[o] = ws.length;
    if (scale > 1) {
      const a = o * scale;
      const b = (o + 1) * scale;
      const lo = Math.floor(a);
      const hi = Math.min(inSize, Math.ceil(b));
      start[o] = lo;
      len[o] = hi - lo;
      for (let i = lo; i < hi; i++) ws.push((Math.min(b, i + 1) - Math.max(a, i)) / scale);
    } else {
      const x = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const lo = Math.floor(x);
      const f = x - lo;
      start[o] = lo;
      if (lo + 1 < inSize && f > 0) {
        len[o] = 2;
        ws.push(1 - f, f);
      } else {
        len[o] = 1;
        ws.push(1);
      }
    }
  }
  const res = { start, len, off, w: Float32Array.from(ws) };
  if (filters.size >= 64) filters.clear();
  filters.set(key, res);
  return res;
}

/** Resizes an interleaved RGB float image (H×W×3) to outH×outW. */
export function resizeRgb(src: Float32Array, width: number, height: number, outW: number, outH: number): Float32Array {
  if (width === outW && height === outH) return src;
  const tmp = new Float32Array(height * outW * 3);
  horizontal(src, width, height, filterWeights(width, outW), outW, tmp);
  const out = new Float32Array(outH * outW * 3);
  vertical(tmp, outW, filterWeights(height, outH), outH, out);
  return out;
}

// the two passes are functions of their own, so each is optimized with its loops' full feedback
function horizontal(src: Float32Array, width: number, height: number, fx: AxisFilter, outW: number, tmp: Float32Array): void {
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0, t = y * outW * 3; x < outW; x++, t += 3) {
      const s0 = row + fx.start[x]! * 3;
      const n = fx.len[x]!;
      const w0 = fx.off[x]!;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < n; k++) {
        const w = fx.w[w0 + k]!;
        const s = s0 + k * 3;
        r += w * src[s]!;
        g += w * src[s + 1]!;
        b += w * src[s + 2]!;
      }
      tmp[t] = r;
      tmp[t + 1] = g;
      tmp[t + 2] = b;
    }
  }
}

function vertical(tmp: Float32Array, outW: number, fy: AxisFilter, outH: number, out: Float32Array): void {
  const rowLen = outW * 3;
  for (let y = 0; y < outH; y++) {
    const s0 = fy.start[y]! * rowLen;
    const n = fy.len[y]!;
    const w0 = fy.off[y]!;
    const o0 = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += fy.w[w0 + k]! * tmp[s0 + k * rowLen + i]!;
      out[o0 + i] = acc;
    }
  }
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

const keys = new WeakMap<PreprocessSpec, string>();
/** A stable description of the preprocessing, part of the encoder-cache key (kept per spec object: a manifest's spec does not change). */
export function preprocessKey(spec: PreprocessSpec): string {
  let k = keys.get(spec);
  if (k === undefined) keys.set(spec, (k = describe(spec)));
  return k;
}
function describe(spec: PreprocessSpec): string {
  return JSON.stringify({ v: 1, size: spec.size, mean: spec.mean, std: spec.std, bg: spec.background ?? [0, 0, 0], resize: "bilinear-up/area-down" });
}
