/** Generation on real ONNX sessions of the tiny fixture: KV cache vs recompute, batching, sampling, stops. */
import { beforeAll, describe, expect, it } from "vitest";
import type { ModelRuntime } from "../ops/runtime.js";
import { fixtureRuntime, greedy, reference, toSegments } from "../testing/fixture.js";
import type { Embedded } from "./forward.js";
import type { GenerateParams, GenerateResult } from "./generate.js";

let rt: ModelRuntime;
const prompts: Record<string, Embedded> = {};
beforeAll(async () => {
  rt = await fixtureRuntime();
  for (const c of reference.cases) prompts[c.name] = (await rt.buildPrompt(toSegments(rt.pkg, c.segments))).prompt;
});

const sampled = (seed: number, extra: Partial<GenerateParams> = {}): GenerateParams => ({ ...greedy(24), temperature: 1, seed, ...extra });
const expectSame = (a: GenerateResult[], b: GenerateResult[]) => {
  expect(a.map((r) => r.tokens)).toEqual(b.map((r) => r.tokens));
  expect(a.map((r) => r.finishReason)).toEqual(b.map((r) => r.finishReason));
  a.forEach((r, i) => r.logprobs.forEach((lp, j) => expect(Math.abs(lp - b[i]!.logprobs[j]!)).toBeLessThan(1e-4)));
};

describe("KV-cache generation equals full-recompute generation, token for token", () => {
  it("at batch 1 (greedy and sampled)", async () => {
    for (const params of [greedy(32), sampled(3), sampled(11, { topK: 5, topP: 0.9, temperature: 0.7 })]) {
      const reqs = [{ prompt: prompts.vqa!, params }];
      expectSame(await rt.decode(reqs), await rt.decode(reqs, { useCache: false }));
    }
  });

  it("at batch 2, sequences of different lengths (left padding)", async () => {
    for (const [a, b] of [
      ["caption", "nli"],
      ["text-only", "in-context"],
    ] as const) {
      expect(prompts[a]!.length).not.toBe(prompts[b]!.length);
      for (const params of [greedy(32), sampled(5)]) {
        const reqs = [
          { prompt: prompts[a]!, params },
          { prompt: prompts[b]!, params: { ...params, maxTokens: 12 } },
        ];
        expectSame(await rt.decode(reqs), await rt.decode(reqs, { useCache: false }));
      }
    }
  });
});

describe("batched decoding", () => {
  it("gives every job the result it gets alone (different lengths, params and stop points)", async () => {
    const reqs = reference.cases.map((c, i) => ({ prompt: prompts[c.name]!, params: i % 2 ? sampled(i, { maxTokens: 6 + 5 * i }) : greedy(10 + 3 * i) }));
    const batched = await rt.decode(reqs);
    const alone = [];
    for (const r of reqs) alone.push(...(await rt.decode([r])));
    expectSame(batched, alone);
  });
});

describe("sampling, stops, limits, cancel, streaming", () => {
  it("seeded sampling is reproducible and different seeds differ", async () => {
    const run = async (seed: number) => (await rt.decode([{ prompt: prompts.caption!, params: sampled(seed, { maxTokens: 32 }) }]))[0]!.tokens;
    expect(await run(42)).toEqual(await run(42));
    expect(await run(42)).not.toEqual(await run(43));
  });

  it("stops at a stop string (text cut before it) and at maxTokens", async () => {
    const [full] = await rt.decode([{ prompt: prompts.vqa!, params: greedy(8) }]); // "objects object object teacher …"
    expect(full!.finishReason).toBe("length");
    expect(full!.tokens).toHaveLength(8);
    const [r] = await rt.decode([{ prompt: prompts.vqa!, params: greedy(8, { stop: ["zebra", "teacher"] }) }]);
    expect(r!.finishReason).toBe("stop");
    expect(r!.text).toBe("objects object object");
    expect(r!.tokens).toEqual(full!.tokens.slice(0, 4)); // up to and including the token completing the stop
  });

  it("finishes on eos (eos listed in tokens, not in text)", async () => {
    const [full] = await rt.decode([{ prompt: prompts.vqa!, params: greedy(8) }]);
    const eos = full!.tokens[3]!; // pretend a later greedy token is eos
    const pkg = {
      ...rt.pkg,
      manifest: { ...rt.pkg.manifest, decoder: { ...rt.pkg.manifest.decoder, specialTokens: { ...rt.pkg.manifest.decoder.specialTokens, eos } } },
    };
    const { generate } = await import("./generate.js");
    const [r] = await generate(pkg, [{ prompt: prompts.vqa!, params: greedy(8) }]);
    expect(r!.finishReason).toBe("eos");
    expect(r!.tokens).toEqual(full!.tokens.slice(0, full!.tokens.indexOf(eos) + 1));
    expect(r!.text).toBe(rt.pkg.tokenizer.decode(full!.tokens.slice(0, full!.tokens.indexOf(eos))));
  });

  it("streams every token and stops between tokens when aborted", async () => {
    const ctl = new AbortController();
    const seen: number[] = [];
    const other = { prompt: prompts.nli!, params: greedy(10) };
    const [r, o] = await rt.decode([
      {
        prompt: prompts.vqa!,
        params: greedy(20),
        signal: ctl.signal,
        onToken: (t) => {
          seen.push(t.id);
          if (t.index === 2) ctl.abort();
        },
      },
      other,
    ]);
    expect(r!.finishReason).toBe("canceled");
    expect(r!.tokens).toHaveLength(3);
    expect(seen).toEqual(r!.tokens);
    expect(o!.tokens).toEqual((await rt.decode([other]))[0]!.tokens); // the rest of the batch is unaffected
  });
});
