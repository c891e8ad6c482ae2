/**
 * The decode loop: batched generation over sequences of different lengths, with the KV cache
 * (default) or by full recompute (the reference the cache is tested against), per-sequence
 * sampling state, stop strings, maxTokens, per-token log-probs, cancellation and streaming.
 *
 * One step = choose a token for every active row from its last logits, then run the decoder on
 * just those new tokens on top of the cache. Finished rows leave the batch (`KvCache.select`), so
 * a long generation never pays for short ones that are done.
 */
import type { ModelPackage } from "../package/load.js";
import { decoderForward, embedTokens, logitsAt, newKvCache, type Embedded } from "./forward.js";
import type { KvCache } from "./kv-cache.js";
import { chooseToken, Rng, type SamplingParams } from "./sampling.js";

export type FinishReason = "eos" | "stop" | "length" | "canceled";

export interface GenerateParams extends SamplingParams {
  maxTokens: number;
  stop: readonly string[];
}

export interface TokenEvent {
  index: number;
  id: number;
  text: string;
  logprob: number;
}

export interface GenerateRequest {
  /** Decoder inputs so far (bos, spans and text, already embedded). */
  prompt: Embedded;
  params: GenerateParams;
  /** Checked between tokens; when aborted the row finishes with `canceled` and keeps its tokens. */
  signal?: AbortSignal;
  /** Called once per generated token, in order (for streaming progress). */
  onToken?: (t: TokenEvent) => void;
}

export interface GenerateResult {
  /** Generated ids; an `eos` that ended generation is included (its text is not). */
  tokens: number[];
  tokenTexts: string[];
  logprobs: number[];
  text: string;
  finishReason: FinishReason;
}

export const defaultParams: GenerateParams = { maxTokens: 32, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] };

interface Row {
  req: GenerateRequest;
  rng: Rng;
  out: GenerateResult;
  /** Embeddings so far (recompute mode only). */
  seq?: Embedded;
  positions: number;
  done: boolean;
}

/**
 * Generates for every request as one batch.
 * @example const [r] = await generate(pkg, [{ prompt, params: { ...defaultParams, maxTokens: 8 } }]);
 */
export async function generate(pkg: ModelPackage, reqs: readonly GenerateRequest[], { useCache = true } = {}): Promise<GenerateResult[]> {
  if (reqs.length === 0) return [];
  if (!useCache) return generateRecompute(pkg, reqs);
  const cache = newKvCache(pkg, reqs.length);
  const first = await decoderForward(
    pkg,
    reqs.map((r) => r.prompt),
    cache,
  );
  const V = pkg.manifest.decoder.vocabSize;
  const lastLogits = reqs.map((r, b) => logitsAt(first, b, r.prompt.length - 1, V));
  return continueGeneration(
    pkg,
    cache,
    lastLogits,
    reqs.map((r) => r.prompt.length),
    reqs,
  );
}

/**
 * Continues generation from a filled cache (takes ownership of it and disposes it):
 * `lastLogits[b]` are row b's next-token logits, `positions[b]` its real length so far.
 */
export async function continueGeneration(
  pkg: ModelPackage,
  cacheIn: KvCache,
  lastLogits: Float32Array[],
  positions: number[],
  reqs: readonly GenerateRequest[],
): Promise<GenerateResult[]> {
  const V = pkg.manifest.decoder.vocabSize;
  const rows = reqs.map((req, b): Row => newRow(req, positions[b]!));
  let cache = cacheIn;
  let active = rows.map((_, i) => i); // row index of each cache row
  let logits = lastLogits;
  try {
    for (;;) {
      const next: number[] = [];
      for (let k = 0; k < active.length; k++) {
        const row = rows[active[k]!]!;
        step(pkg, row, logits[k]!);
        if (!row.done) next.push(k);
      }
      if (next.length === 0) break;
      if (next.length !== active.length) {
        const smaller = await cache.select(next);
        cache.dispose();
        cache = smaller;
        active = next.map((k) => active[k]!);
      }
      const ids = active.map((i) => rows[i]!.out.tokens.at(-1)!);
      const H = pkg.manifest.decoder.hiddenSize;
      const emb = await embedTokens(pkg, ids);
      const r = await decoderForward(
        pkg,
        ids.map((_, k) => ({ data: emb.subarray(k * H, (k + 1) * H), length: 1 })),
        cache,
      );
      logits = active.map((_, k) => logitsAt(r, k, 0, V));
    }
  } finally {
    cache.dispose();
  }
  return rows.map((r) => r.out);
}

/** Reference path: every step recomputes the whole sequence from scratch (no KV cache). */
async function generateRecompute(pkg: ModelPackage, reqs: readonly GenerateRequest[]): Promise<GenerateResult[]> {
  const { vocabSize: V, hiddenSize: H } = pkg.manifest.decoder;
  const rows = reqs.map((req): Row => ({ ...newRow(req, req.prompt.length), seq: req.prompt }));
  let active = rows.map((_, i) => i);
  while (active.length) {
    const cache = newKvCache(pkg, active.length);
    const r = await decoderForward(
      pkg,
      active.map((i) => rows[i]!.seq!),
      cache,
    );
    cache.dispose();
    for (let k = 0; k < active.length; k++) {
      const row = rows[active[k]!]!;
      step(pkg, row, logitsAt(r, k, row.seq!.length - 1, V));
      if (!row.done) {
        const emb = await embedTokens(pkg, [row.out.tokens.at(-1)!]);
        const seq = new Float32Array((row.seq!.length + 1) * H);
        seq.set(row.seq!.data);
        seq.set(emb, row.seq!.length * H);
        row.seq = { data: seq, length: row.seq!.length + 1 };
      }
    }
    active = active.filter((i) => !rows[i]!.done);
  }
  return rows.map((r) => r.out);
}

function newRow(req: GenerateRequest, positions: number): Row {
  return {
    req,
    rng: new Rng(req.params.seed),
    out: { tokens: [], tokenTexts: [], logprobs: [], text: "", finishReason: "length" },
    positions,
    done: false,
  };
}

/** Chooses one token for `row` and decides whether it is finished. */
function step(pkg: ModelPackage, row: Row, logits: Float32Array): void {
  const { out, req } = row;
  const finish = (reason: FinishReason) => {
    out.finishReason = reason;
    row.done = true;
  };
  if (req.signal?.aborted) return finish("canceled");
  if (out.tokens.length >= req.params.maxTokens || row.positions >= pkg.manifest.decoder.maxPositions) return finish("length");
  const { id, logprob } = chooseToken(logits, req.params, row.rng);
  const tok = pkg.tokenizer;
  out.tokens.push(id);
  const tokenText = tok.idToTokenString(id) ?? `<${id}>`;
  out.tokenTexts.push(tokenText);
  // JSON has no -Infinity: clamp (a float32 log-softmax cannot reach it in practice)
  out.logprobs.push(Math.max(logprob, -1e9));
  row.positions++;
  req.onToken?.({ index: out.tokens.length - 1, id, text: tokenText, logprob: Math.max(logprob, -1e9) });
  if (id === pkg.manifest.decoder.specialTokens.eos) {
    out.text = tok.decode(out.tokens.slice(0, -1));
    return finish("eos");
  }
  out.text = tok.decode(out.tokens);
  for (const s of req.params.stop) {
    const at = out.text.indexOf(s);
    if (at >= 0) {
      out.text = out.text.slice(0, at).trimEnd();
      return finish("stop");
    }
  }
  if (out.tokens.length >= req.params.maxTokens || row.positions >= pkg.manifest.decoder.maxPositions) finish("length");
}
