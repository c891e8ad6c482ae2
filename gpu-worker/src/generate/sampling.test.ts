import { describe, expect, it } from "vitest";
import { chooseToken, logSoftmax, Rng } from "./sampling.js";

const logits = Float32Array.from([2, 1, 0.5, 3, 3, -1]);
const draw = (p: Partial<Parameters<typeof chooseToken>[1]>, seed: number, n = 200) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => chooseToken(logits, { temperature: 1, topK: 0, topP: 1, seed, ...p }, rng).id);
};

describe("sampling", () => {
  it("log-softmax sums to one in probability", () => {
    const lp = logSoftmax(logits);
    expect(lp.reduce((a, b) => a + Math.exp(b), 0)).toBeCloseTo(1, 12);
  });

  it("greedy takes the argmax, lowest id on ties, with the unscaled log-prob", () => {
    const t = chooseToken(logits, { temperature: 0, topK: 0, topP: 1, seed: 0 }, new Rng(0));
    expect(t.id).toBe(3);
    expect(t.logprob).toBeCloseTo(logSoftmax(logits)[3]!, 12);
  });

  it("is reproducible for a seed and differs across seeds", () => {
    expect(draw({}, 7)).toEqual(draw({}, 7));
    expect(draw({}, 7)).not.toEqual(draw({}, 8));
  });

  it("top-k and top-p restrict the candidates", () => {
    expect(new Set(draw({ topK: 2 }, 1))).toEqual(new Set([3, 4]));
    // probs ≈ [.15,.06,.03,.41,.41,.01]: top-p 0.5 keeps {3,4}; 0.85 adds 0
    expect(new Set(draw({ topP: 0.5 }, 2))).toEqual(new Set([3, 4]));
    expect(new Set(draw({ topP: 0.85 }, 3))).toEqual(new Set([0, 3, 4]));
  });

  it("low temperature concentrates, high temperature spreads", () => {
    expect(new Set(draw({ temperature: 0.05 }, 4))).toEqual(new Set([3, 4]));
    expect(new Set(draw({ temperature: 2 }, 5, 2000)).size).toBe(6);
  });

  it("frequencies follow the softmax", () => {
    const ids = draw({}, 9, 20000);
    const p = logSoftmax(logits).map(Math.exp);
    for (let i = 0; i < 6; i++) expect(ids.filter((x) => x === i).length / ids.length).toBeCloseTo(p[i]!, 1);
  });
});
