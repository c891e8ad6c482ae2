/**
 * A loaded model package plus its caches: the ops `encode`, `connect`, prompt building from
 * segments, `decode` and `explain`. Encoder and connector outputs are cached (LRU, bounded by
 * bytes) by content: image bytes sha256 (or text sha256) + encoder graph sha256 + preprocessing,
 * so a chained step or a later run never re-encodes the same image.
 */
import * as ort from "onnxruntime-node";
import type { ConnectRecipe, EncodeRecipe, Segment } from "../../../workflows/index.js";
import { ByteLru } from "../cache/lru.js";
import { explain, type ExplainRequest, type ExplainResult } from "../generate/explain.js";
import { concatEmbedded, embedTokens, type Embedded } from "../generate/forward.js";
import { generate, type GenerateRequest, type GenerateResult } from "../generate/generate.js";
import { DecodePool } from "../image/decode-pool.js";
import { preprocessKey } from "../image/preprocess.js";
import { type ModelPackage } from "../package/load.js";
import { sha256Hex } from "../../../workflows/index.js";
import { checkedRun } from "../package/session.js";

/** A float32 tensor kept inside the worker (only summaries leave it). */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** Errors the caller made (bad input, unknown encoder…): retrying cannot help. */
export class OpError extends Error {
  override name = "OpError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RuntimeOptions {
  /** Byte bound of the encoder-output cache (connector outputs share it). Default 256 MiB. */
  cacheBytes?: number;
  /** Largest image accepted, in pixels. Default 16 Mpx. */
  maxImagePixels?: number;
  /** Fetches input bytes by sha256 (the edge's `/v1/pool/blobs/:sha256`). */
  getBlob?: (sha256: string) => Promise<Uint8Array>;
  /** Image decoding with a per-job pixel and time budget, fair between tenants (one per worker process). */
  decoder?: DecodePool;
  /** Time budget of one large image decode when no `decoder` is given (ms). Default 20 000. */
  decodeTimeoutMs?: number;
}

/**
 * The cache partition of a recipe: the tenant of the job it came with (`JobExecutor` sets it,
 * see `scopeRecipes`). Keys carry it, so a cache hit never reveals another tenant's image.
 */
export type ScopedRecipe = EncodeRecipe & { scope?: string };
const scopeOf = (r: EncodeRecipe) => (r as ScopedRecipe).scope ?? "";
const scopePrefix = (scope: string) => (scope ? `t:${JSON.stringify(scope)}|` : "");

const countRun = (m: Map<string, number>, name: string) => m.set(name, (m.get(name) ?? 0) + 1);

/** A batch output [n, …] → n tensors [1, …] (copies: each is cached on its own). */
function splitBatch(t: ort.Tensor, n: number): Tensor[] {
  const data = t.data as Float32Array;
  const per = data.length / n;
  const dims = [1, ...t.dims.slice(1)];
  return Array.from({ length: n }, (_, i) => ({ data: data.slice(i * per, (i + 1) * per), dims }));
}

/**
 * @example
 * const rt = new ModelRuntime(await loadPackage("gpu-worker/models/metalm-tiny"), { getBlob });
 * const { prompt } = await rt.buildPrompt([
 *   { kind: "span", recipe: { connector: "vision", source: { model: "metalm-tiny", encoder: "vision", image: { sha256 } } } },
 *   { kind: "text", text: "question: what color is the circle? answer:" },
 * ]);
 * const [answer] = await rt.decode([{ prompt, params: { maxTokens: 8, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] } }]);
 */
export class ModelRuntime {
  readonly cache: ByteLru<Tensor>;
  /** Graph runs of each encoder / connector (by name): what the caches saved is what is not counted here (for /metrics). */
  readonly graphRuns = { encoder: new Map<string, number>(), connector: new Map<string, number>() };
  private readonly maxImagePixels: number;
  readonly decoder: DecodePool;
  private readonly getBlob?: (sha256: string) => Promise<Uint8Array>;

  constructor(
    readonly pkg: ModelPackage,
    opts: RuntimeOptions = {},
  ) {
    this.cache = new ByteLru<Tensor>(opts.cacheBytes ?? 256 * 2 ** 20, (t) => t.data.byteLength + 64);
    this.maxImagePixels = opts.maxImagePixels ?? 16_777_216;
    this.decoder = opts.decoder ?? new DecodePool({ maxPixels: this.maxImagePixels, timeoutMs: opts.decodeTimeoutMs ?? 20_000 });
    this.getBlob = opts.getBlob;
  }

  get name(): string {
    return this.pkg.manifest.name;
  }

  private encoder(name: string) {
    const e = this.pkg.encoders.get(name);
    if (!e) throw new OpError("unknown_encoder", `model ${this.name} has no encoder "${name}" (has: ${[...this.pkg.encoders.keys()].join(", ")})`);
    return e;
  }

  /** Cache key of an encode recipe (its tenant partition + content hash + encoder sha256 + preprocessing). */
  encodeKey(recipe: EncodeRecipe): string {
    const e = this.encoder(recipe.encoder);
    const t = scopePrefix(scopeOf(recipe));
    if (e.spec.modality === "image") {
      if (!recipe.image) throw new OpError("missing_input", `encoder "${recipe.encoder}" needs an image`);
      return `${t}enc:${e.sha256}:${preprocessKey(e.spec.image)}:img:${recipe.image.sha256}`;
    }
    if (recipe.text === undefined) throw new OpError("missing_input", `encoder "${recipe.encoder}" needs a text`);
    return `${t}enc:${e.sha256}:text:max${e.spec.maxLength}:${this.pkg.tokenizerSha256}:${sha256Hex(recipe.text)}`;
  }

  /** Encoder states [1, P, He] for a recipe (cached). */
  async encode(recipe: EncodeRecipe): Promise<{ tensor: Tensor; hit: boolean }> {
    if (recipe.model !== this.name) throw new OpError("unknown_model", `recipe is for model "${recipe.model}", this runtime holds "${this.name}"`);
    const key = this.encodeKey(recipe);
    const { value, hit } = await this.cache.getOrCompute(key, () => this.computeEncode(recipe));
    return { tensor: value, hit };
  }

  private async computeEncode(recipe: EncodeRecipe): Promise<Tensor> {
    const e = this.encoder(recipe.encoder);
    if (e.spec.modality === "image") return (await this.encodeImagesBytes(recipe.encoder, [await this.imageBytes(recipe)], [scopeOf(recipe)]))[0]!;
    return this.encodeText(recipe.encoder, recipe.text!);
  }

  /** Runs an image encoder on raw PNG/JPEG bytes (uncached). */
  async encodeImageBytes(encoder: string, bytes: Uint8Array): Promise<Tensor> {
    return (await this.encodeImagesBytes(encoder, [bytes]))[0]!;
  }

  /**
   * Runs an image encoder on several images in ONE graph run (batch axis; uncached): what jobs of
   * different runs leased together share. Counts one encoder run per image. Decoding goes through
   * the decode pool (pixel and time budget; `tenants[i]` = whose turn image i is).
   */
  async encodeImagesBytes(encoder: string, images: readonly Uint8Array[], tenants: readonly string[] = []): Promise<Tensor[]> {
    const e = this.encoder(encoder);
    const spec = e.spec;
    if (spec.modality !== "image") throw new OpError("wrong_modality", `encoder "${encoder}" is not an image encoder`);
    const S = spec.image.size;
    const n = images.length;
    const pixels = new Float32Array(n * 3 * S * S);
    const decoded = await Promise.all(images.map((bytes, i) => this.decoder.preprocess(bytes, spec.image, tenants[i] ?? "")));
    decoded.forEach((p, i) => pixels.set(p, i * 3 * S * S));
    for (let i = 0; i < n; i++) countRun(this.graphRuns.encoder, encoder);
    const out = await checkedRun(e.session, { pixel_values: new ort.Tensor("float32", pixels, [n, 3, S, S]) }, e.spec.graph);
    return splitBatch(out.last_hidden_state!, n);
  }

  /** Cache key of a connect recipe (connector sha256 + the encode key of its source). */
  connectKey(recipe: ConnectRecipe): string {
    const c = this.pkg.connectors.get(recipe.connector);
    if (!c) throw new OpError("unknown_connector", `model ${this.name} has no connector "${recipe.connector}"`);
    return `conn:${c.sha256}:${this.encodeKey(recipe.source)}`;
  }

  /**
   * Computes into the cache, batched, what these recipes need: the image encoder outputs under
   * `encodes` and `connects` with one encoder run per encoder, then the connector outputs with
   * one connector run per connector. Best effort and silent: whatever fails here (a bad image, a
   * missing blob, an unknown encoder) is left uncached, and the job that needs it computes it
   * alone and reports the error. Text encoders are left to the jobs (their lengths differ).
   */
  async warm(encodes: readonly EncodeRecipe[], connects: readonly ConnectRecipe[]): Promise<void> {
    const groups = new Map<string, { key: string; recipe: EncodeRecipe }[]>();
    for (const r of [...encodes, ...connects.map((c) => c.source)]) {
      try {
        if (r.model !== this.name || this.encoder(r.encoder).spec.modality !== "image") continue;
        const key = this.encodeKey(r);
        if (this.cache.has(key) || this.cache.computing(key)) continue;
        const g = groups.get(r.encoder) ?? [];
        if (!g.some((x) => x.key === key)) g.push({ key, recipe: r });
        groups.set(r.encoder, g);
      } catch {
        /* the job reports it */
      }
    }
    await Promise.all(
      [...groups].map(async ([encoder, list]) => {
        const byKey = new Map(list.map((x) => [x.key, x.recipe]));
        await this.cache
          .computeMany([...byKey.keys()], async (keys) => {
            const bytes = await Promise.all(keys.map((k) => this.imageBytes(byKey.get(k)!)));
            return this.encodeImagesBytes(
              encoder,
              bytes,
              keys.map((k) => scopeOf(byKey.get(k)!)),
            );
          })
          .catch(() => {}); // one by one, in the jobs
      }),
    );
    const conns = new Map<string, { key: string; recipe: ConnectRecipe }[]>();
    for (const r of connects) {
      try {
        const key = this.connectKey(r);
        if (this.cache.has(key) || this.cache.computing(key) || !this.cache.has(this.encodeKey(r.source))) continue;
        if (this.pkg.connectors.get(r.connector)!.spec.encoder !== r.source.encoder) continue;
        const g = conns.get(r.connector) ?? [];
        if (!g.some((x) => x.key === key)) g.push({ key, recipe: r });
        conns.set(r.connector, g);
      } catch {
        /* the job reports it */
      }
    }
    await Promise.all(
      [...conns].map(async ([connector, list]) => {
        const byKey = new Map(list.map((x) => [x.key, x.recipe]));
        await this.cache
          .computeMany([...byKey.keys()], async (keys) => {
            const states = await Promise.all(keys.map(async (k) => (await this.encode(byKey.get(k)!.source)).tensor));
            return this.runConnector(connector, states);
          })
          .catch(() => {});
      }),
    );
  }

  /** The bytes of an image recipe, checked against its sha256. */
  private async imageBytes(recipe: EncodeRecipe): Promise<Uint8Array> {
    const sha = recipe.image!.sha256;
    if (!this.getBlob) throw new OpError("no_blob_source", "this runtime has no getBlob to fetch images with");
    const bytes = await this.getBlob(sha);
    if (sha256Hex(bytes) !== sha) throw new OpError("blob_mismatch", `blob ${sha} does not hash to its sha256`);
    return bytes;
  }

  /** One connector run over encoder states of equal shape [1, P, He] → [1, P, Hd] each (uncached). */
  private async runConnector(connector: string, states: readonly Tensor[]): Promise<Tensor[]> {
    const c = this.pkg.connectors.get(connector)!;
    const [, P, He] = states[0]!.dims as [number, number, number];
    if (states.some((t) => t.dims[1] !== P || t.dims[2] !== He)) {
      const out: Tensor[] = [];
      for (const t of states) out.push(...(await this.runConnector(connector, [t])));
      return out;
    }
    const data = new Float32Array(states.length * P * He);
    states.forEach((t, i) => data.set(t.data, i * P * He));
    for (let i = 0; i < states.length; i++) countRun(this.graphRuns.connector, connector);
    const out = await checkedRun(c.session, { encoder_hidden_states: new ort.Tensor("float32", data, [states.length, P, He]) }, c.spec.graph);
    return splitBatch(out.inputs_embeds!, states.length);
  }

  /** Runs a text encoder (tokens without specials, truncated to maxLength; uncached). */
  async encodeText(encoder: string, text: string): Promise<Tensor> {
    const e = this.encoder(encoder);
    if (e.spec.modality !== "text") throw new OpError("wrong_modality", `encoder "${encoder}" is not a text encoder`);
    const ids = this.pkg.tokenizer.encode(text).slice(0, e.spec.maxLength);
    if (ids.length === 0) throw new OpError("empty_text", `text for encoder "${encoder}" has no tokens`);
    const T = ids.length;
    countRun(this.graphRuns.encoder, encoder);
    const out = await checkedRun(
      e.session,
      {
        input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, T]),
        attention_mask: new ort.Tensor("int64", new BigInt64Array(T).fill(1n), [1, T]),
      },
      e.spec.graph,
    );
    const t = out.last_hidden_state!;
    return { data: t.data as Float32Array, dims: [...t.dims] };
  }

  /** Connector outputs [1, P, Hd] for a recipe (cached; recomputes or reuses the encode). */
  async connect(recipe: ConnectRecipe): Promise<{ tensor: Tensor; hit: boolean }> {
    const c = this.pkg.connectors.get(recipe.connector);
    if (!c) throw new OpError("unknown_connector", `model ${this.name} has no connector "${recipe.connector}"`);
    if (c.spec.encoder !== recipe.source.encoder) {
      throw new OpError("connector_mismatch", `connector "${recipe.connector}" docks encoder "${c.spec.encoder}", not "${recipe.source.encoder}"`);
    }
    const { value, hit } = await this.cache.getOrCompute(this.connectKey(recipe), async () => {
      const { tensor } = await this.encode(recipe.source);
      return (await this.runConnector(recipe.connector, [tensor]))[0]!;
    });
    return { tensor: value, hit };
  }

  /** Decoder inputs for segments: `bos`, then each span's connector outputs and each text's tokens, in order. */
  async buildPrompt(segments: readonly Segment[]): Promise<{ prompt: Embedded; cacheHit: boolean }> {
    const H = this.pkg.manifest.decoder.hiddenSize;
    const ids: number[] = [this.pkg.manifest.decoder.specialTokens.bos];
    const plan: ({ kind: "tokens"; from: number; n: number } | { kind: "span"; t: Tensor })[] = [{ kind: "tokens", from: 0, n: 1 }];
    let allHit = true;
    for (const s of segments) {
      if (s.kind === "text") {
        const t = this.pkg.tokenizer.encode(s.text);
        if (t.length) plan.push({ kind: "tokens", from: ids.length, n: t.length });
        ids.push(...t);
      } else {
        const { tensor, hit } = await this.connect(s.recipe);
        allHit &&= hit;
        if (tensor.dims[2] !== H) throw new OpError("shape_mismatch", `connector output hidden size ${tensor.dims[2]} ≠ decoder hidden size ${H}`);
        plan.push({ kind: "span", t: tensor });
      }
    }
    const emb = await embedTokens(this.pkg, ids);
    const parts = plan.map((p) =>
      p.kind === "tokens" ? { data: emb.subarray(p.from * H, (p.from + p.n) * H), length: p.n } : { data: p.t.data, length: p.t.dims[1]! },
    );
    const prompt = concatEmbedded(parts, H);
    if (prompt.length > this.pkg.manifest.decoder.maxPositions) {
      throw new OpError("prompt_too_long", `prompt has ${prompt.length} positions, the decoder's maxPositions is ${this.pkg.manifest.decoder.maxPositions}`);
    }
    return { prompt, cacheHit: allHit && segments.some((s) => s.kind === "span") };
  }

  /** Batched decode (KV cache). */
  decode(reqs: readonly GenerateRequest[], opts?: { useCache?: boolean }): Promise<GenerateResult[]> {
    return generate(this.pkg, reqs, opts);
  }

  /** Batched explain. */
  explain(reqs: readonly ExplainRequest[]): Promise<ExplainResult[]> {
    return explain(this.pkg, reqs);
  }
}
