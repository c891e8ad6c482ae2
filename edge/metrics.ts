/**
 * Prometheus metrics (prom-client), one registry per app so tests and several apps in a process
 * do not collide. Counts that must survive restarts and span instances (runs / steps by status)
 * are read from the database at scrape time; the rest are this process's observations.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { sql } from "drizzle-orm";
import { runs, steps, type JobRow } from "../db/schema.js";
import type { Store } from "../db/driver.js";
import type { JobResult } from "../workflows/index.js";
import type { EngineObserver } from "./engine/context.js";
import { rssBytes, type EdgeCaches, type MemoryConfig } from "./limits/memory.js";
import type { RateLimiter } from "./limits/rate.js";
import type { StorageHealth } from "./storage/health.js";

export class Metrics implements EngineObserver {
  readonly registry = new Registry();
  private store: Store | undefined;
  readonly queueWait = new Histogram({
    name: "metalm_queue_wait_seconds",
    help: "Time a job waited in the queue before it was leased",
    labelNames: ["op"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    registers: [this.registry],
  });
  readonly compute = new Histogram({
    name: "metalm_compute_seconds",
    help: "Worker-reported compute time per job",
    labelNames: ["op", "model"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: "metalm_lease_batch_size",
    help: "Jobs handed out per lease call",
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  readonly tokensPerSecond = new Histogram({
    name: "metalm_tokens_per_second",
    help: "Generated tokens per second of compute, per decode/explain job",
    labelNames: ["model"],
    buckets: [1, 10, 50, 100, 250, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly cacheHits = new Counter({
    name: "metalm_cache_hits_total",
    help: "Cache hits: kind=memo (step reused from an earlier run), kind=worker (encoder cache on a worker)",
    labelNames: ["kind"],
    registers: [this.registry],
  });
  readonly results = new Counter({
    name: "metalm_job_results_total",
    help: "Job results accepted, by outcome",
    labelNames: ["op", "outcome"],
    registers: [this.registry],
  });
  readonly httpRequests = new Histogram({
    name: "metalm_http_request_duration_seconds",
    help: "Edge request handling time by method, route pattern and status class (SSE and long-polls included)",
    labelNames: ["method", "route", "status"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: "metalm_runs",
      help: "Runs by status (from the database)",
      labelNames: ["status"],
      registers: [this.registry],
      async collect() {
        if (!self.store) return;
        this.reset();
        const rows = await self.store.db.select({ status: runs.status, n: sql<number>`count(*)` }).from(runs).groupBy(runs.status);
        for (const r of rows) this.set({ status: r.status }, Number(r.n));
      },
    });
    new Gauge({
      name: "metalm_steps",
      help: "Steps by status (from the database); status=cached counts memoized steps",
      labelNames: ["status"],
      registers: [this.registry],
      async collect() {
        if (!self.store) return;
        this.reset();
        const rows = await self.store.db.select({ status: steps.status, n: sql<number>`count(*)` }).from(steps).groupBy(steps.status);
        for (const r of rows) this.set({ status: r.status }, Number(r.n));
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.observe({ method, route, status: `${Math.floor(status / 100)}xx` }, seconds);
  }

  /** Gauges for the byte budgets of the edge's caches, its RSS bound, and the disk state. */
  watch(w: { caches: EdgeCaches; storage: StorageHealth; memory: MemoryConfig; limiter?: RateLimiter }): this {
    const budgets = [
      ["run_views", () => w.caches.runViews.bytes, w.caches.runViews.limitBytes],
      ["checked_specs", () => w.caches.specs.bytes, w.caches.specs.limitBytes],
      ["rate_buckets", () => w.limiter?.buckets.bytes ?? 0, w.limiter?.buckets.limitBytes ?? 0],
    ] as const;
    new Gauge({
      name: "metalm_edge_cache_bytes",
      help: "Bytes held by each in-memory cache of the edge",
      labelNames: ["cache"],
      registers: [this.registry],
      collect() {
        for (const [name, now] of budgets) this.set({ cache: name }, now());
      },
    });
    new Gauge({
      name: "metalm_edge_cache_limit_bytes",
      help: "Configured byte bound of each in-memory cache of the edge",
      labelNames: ["cache"],
      registers: [this.registry],
      collect() {
        for (const [name, , limit] of budgets) this.set({ cache: name }, limit);
      },
    });
    new Gauge({
      name: "metalm_edge_rss_bytes",
      help: "Resident memory of this edge process, and its configured bound (kind=limit; 0 = off)",
      labelNames: ["kind"],
      registers: [this.registry],
      collect() {
        const rss = rssBytes();
        if (rss !== undefined) this.set({ kind: "rss" }, rss);
        this.set({ kind: "limit" }, w.memory.rssLimitBytes);
      },
    });
    new Gauge({
      name: "metalm_storage_ok",
      help: "1 while database writes succeed and free space is above the reserve, else 0",
      registers: [this.registry],
      collect() {
        this.set(w.storage.state().ok ? 1 : 0);
      },
    });
    new Gauge({
      name: "metalm_storage_free_bytes",
      help: "Free bytes where the database lives (Node), and the reserve kept (kind=reserve)",
      labelNames: ["kind"],
      registers: [this.registry],
      collect() {
        const free = w.storage.freeBytes();
        if (free !== undefined) this.set({ kind: "free" }, free);
        this.set({ kind: "reserve" }, w.storage.minFreeBytes);
      },
    });
    return this;
  }

  attach(store: Store): this {
    this.store = store;
    return this;
  }

  leased(jobs: JobRow[], now: number): void {
    this.batchSize.observe(jobs.length);
    for (const j of jobs) this.queueWait.observe({ op: j.op }, Math.max(0, now - j.availableAt) / 1000);
  }

  result(job: JobRow, res: JobResult): void {
    if (!res.ok) {
      this.results.inc({ op: job.op, outcome: "error" });
      return;
    }
    this.results.inc({ op: job.op, outcome: "ok" });
    const s = res.timings.computeMs / 1000;
    this.compute.observe({ op: job.op, model: job.model }, s);
    if (res.cacheHit) this.cacheHits.inc({ kind: "worker" });
    const out = res.output;
    if ((out.op === "decode" || out.op === "explain") && s > 0 && out.tokens.length) {
      this.tokensPerSecond.observe({ model: job.model }, out.tokens.length / s);
    }
  }

  memoHit(n: number): void {
    this.cacheHits.inc({ kind: "memo" }, n);
  }
}
