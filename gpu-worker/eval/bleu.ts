/**
 * Corpus BLEU-4 (Papineni et al. 2002): clipped n-gram precisions summed over the corpus for
 * n = 1..4, their geometric mean (uniform weights), times the brevity penalty
 * `BP = 1 if c > r else exp(1 − r/c)` (c = total hypothesis words, r = total closest-reference
 * words; ties to the shorter reference). No smoothing: an order with 0 matches gives BLEU 0.
 * Words as in `tokens.ts` (lower case, punctuation dropped).
 */
import { ngramCounts, orderOf, words } from "./tokens.js";

export interface BleuResult {
  bleu: number;
  precisions: number[];
  bp: number;
  hypLength: number;
  refLength: number;
}

export function corpusBleu(hyps: readonly string[], refs: readonly (readonly string[])[], n = 4): BleuResult {
  if (hyps.length !== refs.length) throw new Error(`corpusBleu: ${hyps.length} hypotheses but ${refs.length} reference sets`);
  const match = new Array<number>(n).fill(0);
  const total = new Array<number>(n).fill(0);
  let c = 0;
  let r = 0;
  hyps.forEach((h, i) => {
    const hw = words(h);
    const rws = refs[i]!.map(words);
    c += hw.length;
    let best = Infinity;
    let bestLen = 0;
    for (const rw of rws) {
      const d = Math.abs(rw.length - hw.length);
      if (d < best || (d === best && rw.length < bestLen)) {
        best = d;
        bestLen = rw.length;
      }
    }
    r += bestLen;
    const maxRef = new Map<string, number>();
    for (const rw of rws) for (const [g, k] of ngramCounts(rw, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, k));
    for (const [g, k] of ngramCounts(hw, n)) {
      const o = orderOf(g) - 1;
      total[o]! += k;
      match[o]! += Math.min(k, maxRef.get(g) ?? 0);
    }
  });
  const precisions = match.map((m, k) => (total[k]! > 0 ? m / total[k]! : 0));
  const bp = c === 0 ? 0 : c > r ? 1 : Math.exp(1 - r / c);
  const bleu = precisions.some((p) => p === 0) ? 0 : bp * Math.exp(precisions.reduce((a, p) => a + Math.log(p), 0) / n);
  return { bleu, precisions, bp, hypLength: c, refLength: r };
}
