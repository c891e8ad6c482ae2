/**
 * `explain` — the e-SNLI-VE pattern: score every candidate label by the summed log-likelihood of
 * its tokens after the context, take the best, append it and `because`, and generate the
 * explanation (greedy by default; the job's sampling params apply).
 *
 * The context is run once per job; its KV cache is then repeated for every label
 * (`KvCache.select`), and the winning label's row continues into the explanation, so nothing is
 * recomputed.
 */
import type { ModelPackage } from "../package/load.js";
import { decoderForward, embedTokens, logitsAt, newKvCache, realLengths, type Embedded } from "./forward.js";
import { continueGeneration, type GenerateRequest, type GenerateResult } from "./generate.js";
import type { KvCache } from "./kv-cache.js";
import { logSoftmax } from "./sampling.js";

export interface ExplainRequest extends GenerateRequest {
  labels: readonly string[];
}

export interface ExplainResult {
  label: string;
  /** label → summed log-prob of its tokens after the context. */
  scores: Record<string, number>;
  /** The generated text after `because`. */
  explanation: string;
  /** `{label} because {explanation}`. */
  text: string;
  /** Generated explanation tokens and their log-probs (label and `because` are forced, not generated). */
  tokens: number[];
  logprobs: number[];
  finishReason: GenerateResult["finishReason"];
}

export const BECAUSE = "because";

/**
 * Scores continuations (token id lists) after each prompt. Returns the scores and, for reuse,
 * the cache holding prompt + continuation for every (prompt, continuation) pair in row order.
 */
export async function scoreContinuations(
  pkg: ModelPackage,
  prompts: readonly Embedded[],
  continuations: readonly (readonly number[][])[],
): Promise<{ scores: number[][]; cache: KvCache; rowOf: number[][] }> {
  const { vocabSize: V, hiddenSize: H } = pkg.manifest.decoder;
  const ctx = newKvCache(pkg, prompts.length);
  let pairs: KvCache | undefined;
  try {
    const first = await decoderForward(pkg, prompts, ctx);
    const firstLp = prompts.map((p, b) => logSoftmax(logitsAt(first, b, p.length - 1, V)));
    const rows: number[] = [];
    const rowOf: number[][] = [];
    const flat: number[][] = [];
    continuations.forEach((conts, b) => {
      rowOf.push(
        conts.map((c) => {
          if (c.length === 0) throw new RangeError("a continuation must have at least one token");
          rows.push(b);
          flat.push(c);
          return rows.length - 1;
        }),
      );
    });
    pairs = await ctx.select(rows);
    const emb = await embedTokens(pkg, flat.flat());
    let at = 0;
    const inputs = flat.map((c) => {
      const e = { data: emb.subarray(at * H, (at + c.length) * H), length: c.length };
      at += c.length;
      return e;
    });
    const r = await decoderForward(pkg, inputs, pairs);
    const scores = continuations.map((conts, b) =>
      conts.map((c, l) => {
        const row = rowOf[b]![l]!;
        let s = firstLp[b]![c[0]!]!;
        for (let j = 1; j < c.length; j++) s += logSoftmax(logitsAt(r, row, j - 1, V))[c[j]!]!;
        return s;
      }),
    );
    return { scores, cache: pairs, rowOf };
  } catch (e) {
    pairs?.dispose();
    throw e;
  } finally {
    ctx.dispose();
  }
}

/**
 * Runs `explain` for a batch of requests.
 * @example const [r] = await explain(pkg, [{ prompt, labels: ["entailment", "contradiction", "neutral"], params }]);
 */
export async function explain(pkg: ModelPackage, reqs: readonly ExplainRequest[]): Promise<ExplainResult[]> {
  if (reqs.length === 0) return [];
  const tok = pkg.tokenizer;
  const { vocabSize: V, hiddenSize: H } = pkg.manifest.decoder;
  const labelIds = reqs.map((r) =>
    r.labels.map((l) => {
      const ids = tok.encode(l);
      if (ids.length === 0) throw new RangeError(`label "${l}" has no tokens`);
      return ids;
    }),
  );
  const { scores, cache, rowOf } = await scoreContinuations(
    pkg,
    reqs.map((r) => r.prompt),
    labelIds,
  );
  let chosen: KvCache | undefined;
  try {
    const best = scores.map((s) => s.reduce((bi, v, i) => (v > s[bi]! ? i : bi), 0));
    chosen = await cache.select(best.map((l, b) => rowOf[b]![l]!));
    cache.dispose();
    const becauseIds = tok.encode(BECAUSE);
    const emb = await embedTokens(
      pkg,
      reqs.flatMap(() => becauseIds),
    );
    const n = becauseIds.length;
    const r = await decoderForward(
      pkg,
      reqs.map((_, b) => ({ data: emb.subarray(b * n * H, (b + 1) * n * H), length: n })),
      chosen,
    );
    const logits = reqs.map((_, b) => logitsAt(r, b, n - 1, V));
    const gen = await continueGeneration(pkg, chosen, logits, realLengths(chosen), reqs);
    chosen = undefined; // continueGeneration owns and disposed it
    return reqs.map((req, b) => {
      const label = req.labels[best[b]!]!;
      const g = gen[b]!;
      return {
        label,
        scores: Object.fromEntries(req.labels.map((l, i) => [l, scores[b]![i]!])),
        explanation: g.text,
        text: `${label} ${BECAUSE}${g.text ? ` ${g.text}` : ""}`,
        tokens: g.tokens,
        logprobs: g.logprobs,
        finishReason: g.finishReason,
      };
    });
  } finally {
    cache.dispose();
    chosen?.dispose();
  }
}
