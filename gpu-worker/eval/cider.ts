/**
 * CIDEr-D (Vedantam et al. 2015, as implemented in coco-caption's `pycocoevalcap/cider/cider_scorer.py`
 * used with CIDEr-D settings): n = 1..4, tf-idf vectors whose document frequencies come from the
 * reference corpus (an n-gram's df = number of images whose references contain it),
 * `idf = log(N) − log(max(1, df))`, clipping (`min(hyp, ref)` weights in the dot product),
 * cosine per order, Gaussian length penalty `exp(−Δ²/(2σ²))` with σ = 6, averaged over orders
 * and references, ×10; the corpus score is the mean over images.
 *
 * As in coco-caption, a sentence's "length" is its number of bigrams (words − 1); Δ is the
 * difference of those lengths, i.e. the difference in words. An order with an all-zero vector
 * (no n-grams of that order, or all with idf 0) contributes 0.
 */
import { ngramCounts, orderOf, words } from "./tokens.js";

export interface CiderOptions {
  n?: number;
  sigma?: number;
}

interface Vec {
  vec: Map<string, number>[];
  norm: number[];
  length: number;
}

export interface CiderResult {
  /** Mean over images. */
  score: number;
  /** Per image, in input order. */
  scores: number[];
}

/**
 * @param hyps one candidate per image
 * @param refs the references of each image (same order)
 * @example ciderD(["a red circle on the left"], [["a red circle on the left"]])
 */
export function ciderD(hyps: readonly string[], refs: readonly (readonly string[])[], { n = 4, sigma = 6 }: CiderOptions = {}): CiderResult {
  if (hyps.length !== refs.length) throw new Error(`ciderD: ${hyps.length} hypotheses but ${refs.length} reference sets`);
  const refCounts = refs.map((rs) => rs.map((r) => ngramCounts(words(r), n)));
  const df = new Map<string, number>();
  for (const rs of refCounts) {
    const seen = new Set<string>();
    for (const c of rs) for (const g of c.keys()) seen.add(g);
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1);
  }
  const refLen = Math.log(refs.length);
  const toVec = (cnts: Map<string, number>): Vec => {
    const vec = Array.from({ length: n }, () => new Map<string, number>());
    const norm = new Array<number>(n).fill(0);
    let length = 0;
    for (const [g, tf] of cnts) {
      const k = orderOf(g) - 1;
      const w = tf * (refLen - Math.log(Math.max(1, df.get(g) ?? 0)));
      vec[k]!.set(g, w);
      norm[k]! += w * w;
      if (k === 1) length += tf;
    }
    return { vec, norm: norm.map(Math.sqrt), length };
  };
  const sim = (h: Vec, r: Vec): number[] => {
    const delta = h.length - r.length;
    const pen = Math.exp(-(delta * delta) / (2 * sigma * sigma));
    const val = new Array<number>(n).fill(0);
    for (let k = 0; k < n; k++) {
      for (const [g, w] of h.vec[k]!) {
        const rw = r.vec[k]!.get(g) ?? 0;
        val[k]! += Math.min(w, rw) * rw;
      }
      if (h.norm[k] !== 0 && r.norm[k] !== 0) val[k]! /= h.norm[k]! * r.norm[k]!;
      val[k]! *= pen;
    }
    return val;
  };
  const scores = hyps.map((h, i) => {
    const hv = toVec(ngramCounts(words(h), n));
    const rvs = refCounts[i]!.map(toVec);
    if (rvs.length === 0) return 0;
    let total = 0;
    for (const rv of rvs) total += sim(hv, rv).reduce((a, b) => a + b, 0) / n;
    return (total / rvs.length) * 10;
  });
  const score = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : 0;
  return { score, scores };
}
