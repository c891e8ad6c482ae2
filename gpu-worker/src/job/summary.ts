import type { TensorSummary } from "../../../workflows/index.js";

/**
 * Shape, L2 norm, mean and (population) std of a float32 tensor: what crosses the wire instead
 * of the tensor itself.
 * @example summarize({ data: Float32Array.of(3, 4), dims: [1, 2] }) // { shape: [1,2], norm: 5, mean: 3.5, std: 0.5, dtype: "float32" }
 */
export function summarize(t: { data: Float32Array; dims: readonly number[] }): TensorSummary {
  let sum = 0;
  let sq = 0;
  for (const v of t.data) {
    sum += v;
    sq += v * v;
  }
  const n = t.data.length || 1;
  const mean = sum / n;
  const variance = Math.max(0, sq / n - mean * mean);
  return { shape: [...t.dims], dtype: "float32", norm: Math.sqrt(sq), mean, std: Math.sqrt(variance) };
}
