import { describe, expect, it } from "vitest";
import { corpusBleu } from "./bleu.js";
import { ciderD } from "./cider.js";

describe("CIDEr-D (hand-computed)", () => {
  // Corpus: image 1 ref "a b", image 2 ref "c d". N = 2 images, so log N = ln 2; every n-gram in a
  // ref has df = 1 → idf = ln2 − ln1 = ln2; an n-gram in no ref has df 0 → idf = ln2 − ln(max(1,0)) = ln2.
  it("perfect two-word caption: orders 1 and 2 have cosine 1, orders 3 and 4 are empty → (1+1+0+0)/4 × 10 = 5", () => {
    const r = ciderD(["a b", "c d"], [["a b"], ["c d"]]);
    expect(r.scores[0]).toBeCloseTo(5, 10);
    expect(r.scores[1]).toBeCloseTo(5, 10);
    expect(r.score).toBeCloseTo(5, 10);
  });

  // hyp "c e" vs ref "c d": unigrams hyp {c: ln2, e: ln2}, ref {c: ln2, d: ln2};
  // dot = min(ln2, ln2)·ln2 = ln2²; norms √2·ln2 each → ln2² / (2 ln2²) = 0.5.
  // bigram "c e" vs "c d": no match → 0. Same length (Δ = 0). Score = (0.5 + 0) / 4 × 10 = 1.25.
  // Corpus mean = (5 + 1.25) / 2 = 3.125.
  it("one shared unigram out of two → 1.25; corpus mean 3.125", () => {
    const r = ciderD(["a b", "c e"], [["a b"], ["c d"]]);
    expect(r.scores[1]).toBeCloseTo(1.25, 10);
    expect(r.score).toBeCloseTo(3.125, 10);
  });

  // Clipping: hyp "y y" for ref "x y" (other image's ref "x z"): df(x) = 2 → idf 0; df(y) = 1 → ln2.
  // hyp unigram vec {y: 2·ln2} (tf 2), ref {x: 0, y: ln2}. dot = min(2ln2, ln2)·ln2 = ln2²;
  // |hyp| = 2ln2, |ref| = ln2 → 0.5 (unclipped it would be 2ln2·ln2 / (2ln2·ln2) = 1).
  // Bigram "y y" vs "x y": 0. Δ = 1 − 1 = 0. Score = 0.5 / 4 × 10 = 1.25.
  it("clips repeated n-grams: 'y y' vs 'x y' → 1.25 (1.25 is half of the unclipped 2.5)", () => {
    const r = ciderD(["y y", "x z"], [["x y"], ["x z"]]);
    expect(r.scores[0]).toBeCloseTo(1.25, 10);
  });

  // Length penalty: hyp "a b e" vs ref "a b" (other ref "c d"); all idf = ln2 (df 1 or 0).
  // Unigrams: hyp {a,b,e} ref {a,b}: dot 2ln2², norms √3 ln2 · √2 ln2 → 2/√6.
  // Bigrams: hyp {"a b","b e"} ref {"a b"}: dot ln2², norms √2 ln2 · ln2 → 1/√2.
  // Trigram: ref has none → 0. Lengths in bigrams: 2 vs 1 → Δ = 1 → e^(−1/72).
  // Score = (2/√6 + 1/√2) · e^(−1/72) / 4 × 10 ≈ 3.7566.
  it("Gaussian length penalty σ = 6", () => {
    const r = ciderD(["a b e", "c d"], [["a b"], ["c d"]]);
    const expected = ((2 / Math.sqrt(6) + 1 / Math.sqrt(2)) * Math.exp(-1 / 72) * 10) / 4;
    expect(r.scores[0]).toBeCloseTo(expected, 10);
    expect(r.scores[0]).toBeCloseTo(3.7566, 3);
  });

  // Two references for image 1: "a b" and "a c"; image 2: "d e". N = 2. df(a) = 1 (counted once
  // per image), so idf(a) = ln2; all other n-grams also df 1. hyp "a b":
  // vs "a b": (1 + 1 + 0 + 0)/4 = 0.5. vs "a c": unigrams dot ln2² / (√2 ln2 · √2 ln2) = 0.5; bigram 0 → 0.5/4 = 0.125.
  // Mean over refs = (0.5 + 0.125)/2 = 0.3125 → ×10 = 3.125.
  it("averages over several references; df counts an image once", () => {
    const r = ciderD(["a b", "d e"], [["a b", "a c"], ["d e"]]);
    expect(r.scores[0]).toBeCloseTo(3.125, 10);
  });

  it("ignores punctuation and case (PTB-style words)", () => {
    const r = ciderD(["A b,", "c d"], [["a b"], ["c d"]]);
    expect(r.scores[0]).toBeCloseTo(5, 10);
  });
});

describe("BLEU-4 (hand-computed)", () => {
  it("identical sentence → 1", () => {
    expect(corpusBleu(["the cat sat on the mat"], [["the cat sat on the mat"]]).bleu).toBeCloseTo(1, 12);
  });

  // hyp "a b c d e" (5 words), ref "a b c d f g" (6 words):
  // p1 = 4/5 (a b c d), p2 = 3/4 (ab bc cd), p3 = 2/3 (abc bcd), p4 = 1/2 (abcd).
  // geo mean = (4/5 · 3/4 · 2/3 · 1/2)^(1/4) = (1/5)^(1/4) ≈ 0.668740.
  // c = 5 ≤ r = 6 → BP = e^(1 − 6/5) = e^(−0.2) ≈ 0.818731. BLEU ≈ 0.547518.
  it("precisions and brevity penalty", () => {
    const r = corpusBleu(["a b c d e"], [["a b c d f g"]]);
    expect(r.precisions).toEqual([4 / 5, 3 / 4, 2 / 3, 1 / 2].map((x) => expect.closeTo(x, 12)));
    expect(r.bp).toBeCloseTo(Math.exp(-0.2), 12);
    expect(r.bleu).toBeCloseTo(Math.exp(-0.2) * Math.pow(1 / 5, 1 / 4), 12);
    expect(r.bleu).toBeCloseTo(0.547518, 5);
  });

  // Clipping: hyp "a a a a b" vs ref "a b a c d": a appears 4× in hyp, 2× in ref → clipped to 2;
  // b 1 → p1 = 3/5. Bigrams hyp: aa aa aa ab; ref: ab ba ac cd → "a b" 1 match → p2 = 1/4.
  // Trigrams hyp: aaa aaa aab; ref: aba bac acd → 0 → BLEU 0 (no smoothing).
  it("clips counts by the reference; a zero order gives 0", () => {
    const r = corpusBleu(["a a a a b"], [["a b a c d"]]);
    expect(r.precisions[0]).toBeCloseTo(3 / 5, 12);
    expect(r.precisions[1]).toBeCloseTo(1 / 4, 12);
    expect(r.precisions[2]).toBe(0);
    expect(r.bleu).toBe(0);
  });

  // Corpus level: sums over sentences. s1 "a b c d" = ref (4/4, 3/3, 2/2, 1/1);
  // s2 "a b c d e f" vs ref "a b c d e f": also identical → all precisions 1, c = r = 10 → BLEU 1.
  // s2 hyp shorter: "a b c d" vs ref "a b c d e f g h" → c = 8, r = 12, BP = e^(1 − 12/8) = e^(−0.5).
  it("corpus sums lengths for the brevity penalty", () => {
    const r = corpusBleu(["a b c d", "a b c d"], [["a b c d"], ["a b c d e f g h"]]);
    expect(r.precisions.every((p) => Math.abs(p - 1) < 1e-12)).toBe(true);
    expect(r.bp).toBeCloseTo(Math.exp(-0.5), 12);
    expect(r.bleu).toBeCloseTo(Math.exp(-0.5), 12);
  });
});
