import { beforeAll, describe, expect, it } from "vitest";
import type { ModelRuntime } from "../ops/runtime.js";
import { fixtureRuntime, greedy, reference, toSegments } from "../testing/fixture.js";
import { concatEmbedded, decoderForward, embedTokens, logitsAt, type Embedded } from "./forward.js";
import { KvCache } from "./kv-cache.js";
import { logSoftmax } from "./sampling.js";

let rt: ModelRuntime;
beforeAll(async () => {
  rt = await fixtureRuntime();
});
const LABELS = ["entailment", "contradiction", "neutral", "red circle"];

/** Independent log-likelihood: one full forward over context + label, no cache reuse. */
async function loglik(prompt: Embedded, text: string): Promise<number> {
  const { vocabSize: V, hiddenSize: H } = rt.pkg.manifest.decoder;
  const ids = rt.pkg.tokenizer.encode(text);
  const seq = concatEmbedded([prompt, { data: await embedTokens(rt.pkg, ids), length: ids.length }], H);
  const cache = new KvCache(rt.pkg.manifest.decoder.kvCache, 1);
  const r = await decoderForward(rt.pkg, [seq], cache);
  cache.dispose();
  return ids.reduce((s, id, j) => s + logSoftmax(logitsAt(r, 0, prompt.length - 1 + j, V))[id]!, 0);
}

describe("explain", () => {
  it("scores labels by their log-likelihood after the context, picks the best, explains after 'because'", async () => {
    const c = reference.cases.find((x) => x.name === "vqa")!;
    const segs = toSegments(rt.pkg, [...c.segments, { text: "hypothesis: the circle is red it is" }]);
    const { prompt } = await rt.buildPrompt(segs);
    const [r] = await rt.explain([{ prompt, labels: LABELS, params: greedy(6) }]);
    for (const l of LABELS) expect(Math.abs(r!.scores[l]! - (await loglik(prompt, l)))).toBeLessThan(1e-4);
    const best = LABELS.reduce((a, b) => (r!.scores[b]! > r!.scores[a]! ? b : a));
    expect(r!.label).toBe(best);
    // the explanation is what greedy decoding gives after "<context> <label> because"
    const ext = await rt.buildPrompt([...segs, { kind: "text", text: `${best} because` }]);
    const [g] = await rt.decode([{ prompt: ext.prompt, params: greedy(6) }]);
    expect(r!.tokens).toEqual(g!.tokens);
    expect(r!.explanation).toBe(g!.text);
    expect(r!.text).toBe(`${best} because ${g!.text}`);
  });

  it("batched explain equals one-by-one", async () => {
    const ps = await Promise.all(reference.cases.slice(0, 3).map(async (c) => (await rt.buildPrompt(toSegments(rt.pkg, c.segments))).prompt));
    const reqs = ps.map((prompt, i) => ({ prompt, labels: i === 1 ? LABELS.slice(0, 2) : LABELS, params: greedy(4 + i) }));
    const batched = await rt.explain(reqs);
    for (let i = 0; i < reqs.length; i++) {
      const [alone] = await rt.explain([reqs[i]!]);
      expect(batched[i]!.label).toBe(alone!.label);
      expect(batched[i]!.tokens).toEqual(alone!.tokens);
      for (const l of reqs[i]!.labels) expect(Math.abs(batched[i]!.scores[l]! - alone!.scores[l]!)).toBeLessThan(1e-4);
    }
  });
});
