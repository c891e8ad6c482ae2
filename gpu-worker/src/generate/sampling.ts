/**
 * Token selection: greedy, temperature, top-k, top-p, with a seeded PRNG per sequence so a job's
 * tokens depend only on its own seed (never on what else shared its batch).
 */

export interface SamplingParams {
  /** 0 = greedy (argmax, lowest id on ties). */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  seed: number;
}

/**
 * A small, fast, seeded PRNG (mulberry32). Reproducible across platforms: only 32-bit integer ops.
 * @example const rng = new Rng(42); rng.next(); // 0 ≤ x < 1
 */
export class Rng {
  private state: number;
  constructor(seed: number) {
    // mix the seed so nearby seeds (0, 1, 2…) give unrelated streams
    let s = (seed >>> 0) ^ 0x9e3779b9;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35);
    this.state = (s ^ (s >>> 16)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** log-softmax of one row of logits, in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/**
 * Picks the next token from one row of logits. The returned log-prob is always the log-softmax of
 * the *unscaled* logits (the model's own probability), whatever the sampling transform.
 * @example chooseToken(row, { temperature: 0.8, topK: 20, topP: 0.9, seed: 1 }, rng)
 */
export function chooseToken(logits: ArrayLike<number>, p: SamplingParams, rng: Rng): { id: number; logprob: number } {
  const lp = logSoftmax(logits);
  if (p.temperature <= 0) {
    const id = argmax(logits);
    return { id, logprob: lp[id]! };
  }
  const V = logits.length;
  // candidates sorted by logit desc, then id asc: a total order, so ties are deterministic
  const ids = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const k = p.topK > 0 ? Math.min(p.topK, V) : V;
  const kept = ids.slice(0, k);
  const top = logits[kept[0]!]! / p.temperature;
  const weights = kept.map((i) => Math.exp(logits[i]! / p.temperature - top));
  let total = weights.reduce((a, b) => a + b, 0);
  let n = kept.length;
  if (p.topP < 1) {
    let cum = 0;
    n = 0;
    while (n < kept.length) {
      cum += weights[n]! / total;
      n++;
      if (cum >= p.topP) break;
    }
    total = weights.slice(0, n).reduce((a, b) => a + b, 0);
  }
  let u = rng.next() * total;
  for (let j = 0; j < n; j++) {
    u -= weights[j]!;
    if (u < 0) return { id: kept[j]!, logprob: lp[kept[j]!]! };
  }
  const last = kept[n - 1]!;
  return { id: last, logprob: lp[last]! };
}
