/**
 * The worker process's engine: lease jobs from the edge (long-poll, several at once), run them
 * through the dynamic batcher, heartbeat while holding them (honouring `cancel` and `lost`), post
 * token progress and results (batched), and shut down gracefully.
 *
 * A job stays "held" from lease until its result is accepted or ignored by the edge: heartbeats
 * keep extending its lease the whole time, so a slow result post never loses a finished job.
 * A worker that dies simply stops heartbeating; the edge re-leases its jobs to another worker.
 */
import type { Job, JobResult, ProgressToken } from "../../../workflows/index.js";
import { DynamicBatcher } from "../batcher/index.js";
import { DecodePool } from "../image/decode-pool.js";
import { JobExecutor, type JobItem } from "../job/execute.js";
import { OpError, type ModelRuntime } from "../ops/runtime.js";
import type { WorkerConfig } from "./config.js";
import { EdgeClient, EdgeError } from "./edge-client.js";
import type { Log } from "./log.js";
import { WorkerMetrics } from "./metrics.js";
import { advertOf, loadRuntimes } from "./models.js";

interface Held {
  job: Job;
  ctl: AbortController;
  lost: boolean;
  progress: ProgressToken[];
  result?: JobResult;
}

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
      { executionProviders: this.cfg.executionProviders, intraOpNumThreads: this.cfg.intraOpNumThreads, interOpNumThreads: this.cfg.interOpNumThreads },
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
      maxBatchSize: this.cfg.maxBatch,
      maxQueueDelayMs: this.cfg.maxQueueDelayMs,
      keyOf: ({ job }) => (job.op === "decode" || job.op === "explain" ? `${job.model}:${job.op}` : null),
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
      return await this.client.blob(sha);
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
        const { jobs } = await this.client.lease(free, this.cfg.leaseWaitMs, this.stopCtl.signal);
        backoff = 100;
        for (const job of jobs) this.accept(job);
      } catch (e) {
        if (this.stopping) break;
        this.log.warn("lease failed", { error: (e as Error).message });
        if (e instanceof EdgeError && [401, 403, 404, 409, 410].includes(e.status)) await this.register();
        await sleep(backoff, this.stopCtl.signal);
        backoff = Math.min(5000, backoff * 2);
      }
    }
  }

  private accept(job: Job): void {
    if (this.held.has(job.jobId)) return; // a duplicate delivery of a job we already hold
    const h: Held = { job, ctl: new AbortController(), lost: false, progress: [] };
    this.held.set(job.jobId, h);
    this.metrics.active.set(this.held.size);
    const decoding = job.op === "decode" || job.op === "explain";
    const onToken = decoding && this.cfg.progress ? (t: ProgressToken) => this.onToken(h, t) : undefined;
    // images are fetched and encoded as soon as the job arrives, outside the batch's compute slot
    this.executor
      .prefetch(job)
      .then((prefetchHit) => this.batcher.submit({ job, ctx: { signal: h.ctl.signal, onToken, prefetchHit } }))
      .then((r) => this.finish(h, r))
      .catch((e) => this.finish(h, { jobId: job.jobId, leaseId: job.leaseId, ok: false, error: { code: "worker_error", message: (e as Error).message, retryable: true } }));
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
    const results: JobResult[] = items.map((it) => ({ jobId: it.job.jobId, leaseId: it.job.leaseId, ok: false, error: { code: "lost", message: "lease lost", retryable: true } }));
    live.forEach(({ i }, k) => (results[i] = out[k]!));
    return results;
  }

  private finish(h: Held, r: JobResult): void {
    this.metrics.jobs.inc({ op: h.job.op, outcome: h.lost ? "lost" : r.ok ? "ok" : "error" });
    if (h.lost) return this.release(h.job.jobId);
    if (r.ok && r.output.op === "decode" && r.output.finishReason === "canceled") this.log.info("job canceled", { jobId: h.job.jobId });
    h.result = r;
    void this.flushProgress().finally(() => void this.postResults());
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
        const ready = [...this.held.values()].filter((h) => h.result && !h.lost).slice(0, 64);
        if (ready.length === 0) break;
        try {
          const { accepted, ignored } = await this.client.results(ready.map((h) => h.result!));
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
      .filter((h) => h.progress.length && !h.lost)
      .map(async (h) => {
        const tokens = h.progress.splice(0, 1024);
        try {
          const { cancel } = await this.client.progress(h.job.jobId, tokens);
          if (cancel) h.ctl.abort();
        } catch (e) {
          this.log.warn("progress failed", { jobId: h.job.jobId, error: (e as Error).message });
        }
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
    await Promise.all([...this.runtimes.values()].map((r) => r.pkg.release()));
  }
}
