/** The runtime against PyTorch: the fixture's reference.json (make_fixture.py), real ONNX sessions. */
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { logitsAt, decoderForward } from "../generate/forward.js";
import { KvCache } from "../generate/kv-cache.js";
import { summarize } from "../job/summary.js";
import { loadPackage } from "../package/load.js";
import { FIXTURE_DIR, greedy, referenceKit } from "../testing/fixture.js";
import { packageDirs } from "../worker/models.js";
import { ModelRuntime } from "./runtime.js";

const close = (a: number, b: number, tol: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));
/** The fixture, plus every package under gpu-worker/models that ships a reference.json (trained models). */
const dirs = [FIXTURE_DIR, ...packageDirs(fileURLToPath(new URL("../../models", import.meta.url))).filter((d) => existsSync(join(d, "reference.json")))];

describe.each(dirs.map((d) => [basename(d), d]))("%s: the runtime reproduces PyTorch's reference.json", (_, dir) => {
  const { reference, getBlob, toSegments } = referenceKit(dir);
  const runtime = async () => new ModelRuntime(await loadPackage(dir), { getBlob });

  it("encodes and connects like PyTorch (images via PNG, text via the tokenizer)", async () => {
    const rt = await runtime();
    for (const [key, ref] of Object.entries(reference.encodings)) {
      const [encoder] = key.split(":") as [string];
      const [seg] = toSegments(rt.pkg, [{ span: key }]);
      if (seg?.kind !== "span") throw new Error("unreachable");
      if (ref.input_ids) expect(rt.pkg.tokenizer.encode(ref.text!)).toEqual(ref.input_ids);
      const enc = summarize((await rt.encode(seg.recipe.source)).tensor);
      const con = summarize((await rt.connect({ connector: encoder, source: seg.recipe.source })).tensor);
      for (const [ours, theirs] of [
        [enc, ref.encode],
        [con, ref.connect],
      ] as const) {
        expect(ours.shape).toEqual(theirs.shape);
        close(ours.norm, theirs.norm, 1e-4);
        close(ours.mean, theirs.mean, 1e-4);
        close(ours.std, theirs.std, 1e-4);
      }
      const first = Array.from((await rt.encode(seg.recipe.source)).tensor.data.subarray(0, 8));
      first.forEach((v, i) => close(v, ref.encode.first[i]!, 1e-4));
    }
  });

  it("gives PyTorch's first logits and greedy tokens for every case", async () => {
    const rt = await runtime();
    const V = rt.pkg.manifest.decoder.vocabSize;
    for (const c of reference.cases) {
      const { prompt } = await rt.buildPrompt(toSegments(rt.pkg, c.segments));
      expect(prompt.length, c.name).toBe(c.promptLength);
      const cache = new KvCache(rt.pkg.manifest.decoder.kvCache, 1);
      const logits = logitsAt(await decoderForward(rt.pkg, [prompt], cache), 0, prompt.length - 1, V);
      cache.dispose();
      c.firstLogits.forEach((v, i) => expect(Math.abs(logits[i]! - v), `${c.name} logit ${i}`).toBeLessThanOrEqual(reference.tolerance.logits * 10));
      const [r] = await rt.decode([{ prompt, params: greedy(c.greedy.maxTokens) }]);
      expect(r!.tokens, c.name).toEqual(c.greedy.tokens);
      expect(r!.finishReason).toBe(c.greedy.finishReason);
      r!.logprobs.forEach((lp, i) => expect(Math.abs(lp - c.greedy.logprobs[i]!)).toBeLessThan(1e-3));
      expect(r!.text).toBe(rt.pkg.tokenizer.decode(c.greedy.tokens));
    }
  });
});
