/**
 * The worker process's engine: lease jobs from the edge (long-poll, several at once), run them
 * through the dynamic batcher, heartbeat while holding them (honouring `cancel` and `lost`), post
 * token progress and results (batched), and shut down gracefully.
 *
 * One round trip per phase: the lease answer carries the images its jobs read (kept in a local
 * content-addressed cache; fetched only on a miss); the image encoder and connector outputs of
 * all jobs leased together are computed in one graph run each; the results of the jobs of one
 * run leased together go back in ONE post, with the tokens not yet posted as progress.
 *
 * A job stays "held" from lease until its result is accepted or ignored by the edge: heartbeats
 * keep extending its lease the whole time, so a slow result post never loses a finished job.
 * A worker that dies simply stops heartbeating; the edge re-leases its jobs to another worker.
 */
import { traceRun, tracing, type Job, type JobResult, type ProgressToken } from "../../../workflows/index.js";
import { DynamicBatcher } from "../batcher/index.js";
import { ByteLru } from "../cache/lru.js";
import { DecodePool } from "../image/decode-pool.js";
import { JobExecutor, type JobItem } from "../job/execute.js";
import { OpError, type ModelRuntime } from "../ops/runtime.js";
import { maxBatchFor, type WorkerConfig } from "./config.js";
import { EdgeClient, EdgeError } from "./edge-client.js";
import type { Log } from "./log.js";
import { WorkerMetrics } from "./metrics.js";
import { advertOf, loadRuntimes } from "./models.js";

interface Held {
  job: Job;
  ctl: AbortController;
  lost: boolean;
  progress: ProgressToken[];
  /** A progress post of this job in flight (its tokens must be stored before the result). */
  sending?: Promise<void>;
  result?: JobResult;
  /** The jobs of the same run leased in the same answer: their results are posted together. */
  group: string[];
}

/** Bytes of input images kept by sha256 (lease answers and blob fetches fill it). */
const BLOB_CACHE_BYTES = 64 * 2 ** 20;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
  });

/**
 * @example
 * const worker = new Worker(configFromEnv(), jsonLog({ workerId: "w1" }));
 * await worker.start(); // … later, on SIGTERM:
 * await worker.stop();
 */
export class Worker {
  readonly client: EdgeClient;
  runtimes = new Map<string, ModelRuntime>();
  metrics!: WorkerMetrics;
  private executor!: JobExecutor;
  private batcher!: DynamicBatcher<JobItem, JobResult>;
  private readonly held = new Map<string, Held>();
  private leaseMs = 30_000;
  private stopping = false;
  private readonly stopCtl = new AbortController();
  private slotWaiters: (() => void)[] = [];
  private posting = false;
  private progressTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private leaseLoopDone?: Promise<void>;
  executionProvider = "cpu";
  registered = false;
  /** Input images by sha256: content-addressed, so an entry never goes stale. */
  private readonly blobs = new ByteLru<Uint8Array>(BLOB_CACHE_BYTES, (b) => b.byteLength);

  constructor(
    readonly cfg: WorkerConfig,
    private readonly log: Log,
  ) {
    this.client = new EdgeClient(cfg.edgeUrl, cfg.poolToken, cfg.workerId);
  }

  /** Loads the model packages, registers and starts leasing. */
  async start(): Promise<void> {
    this.runtimes = await loadRuntimes(
      this.cfg.modelsDir,
      {
        executionProviders: this.cfg.executionProviders,
        intraOpNumThreads: this.cfg.intraOpNumThreads,
        interOpNumThreads: this.cfg.interOpNumThreads,
        kvOnDevice: this.cfg.kvOnDevice,
      },
      {
        cacheBytes: this.cfg.encoderCacheBytes,
        maxImagePixels: this.cfg.maxImagePixels,
        getBlob: (sha) => this.getBlob(sha),
        // one decode thread for every model: at most one large image in memory at a time
        decoder: new DecodePool({ maxPixels: this.cfg.maxImagePixels, timeoutMs: this.cfg.decodeTimeoutMs, inlinePixels: this.cfg.decodeInlinePixels }),
      },
      (m) => this.log.warn(m),
      (m) => this.log.error(m),
    );
    this.executionProvider = [...new Set([...this.runtimes.values()].map((r) => r.pkg.executionProvider))].join("+");
    this.metrics = new WorkerMetrics(() => this.runtimes.values());
    this.executor = new JobExecutor(this.runtimes, this.cfg.workerId);
    this.batcher = new DynamicBatcher<JobItem, JobResult>({
      maxBatchSize: maxBatchFor(this.cfg, this.executionProvider),
      maxQueueDelayMs: this.cfg.maxQueueDelayMs,
      // encode/connect jobs share a slot too: their graph work was batched ahead (prefetchMany),
      // what is left per job is a cache read and a summary
      keyOf: ({ job }) => `${job.model}:${job.op}`,
      run: (items, info) => this.runBatch(items, info.queueMs),
    });
    this.log.info("models loaded", { models: [...this.runtimes.keys()], executionProvider: this.executionProvider });
    await this.register();
    this.leaseLoopDone = this.leaseLoop();
  }

  private async register(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        const { leaseMs } = await this.client.register({
          executionProvider: this.executionProvider,
          ortVersion: [...this.runtimes.values()][0]!.pkg.ortVersion,
          models: [...this.runtimes.values()].map(advertOf),
        });
        this.leaseMs = leaseMs;
        this.registered = true;
        this.startHeartbeats();
        this.log.info("registered", { edge: this.cfg.edgeUrl, leaseMs });
        return;
      } catch (e) {
        this.log.warn("register failed; retrying", { error: (e as Error).message, attempt });
        await sleep(Math.min(5000, 200 * 2 ** attempt), this.stopCtl.signal);
      }
    }
  }

  private startHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.heartbeatTimer.unref();
  }

  private async getBlob(sha: string): Promise<Uint8Array> {
    try {
      return (await this.blobs.getOrCompute(sha, () => this.client.blob(sha))).value;
    } catch (e) {
      if (e instanceof EdgeError && e.status === 404) throw new OpError("blob_not_found", `input blob ${sha} not found at the edge`);
      throw e;
    }
  }

  private async leaseLoop(): Promise<void> {
    let backoff = 100;
    while (!this.stopping) {
      const free = this.cfg.leaseMax - this.held.size;
      if (free <= 0) {
        await new Promise<void>((r) => this.slotWaiters.push(r));
        continue;
      }
      try {
        const { jobs, blobs } = await this.client.lease(free, this.cfg.leaseWaitMs, this.stopCtl.signal);
        if (tracing) for (const j of jobs) traceRun(j.runId, `worker.leased.${j.stepId}`);
        backoff = 100;
        // the runtime checks every image against its sha256 before use
        for (const [sha, bytes] of blobs) this.blobs.set(sha, bytes);
        this.accept(jobs);
      } catch (e) {
        if (this.stopping) break;
        this.log.warn("lease failed", { error: (e as Error).message });
        if (e instanceof EdgeError && [401, 403, 404, 409, 410].includes(e.status)) await this.register();
        await sleep(backoff, this.stopCtl.signal);
        backoff = Math.min(5000, backoff * 2);
      }
    }
  }

  /** Jobs of one lease answer: held, prefetched together, then each through the batcher. */
  private accept(jobs: Job[]): void {
    const fresh = jobs.filter((j) => !this.held.has(j.jobId)); // a duplicate delivery of a job we already hold
    if (!fresh.length) return;
    const groups = new Map<string, string[]>();
    for (const j of fresh) groups.set(j.runId, [...(groups.get(j.runId) ?? []), j.jobId]);
    const held = fresh.map((job) => {
      const h: Held = { job, ctl: new AbortController(), lost: false, progress: [], group: groups.get(job.runId)! };
      this.held.set(job.jobId, h);
      return h;
    });
    this.metrics.active.set(this.held.size);
    // images encoded (batched) as soon as the jobs arrive, outside the batch's compute slot: one
    // batch per tenant, so a tenant's small image never waits for another tenant's huge ones to
    // decode when both arrive in one lease answer (jobs of one tenant still share the graph runs)
    const byTenant = new Map<string, Job[]>();
    for (const j of fresh) byTenant.set(j.tenant ?? "", [...(byTenant.get(j.tenant ?? "") ?? []), j]);
    const hitOf = new Map<Job, Promise<boolean>>();
    for (const list of byTenant.values()) {
      const all = this.executor.prefetchMany(list);
      if (tracing) void all.then(() => list.forEach((j) => traceRun(j.runId, `worker.prefetched.${j.stepId}`)));
      list.forEach((j, i) =>
        hitOf.set(
          j,
          all.then((hits) => hits[i]!),
        ),
      );
    }
    for (const h of held) {
      const { job } = h;
      const decoding = job.op === "decode" || job.op === "explain";
      const onToken = decoding && this.cfg.progress ? (t: ProgressToken) => this.onToken(h, t) : undefined;
      hitOf
        .get(job)!
        .then((prefetchHit) => this.batcher.submit({ job, ctx: { signal: h.ctl.signal, onToken, prefetchHit } }))
        .then((r) => this.finish(h, r))
        .catch((e) =>
          this.finish(h, {
            jobId: job.jobId,
            leaseId: job.leaseId,
            ok: false,
            error: { code: "worker_error", message: (e as Error).message, retryable: true },
          }),
        );
    }
  }

  private async runBatch(items: JobItem[], queueMs: number[]): Promise<JobResult[]> {
    const live = items.map((it, i) => ({ it, i })).filter(({ it }) => !this.held.get(it.job.jobId)?.lost);
    live.forEach(({ it, i }) => {
      it.ctx = { ...it.ctx, queueMs: queueMs[i] };
      this.metrics.queueWait.observe(queueMs[i]! / 1000);
    });
    const op = items[0]!.job.op;
    const t0 = performance.now();
    const out = await this.executor.executeBatch(live.map(({ it }) => it));
    const seconds = (performance.now() - t0) / 1000;
    this.metrics.compute.observe({ op }, seconds);
    this.metrics.batchSize.observe({ op }, live.length);
    let tokens = 0;
    for (const r of out) if (r.ok && (r.output.op === "decode" || r.output.op === "explain")) tokens += r.output.tokens.length;
    if (tokens) {
      this.metrics.tokens.inc(tokens);
      this.metrics.tokensPerSecond.set(tokens / Math.max(seconds, 1e-6));
    }
    const results: JobResult[] = items.map((it) => ({
      jobId: it.job.jobId,
      leaseId: it.job.leaseId,
      ok: false,
      error: { code: "lost", message: "lease lost", retryable: true },
    }));
    live.forEach(({ i }, k) => (results[i] = out[k]!));
    return results;
  }

  private async finish(h: Held, r: JobResult): Promise<void> {
    this.metrics.jobs.inc({ op: h.job.op, outcome: h.lost ? "lost" : r.ok ? "ok" : "error" });
    if (h.lost) return this.release(h.job.jobId);
    if (r.ok && r.output.op === "decode" && r.output.finishReason === "canceled") this.log.info("job canceled", { jobId: h.job.jobId });
    // tokens not posted yet travel with the result (no progress post for a finished job); a post
    // already in flight lands first, so the token events stay in order
    await h.sending;
    if (r.ok && h.progress.length) r = { ...r, progress: h.progress.splice(0) };
    h.result = r;
    if (tracing) traceRun(h.job.runId, `worker.finished.${h.job.stepId}`);
    void this.postResults();
  }

  /** A result is posted once every job of its group (same run, same lease answer) has one. */
  private groupDone(h: Held): boolean {
    return h.group.every((id) => {
      const g = this.held.get(id);
      return !g || g.lost || g.result !== undefined;
    });
  }

  private release(jobId: string): void {
    this.held.delete(jobId);
    this.metrics.active.set(this.held.size);
    for (const w of this.slotWaiters.splice(0)) w();
  }

  private async postResults(): Promise<void> {
    if (this.posting) return;
    this.posting = true;
    let backoff = 100;
    try {
      for (;;) {
        const ready = [...this.held.values()].filter((h) => h.result && !h.lost && this.groupDone(h)).slice(0, 64);
        if (ready.length === 0) break;
        try {
          if (tracing) for (const h of ready) traceRun(h.job.runId, `worker.post.${h.job.stepId}`);
          const { accepted, ignored } = await this.client.results(ready.map((h) => h.result!));
          if (tracing) for (const h of ready) traceRun(h.job.runId, `worker.posted.${h.job.stepId}`);
          if (ignored.length) this.log.warn("results ignored by the edge (lease no longer ours)", { ignored });
          for (const h of ready) this.release(h.job.jobId);
          backoff = 100;
          void accepted;
        } catch (e) {
          if (e instanceof EdgeError && (e.status === 404 || e.status === 409) && !this.stopping) {
            await this.register(); // the edge forgot this worker: register again, then retry
            continue;
          }
          if (e instanceof EdgeError && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 429) {
            this.log.error("results rejected; dropping them", { error: e.message, jobIds: ready.map((h) => h.job.jobId) });
            for (const h of ready) this.release(h.job.jobId);
            continue;
          }
          this.log.warn("posting results failed; retrying", { error: (e as Error).message });
          await sleep(backoff);
          backoff = Math.min(5000, backoff * 2);
        }
      }
    } finally {
      this.posting = false;
    }
  }

  private async heartbeat(): Promise<void> {
    const jobIds = [...this.held.keys()];
    if (jobIds.length === 0) return;
    try {
      const { cancel, lost } = await this.client.heartbeat(jobIds);
      for (const id of cancel) this.held.get(id)?.ctl.abort();
      for (const id of lost) {
        const h = this.held.get(id);
        if (!h) continue;
        h.lost = true;
        h.ctl.abort();
        if (h.result) this.release(id); // finished but not yet posted: drop it
      }
      if (cancel.length || lost.length) this.log.info("heartbeat", { cancel, lost });
    } catch (e) {
      this.log.warn("heartbeat failed", { error: (e as Error).message });
      if (e instanceof EdgeError && (e.status === 404 || e.status === 409) && !this.stopping) await this.register();
    }
  }

  private onToken(h: Held, t: ProgressToken): void {
    h.progress.push(t);
    if (!this.progressTimer) this.progressTimer = setTimeout(() => void this.flushProgress(), 100);
  }

  private async flushProgress(): Promise<void> {
    clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    const sends = [...this.held.values()]
      .filter((h) => h.progress.length && !h.lost && !h.result && !h.sending)
      .map((h) => {
        const tokens = h.progress.splice(0, 1024);
        h.sending = (async () => {
          try {
            const { cancel } = await this.client.progress(h.job.jobId, tokens);
            if (cancel) h.ctl.abort();
          } catch (e) {
            this.log.warn("progress failed", { jobId: h.job.jobId, error: (e as Error).message });
          } finally {
            h.sending = undefined;
            // tokens that arrived during the post: the next flush (or the result) takes them
            if (h.progress.length && !h.result && !this.progressTimer) this.progressTimer = setTimeout(() => void this.flushProgress(), 100);
          }
        })();
        return h.sending;
      });
    await Promise.all(sends);
  }

  get heldJobs(): number {
    return this.held.size;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Graceful stop: no new leases; held jobs finish and their results are posted, for at most
   * `shutdownGraceMs`. Jobs still unfinished then are abandoned: their leases expire and the edge
   * hands them to another worker.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopCtl.abort();
    for (const w of this.slotWaiters.splice(0)) w();
    this.log.info("stopping", { held: this.held.size });
    const drained = (async () => {
      await this.leaseLoopDone;
      while (this.held.size) {
        await this.batcher?.idle();
        await this.postResults();
        if (this.held.size) await sleep(50);
      }
    })();
    const timedOut = await Promise.race([drained.then(() => false), sleep(this.cfg.shutdownGraceMs).then(() => true)]);
    if (timedOut) this.log.warn("shutdown grace expired; abandoning held jobs", { jobIds: [...this.held.keys()] });
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.progressTimer);
    this.client.close();
    await Promise.all([...this.runtimes.values()].map((r) => r.pkg.release()));
  }
}
