/**
 * `executeJob(job) → JobResult`: the wire Job shapes of docs/CONTRACTS.md §4 in, StepOutput +
 * Receipt + timings out. Recipes are recomputed through the runtime's caches (encode → connect →
 * decode), images fetched through the runtime's `getBlob`. `executeBatch` runs decode/explain jobs
 * of one model as one batch; its per-job results are those of running each job alone.
 */
import type { EncodeRecipe, Job, JobOf, JobResult, Receipt, StepOutput, WireError } from "../../../workflows/index.js";
import type { ExplainRequest } from "../generate/explain.js";
import type { GenerateParams, GenerateRequest, TokenEvent } from "../generate/generate.js";
import { ImageError } from "../image/decode.js";
import { PackageError } from "../package/manifest.js";
import { FeedError } from "../package/session.js";
import { OpError, type ModelRuntime, type ScopedRecipe } from "../ops/runtime.js";
import { TokenizerError } from "../tokenizer/index.js";
import { summarize } from "./summary.js";

export interface JobContext {
  /** Aborts decoding between tokens (the run was canceled): finishReason `canceled`. */
  signal?: AbortSignal;
  onToken?: (t: TokenEvent) => void;
  /** Time the job waited in the worker before running (reported in timings). */
  queueMs?: number;
  /**
   * False when the job's encoder/connector outputs were computed for it ahead of the batch (the
   * worker prefetches them outside the compute slot), so its result still reports a cache miss.
   */
  prefetchHit?: boolean;
}

export interface JobItem {
  job: Job;
  ctx?: JobContext;
}

/** Errors that retrying cannot fix: bad inputs, shape mismatches, invalid packages. */
export function toWireError(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  if (err instanceof OpError) return { code: err.code, message: err.message, retryable: err.code === "no_blob_source" };
  if (err instanceof ImageError) return { code: err.code, message: err.message, retryable: false };
  if (err instanceof TokenizerError || err instanceof FeedError || err instanceof PackageError || err instanceof RangeError) {
    return { code: err instanceof RangeError ? "out_of_range" : "invalid_input", message: err.message, retryable: false };
  }
  return { code: "worker_error", message: err.message || err.name, retryable: true };
}

/**
 * Tag each encode recipe of a job with the job's tenant (idempotent): the runtime's cache keys
 * and the decode queue read it, so one tenant's cache hits never reveal another's images.
 */
export function scopeRecipes(job: Job): void {
  if (!job.tenant) return;
  const sources: EncodeRecipe[] =
    job.op === "encode" ? [job.recipe] : job.op === "connect" ? [job.recipe.source] : job.segments.flatMap((s) => (s.kind === "span" ? [s.recipe.source] : []));
  for (const r of sources) (r as ScopedRecipe).scope = job.tenant;
}

const toGenerateParams = (p: JobOf<"decode">["params"]): GenerateParams => ({
  maxTokens: p.maxTokens,
  temperature: p.temperature,
  topK: p.topK,
  topP: p.topP,
  seed: p.seed,
  stop: p.stop,
});

/**
 * @example
 * const executor = new JobExecutor(new Map([[rt.name, rt]]), "worker-1");
 * const results = await executor.executeBatch(leased.map((job) => ({ job })));
 */
export class JobExecutor {
  constructor(
    readonly runtimes: ReadonlyMap<string, ModelRuntime>,
    readonly workerId: string,
  ) {}

  /**
   * Computes (into the runtime's caches) the encoder and connector outputs a job needs, fetching
   * its images: I/O and encoders run outside the compute slot of a batch. Resolves to whether
   * everything was cached already; never rejects (a failure surfaces again when the job runs).
   */
  async prefetch(job: Job): Promise<boolean> {
    scopeRecipes(job);
    const rt = this.runtimes.get(job.model);
    if (!rt) return true;
    const work: Promise<{ hit: boolean }>[] =
      job.op === "encode"
        ? [rt.encode(job.recipe)]
        : job.op === "connect"
          ? [rt.connect(job.recipe)]
          : job.segments.flatMap((s) => (s.kind === "span" ? [rt.connect(s.recipe)] : []));
    const got = await Promise.allSettled(work);
    return got.every((g) => g.status === "rejected" || g.value.hit);
  }

  /**
   * `prefetch` for many jobs at once (those leased together, across runs): image encoder and
   * connector outputs computed with one graph run per encoder / connector (`ModelRuntime.warm`)
   * instead of one per image. Per job, whether its outputs were there already — or are computed
   * for an EARLIER job of the list (a decode after its run's connect step is a cache hit, as it
   * would be run after it). Never rejects.
   */
  async prefetchMany(jobs: readonly Job[]): Promise<boolean[]> {
    jobs.forEach(scopeRecipes);
    const byModel = new Map<string, Job[]>();
    for (const j of jobs) byModel.set(j.model, [...(byModel.get(j.model) ?? []), j]);
    const keysOf = new Map<Job, string[] | null>();
    const owned = new Set<string>();
    const hits = jobs.map((job) => {
      const rt = this.runtimes.get(job.model);
      if (!rt) return true;
      let keys: string[];
      try {
        keys =
          job.op === "encode"
            ? [rt.encodeKey(job.recipe)]
            : job.op === "connect"
              ? [rt.connectKey(job.recipe)]
              : job.segments.flatMap((s) => (s.kind === "span" ? [rt.connectKey(s.recipe)] : []));
      } catch {
        keysOf.set(job, null);
        return true; // a failure surfaces when the job runs
      }
      keysOf.set(job, keys);
      const hit = keys.every((k) => rt.cache.has(k) || rt.cache.computing(k) || owned.has(k));
      for (const k of keys) owned.add(k);
      return hit;
    });
    await Promise.all(
      [...byModel].map(async ([model, list]) => {
        const rt = this.runtimes.get(model);
        if (!rt) return;
        const ok = list.filter((j) => keysOf.get(j) !== null);
        await rt.warm(
          ok.flatMap((j) => (j.op === "encode" ? [j.recipe] : [])),
          ok.flatMap((j) => (j.op === "connect" ? [j.recipe] : j.op === "encode" ? [] : j.segments.flatMap((s) => (s.kind === "span" ? [s.recipe] : [])))),
        );
      }),
    );
    return hits;
  }

  /**
   * Runs one job.
   * @example const result = await executor.executeJob(job, { signal, onToken: (t) => progress.push(t) });
   */
  async executeJob(job: Job, ctx: JobContext = {}): Promise<JobResult> {
    const [r] = await this.executeBatch([{ job, ctx }]);
    return r!;
  }

  /** Runs jobs; decode/explain jobs of the same model run as one batch per (model, op). */
  async executeBatch(items: readonly JobItem[]): Promise<JobResult[]> {
    for (const { job } of items) scopeRecipes(job);
    const results = new Array<JobResult>(items.length);
    const groups = new Map<string, number[]>();
    items.forEach(({ job }, i) => {
      if (job.op === "decode" || job.op === "explain") {
        const k = `${job.model}\0${job.op}`;
        groups.set(k, [...(groups.get(k) ?? []), i]);
      } else groups.set(`single\0${i}`, [i]);
    });
    for (const idx of groups.values()) {
      const batch = idx.map((i) => items[i]!);
      const out = await this.runGroup(batch).catch(async (e) => {
        if (batch.length === 1) return [this.fail(batch[0]!.job, e)];
        // isolate a failing job: rerun one by one
        const one: JobResult[] = [];
        for (const it of batch) one.push(...(await this.runGroup([it]).catch((e2) => [this.fail(it.job, e2)])));
        return one;
      });
      idx.forEach((i, k) => (results[i] = out[k]!));
    }
    return results;
  }

  private runtime(job: Job): ModelRuntime {
    const rt = this.runtimes.get(job.model);
    if (!rt) throw new OpError("unknown_model", `this worker has no model "${job.model}" (has: ${[...this.runtimes.keys()].join(", ")})`);
    return rt;
  }

  private fail(job: Job, e: unknown): JobResult {
    const error = toWireError(e);
    if (e instanceof OpError && e.code === "unknown_model") error.retryable = true; // another worker may have it
    return { jobId: job.jobId, leaseId: job.leaseId, ok: false, error };
  }

  private receipt(rt: ModelRuntime, seed: number, params: Record<string, unknown>): Receipt {
    const p = rt.pkg;
    return {
      workerId: this.workerId,
      model: p.manifest.name,
      modelVersion: p.manifest.version,
      modelSha256: p.sha256,
      tokenizerSha256: p.tokenizerSha256,
      ortVersion: p.ortVersion,
      executionProvider: p.executionProvider,
      requestedProviders: p.requestedProviders,
      providerFallbacks: p.providerFallbacks,
      seed,
      params,
    };
  }

  private ok(
    job: Job,
    rt: ModelRuntime,
    output: StepOutput,
    cacheHit: boolean,
    t0: number,
    ctx: JobContext | undefined,
    seed: number,
    params: Record<string, unknown>,
  ): JobResult {
    const timings: { computeMs: number; queueMs?: number } = { computeMs: performance.now() - t0 };
    if (ctx?.queueMs !== undefined) timings.queueMs = ctx.queueMs;
    if (ctx?.prefetchHit === false) cacheHit = false;
    return { jobId: job.jobId, leaseId: job.leaseId, ok: true, output, receipt: this.receipt(rt, seed, params), timings, cacheHit };
  }

  /** All items share model and op (or there is one item). Throws only if the whole group failed. */
  private async runGroup(items: readonly JobItem[]): Promise<JobResult[]> {
    const t0 = performance.now();
    const first = items[0]!.job;
    const rt = this.runtime(first);
    switch (first.op) {
      case "encode": {
        const { tensor, hit } = await rt.encode(first.recipe);
        return [this.ok(first, rt, { op: "encode", tensor: summarize(tensor) }, hit, t0, items[0]!.ctx, 0, { encoder: first.recipe.encoder })];
      }
      case "connect": {
        const { tensor, hit } = await rt.connect(first.recipe);
        return [
          this.ok(first, rt, { op: "connect", tensor: summarize(tensor) }, hit, t0, items[0]!.ctx, 0, {
            connector: first.recipe.connector,
            encoder: first.recipe.source.encoder,
          }),
        ];
      }
      case "decode":
      case "explain":
        return this.runDecoding(rt, items, t0);
    }
  }

  private async runDecoding(rt: ModelRuntime, items: readonly JobItem[], t0: number): Promise<JobResult[]> {
    const results: (JobResult | undefined)[] = new Array(items.length);
    const ready: { i: number; req: GenerateRequest & Partial<ExplainRequest>; hit: boolean }[] = [];
    for (let i = 0; i < items.length; i++) {
      const { job, ctx } = items[i]!;
      if (job.op !== "decode" && job.op !== "explain") throw new Error("unreachable: mixed ops in a batch");
      try {
        const { prompt, cacheHit } = await rt.buildPrompt(job.segments);
        const req: GenerateRequest & Partial<ExplainRequest> = { prompt, params: toGenerateParams(job.params), signal: ctx?.signal, onToken: ctx?.onToken };
        if (job.op === "explain") req.labels = job.labels;
        ready.push({ i, req, hit: cacheHit });
      } catch (e) {
        results[i] = this.fail(job, e); // a bad job must not sink its batch
      }
    }
    if (ready.length) {
      const op = items[0]!.job.op;
      if (op === "decode") {
        const out = await rt.decode(ready.map((r) => r.req));
        ready.forEach((r, k) => {
          const g = out[k]!;
          const { job, ctx } = items[r.i]!;
          const output: StepOutput = {
            op: "decode",
            text: g.text,
            tokens: g.tokens,
            tokenTexts: g.tokenTexts,
            logprobs: g.logprobs,
            finishReason: g.finishReason,
          };
          results[r.i] = this.ok(job, rt, output, r.hit, t0, ctx, r.req.params.seed, { ...r.req.params });
        });
      } else {
        const out = await rt.explain(ready.map((r) => r.req as ExplainRequest));
        ready.forEach((r, k) => {
          const x = out[k]!;
          const { job, ctx } = items[r.i]!;
          const output: StepOutput = {
            op: "explain",
            label: x.label,
            scores: x.scores,
            explanation: x.explanation,
            text: x.text,
            tokens: x.tokens,
            logprobs: x.logprobs,
          };
          results[r.i] = this.ok(job, rt, output, r.hit, t0, ctx, r.req.params.seed, { ...r.req.params, labels: r.req.labels });
        });
      }
    }
    return results as JobResult[];
  }
}
