/** Prometheus metrics of one worker (its own registry, served on its own port). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ModelRuntime } from "../ops/runtime.js";

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly queueWait = new Histogram({
    name: "metalm_worker_queue_wait_seconds",
    help: "Time a leased job waited in the worker before its batch ran",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly compute = new Histogram({
    name: "metalm_worker_compute_seconds",
    help: "Compute time of a batch",
    labelNames: ["op"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: "metalm_worker_batch_size",
    help: "Jobs per batch",
    labelNames: ["op"],
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  readonly tokens = new Counter({ name: "metalm_worker_tokens_generated_total", help: "Tokens generated", registers: [this.registry] });
  readonly tokensPerSecond = new Gauge({
    name: "metalm_worker_tokens_per_second",
    help: "Generation throughput of the last decode/explain batch",
    registers: [this.registry],
  });
  readonly jobs = new Counter({ name: "metalm_worker_jobs_total", help: "Jobs finished", labelNames: ["op", "outcome"], registers: [this.registry] });
  readonly active = new Gauge({ name: "metalm_worker_active_jobs", help: "Jobs leased and not yet reported", registers: [this.registry] });

  constructor(runtimes: () => Iterable<ModelRuntime>) {
    const stat = (key: "hits" | "misses" | "bytes" | "entries" | "evictions") =>
      function (this: Gauge) {
        this.reset();
        for (const rt of runtimes()) this.set({ model: rt.name }, rt.cache.stats()[key]);
      };
    new Gauge({
      name: "metalm_worker_encoder_cache_hits",
      help: "Encoder/connector cache hits",
      labelNames: ["model"],
      registers: [this.registry],
      collect: stat("hits"),
    });
    new Gauge({
      name: "metalm_worker_encoder_cache_misses",
      help: "Encoder/connector cache misses",
      labelNames: ["model"],
      registers: [this.registry],
      collect: stat("misses"),
    });
    new Gauge({
      name: "metalm_worker_encoder_cache_bytes",
      help: "Bytes held by the encoder cache",
      labelNames: ["model"],
      registers: [this.registry],
      collect: stat("bytes"),
    });
    new Gauge({
      name: "metalm_worker_encoder_cache_evictions",
      help: "Encoder cache evictions",
      labelNames: ["model"],
      registers: [this.registry],
      collect: stat("evictions"),
    });
    const runs = (kind: "encoder" | "connector") =>
      function (this: Gauge) {
        this.reset();
        for (const rt of runtimes()) for (const [name, n] of rt.graphRuns[kind]) this.set({ model: rt.name, [kind]: name }, n);
      };
    new Gauge({
      name: "metalm_worker_encoder_runs",
      help: "Encoder graph runs (not served from the encoder cache), since start",
      labelNames: ["model", "encoder"],
      registers: [this.registry],
      collect: runs("encoder"),
    });
    new Gauge({
      name: "metalm_worker_connector_runs",
      help: "Connector graph runs (not served from the cache), since start",
      labelNames: ["model", "connector"],
      registers: [this.registry],
      collect: runs("connector"),
    });
    new Gauge({
      name: "metalm_worker_execution_provider",
      help: "1 for the execution provider each model's sessions actually run on (webgpu, cpu, webgpu+cpu)",
      labelNames: ["model", "provider"],
      registers: [this.registry],
      collect(this: Gauge) {
        this.reset();
        for (const rt of runtimes()) this.set({ model: rt.name, provider: rt.pkg.executionProvider }, 1);
      },
    });
    new Gauge({
      name: "metalm_worker_provider_fallback",
      help: "1 for each configured execution provider a model could not use (it fell back to the next one, CPU last); the reason is in the log and in /v1/models",
      labelNames: ["model", "provider"],
      registers: [this.registry],
      collect(this: Gauge) {
        this.reset();
        for (const rt of runtimes()) for (const f of rt.pkg.providerFallbacks) this.set({ model: rt.name, provider: f.provider }, 1);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "metalm_worker_" });
  }
}
