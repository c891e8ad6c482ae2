/**
 * Decoder forward passes over batches of sequences of different lengths: left padding,
 * `attention_mask` and `position_ids` computed here, the KV cache updated in place.
 *
 * Positions count every real decoder input position (spans included) from 0 at `bos`; padding
 * positions get mask 0 and position 0. Rows may be padded in any call (prefill or a multi-token
 * continuation), not only the first: the mask makes padding invisible wherever it sits.
 */
import * as ort from "onnxruntime-node";
import type { ModelPackage } from "../package/load.js";
import { checkedRun } from "../package/session.js";
import { KvCache } from "./kv-cache.js";

/** A sequence's decoder inputs: `length` × hiddenSize float32 embeddings, row-major. */
export interface Embedded {
  data: Float32Array;
  length: number;
}

/** Embedding tables read out of embed.onnx, per session (see `embedTokens`). */
const tables = new WeakMap<object, Float32Array | null>();
/** Largest table kept in memory (bigger vocabularies call embed.onnx every time). */
const MAX_TABLE_BYTES = 64 * 2 ** 20;

async function runEmbed(pkg: ModelPackage, ids: readonly number[]): Promise<Float32Array> {
  const input_ids = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
  const out = await checkedRun(pkg.embed, { input_ids }, pkg.manifest.decoder.embedGraph);
  return out.inputs_embeds!.data as Float32Array;
}

/**
 * The whole embedding table [vocab, hidden], read once by running embed.onnx on every id. Valid
 * because the embed graph is a per-token lookup (section 5: position-free, tied with the output
 * softmax); checked on load by comparing a multi-token call with the table. Saves one session
 * run per generated token.
 */
async function embeddingTable(pkg: ModelPackage): Promise<Float32Array | null> {
  if (tables.has(pkg.embed)) return tables.get(pkg.embed)!;
  const { vocabSize: V, hiddenSize: H } = pkg.manifest.decoder;
  let table: Float32Array | null = null;
  if (V * H * 4 <= MAX_TABLE_BYTES) {
    table = await runEmbed(
      pkg,
      Array.from({ length: V }, (_, i) => i),
    );
    const probe = [1, V - 1, 0, Math.floor(V / 2), 1].map((x) => Math.min(V - 1, x));
    const direct = await runEmbed(pkg, probe);
    const same = probe.every((id, k) => table!.subarray(id * H, (id + 1) * H).every((v, j) => v === direct[k * H + j]));
    if (!same) table = null; // not a pure lookup: always run the graph
  }
  tables.set(pkg.embed, table);
  return table;
}

/** Token ids → decoder input embeddings (embed.onnx semantics; position-free, positions are added in the decoder). */
export async function embedTokens(pkg: ModelPackage, ids: readonly number[]): Promise<Float32Array> {
  if (ids.length === 0) return new Float32Array(0);
  const { vocabSize: V, hiddenSize: H } = pkg.manifest.decoder;
  for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} outside vocab [0, ${V})`);
  const table = await embeddingTable(pkg);
  if (!table) return runEmbed(pkg, ids);
  const out = new Float32Array(ids.length * H);
  ids.forEach((id, k) => out.set(table.subarray(id * H, (id + 1) * H), k * H));
  return out;
}

/** Concatenates embedded pieces (e.g. bos, a span, a text segment) into one sequence. */
export function concatEmbedded(parts: readonly Embedded[], hidden: number): Embedded {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const data = new Float32Array(length * hidden);
  let at = 0;
  for (const p of parts) {
    data.set(p.data.subarray(0, p.length * hidden), at * hidden);
    at += p.length;
  }
  return { data, length };
}

export interface ForwardResult {
  /** [batch, T, vocab] logits, T = the longest row of this call. */
  logits: Float32Array;
  T: number;
  /** Left padding of each row in this call: row b's j-th input is at position `pad[b] + j`. */
  pad: number[];
}

/** An empty KV cache for `batch` rows of this package's decoder, on the device its decoder keeps them on. */
export function newKvCache(pkg: ModelPackage, batch: number): KvCache {
  return new KvCache(pkg.manifest.decoder.kvCache, batch, pkg.kvDevice);
}

/** Real (unpadded) positions already in the cache, per row. */
export function realLengths(cache: KvCache): number[] {
  return [...cache.realLengths];
}

/**
 * Runs the decoder on `rows` (one per cache row, each ≥ 1 position) on top of `cache`, left-padding
 * them to a common length, and updates the cache.
 * @example const { logits } = await decoderForward(pkg, [seqA, seqB], new KvCache(spec, 2));
 */
export async function decoderForward(pkg: ModelPackage, rows: readonly Embedded[], cache: KvCache): Promise<ForwardResult> {
  const { hiddenSize: H, vocabSize: V, maxPositions } = pkg.manifest.decoder;
  const B = rows.length;
  if (B !== cache.batch) throw new Error(`decoderForward: ${B} rows for a cache of batch ${cache.batch}`);
  const T = Math.max(...rows.map((r) => r.length));
  if (T < 1) throw new Error("decoderForward: empty input");
  const start = realLengths(cache);
  const embeds = new Float32Array(B * T * H);
  const mask = new BigInt64Array(B * T);
  const positions = new BigInt64Array(B * T);
  const pad = rows.map((r) => T - r.length);
  rows.forEach((r, b) => {
    if (start[b]! + r.length > maxPositions) {
      throw new RangeError(`sequence of ${start[b]! + r.length} positions exceeds the decoder's maxPositions ${maxPositions}`);
    }
    embeds.set(r.data.subarray(0, r.length * H), (b * T + pad[b]!) * H);
    for (let j = 0; j < r.length; j++) {
      mask[b * T + pad[b]! + j] = 1n;
      positions[b * T + pad[b]! + j] = BigInt(start[b]! + j);
    }
  });
  const past = cache.length;
  const fullMask = new BigInt64Array(B * (past + T));
  const pastMask = cache.mask;
  for (let b = 0; b < B; b++) {
    fullMask.set(pastMask.subarray(b * past, (b + 1) * past), b * (past + T));
    fullMask.set(mask.subarray(b * T, (b + 1) * T), b * (past + T) + past);
  }
  const out = await checkedRun(
    pkg.decoder,
    {
      inputs_embeds: new ort.Tensor("float32", embeds, [B, T, H]),
      attention_mask: new ort.Tensor("int64", fullMask, [B, past + T]),
      position_ids: new ort.Tensor("int64", positions, [B, T]),
      ...cache.feeds(),
    },
    pkg.manifest.decoder.graph,
  );
  cache.update(out, mask, T);
  const logits = out.logits;
  if (!logits || logits.dims[2] !== V) throw new Error(`decoder "logits" output has shape [${logits?.dims.join(",")}], expected [${B},${T},${V}]`);
  return { logits: logits.data as Float32Array, T, pad };
}

/** Row `b`'s logits at input index `j` of the call (0-based within the row, padding excluded). */
export function logitsAt(r: ForwardResult, b: number, j: number, V: number): Float32Array {
  const t = r.pad[b]! + j;
  return r.logits.subarray((b * r.T + t) * V, (b * r.T + t + 1) * V);
}
