/**
 * Dynamic batching: jobs with the same key (model + op), up to `maxBatchSize`, run as one batch.
 * Batches run one at a time (one model session, one compute thread), so while a batch runs, the
 * next ones fill up and run as soon as it ends: under load batches grow by themselves. An idle
 * batcher does not wait out a delay for company that may never come: it flushes on the next tick
 * (jobs submitted in the same tick — e.g. one lease answer — still share the batch).
 * `maxQueueDelayMs` bounds only the wait of a job queued behind a batch of another key that
 * keeps the batcher busy.
 */

export interface BatcherOptions<J, R> {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Jobs with equal keys may share a batch; `null` = never batched, runs without waiting. */
  keyOf: (job: J) => string | null;
  /** Runs a batch; must return one result per job, in order. */
  run: (batch: J[], info: { queueMs: number[] }) => Promise<R[]>;
  /** Called after each batch (for metrics). */
  onBatch?: (size: number, key: string, computeMs: number) => void;
}

interface Waiting<J, R> {
  job: J;
  enqueuedAt: number;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class DynamicBatcher<J, R> {
  private readonly queues = new Map<string, { items: Waiting<J, R>[]; timer?: NodeJS.Timeout }>();
  private readonly ready: { key: string; items: Waiting<J, R>[] }[] = [];
  private running = false;
  private tickScheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: BatcherOptions<J, R>) {
    if (opts.maxBatchSize < 1) throw new RangeError("maxBatchSize must be ≥ 1");
  }

  /**
   * Queues a job; resolves with its own result when its batch has run.
   * @example const result = await batcher.submit(job);
   */
  submit(job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const k = this.opts.keyOf(job);
      if (k === null) {
        this.ready.push({ key: "\0solo", items: [{ job, enqueuedAt: performance.now(), resolve, reject }] });
        void this.drain();
        return;
      }
      const key = k;
      let q = this.queues.get(key);
      if (!q) this.queues.set(key, (q = { items: [] }));
      q.items.push({ job, enqueuedAt: performance.now(), resolve, reject });
      if (q.items.length >= this.opts.maxBatchSize) this.flush(key);
      else if (!this.running && !this.tickScheduled) {
        this.tickScheduled = true;
        setImmediate(() => {
          this.tickScheduled = false;
          if (!this.running) this.flushAll();
        });
      } else if (this.running && !q.timer) q.timer = setTimeout(() => this.flush(key), this.opts.maxQueueDelayMs);
    });
  }

  /** Jobs waiting or running. */
  get pending(): number {
    let n = this.ready.reduce((s, b) => s + b.items.length, 0);
    for (const q of this.queues.values()) n += q.items.length;
    return n + (this.running ? 1 : 0);
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private flush(key: string): void {
    const q = this.queues.get(key);
    if (!q) return;
    clearTimeout(q.timer);
    this.queues.delete(key);
    for (let i = 0; i < q.items.length; i += this.opts.maxBatchSize) this.ready.push({ key, items: q.items.slice(i, i + this.opts.maxBatchSize) });
    void this.drain();
  }

  private flushAll(): void {
    for (const key of [...this.queues.keys()]) this.flush(key);
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.ready.length) {
        // a batch still filling for a key that has a ready batch joins it (up to the max)
        const b = this.ready.shift()!;
        const late = this.queues.get(b.key);
        if (late && b.items.length < this.opts.maxBatchSize) {
          const take = late.items.splice(0, this.opts.maxBatchSize - b.items.length);
          b.items.push(...take);
          if (late.items.length === 0) {
            clearTimeout(late.timer);
            this.queues.delete(b.key);
          }
        }
        const start = performance.now();
        const queueMs = b.items.map((w) => start - w.enqueuedAt);
        try {
          const results = await this.opts.run(
            b.items.map((w) => w.job),
            { queueMs },
          );
          if (results.length !== b.items.length) throw new Error(`batch run returned ${results.length} results for ${b.items.length} jobs`);
          b.items.forEach((w, i) => w.resolve(results[i]!));
        } catch (e) {
          b.items.forEach((w) => w.reject(e));
        }
        this.opts.onBatch?.(b.items.length, b.key, performance.now() - start);
        // what queued up while this batch ran has waited long enough: it runs next
        if (!this.ready.length) this.flushAll();
      }
    } finally {
      this.running = false;
      if (this.pending === 0) for (const r of this.idleWaiters.splice(0)) r();
    }
  }
}
