/** Worker configuration from the environment (documented in gpu-worker/README section of the root README). */
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { z } from "zod";

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

export const workerConfigSchema = z.object({
  EDGE_URL: z.string().url().default("http://127.0.0.1:8787"),
  POOL_TOKEN: z.string().default(""),
  /** Default: gpu-worker/models of this checkout (independent of the working directory). */
  MODELS_DIR: z.string().default(fileURLToPath(new URL("../../models", import.meta.url))),
  WORKER_ID: z.string().min(1).default(`${hostname()}-${process.pid}`),
  /** Comma-separated, in order of preference; CPU is always the last resort. */
  EXECUTION_PROVIDERS: z.string().default("cpu"),
  INTRA_OP_THREADS: int(1, 1),
  INTER_OP_THREADS: int(1, 1),
  MAX_BATCH: int(16, 1),
  /**
   * Max batch per execution provider, overriding MAX_BATCH when the models loaded on that provider
   * (a GPU wants larger batches than a CPU core: 64 vs 16). Unset: MAX_BATCH.
   */
  MAX_BATCH_CPU: z.coerce.number().int().min(1).optional(),
  MAX_BATCH_WEBGPU: z.coerce.number().int().min(1).optional(),
  MAX_BATCH_CUDA: z.coerce.number().int().min(1).optional(),
  MAX_QUEUE_DELAY_MS: int(5),
  /**
   * Jobs held at once (leased, queued or running). Default 6 × MAX_BATCH (at most 64): a VQA run
   * is three jobs (encode, connect, decode), so this holds two decode batches' worth of runs and
   * the next batch fills while one runs.
   */
  LEASE_MAX: z.coerce.number().int().min(1).max(64).optional(),
  LEASE_WAIT_MS: int(20_000),
  ENCODER_CACHE_MB: int(256, 1),
  MAX_IMAGE_PIXELS: int(16_777_216, 1),
  /** Time budget of one large image decode (ms): past it the job fails `image_decode_timeout`. */
  DECODE_TIMEOUT_MS: int(20_000, 1),
  /** Images up to this many pixels decode inline; larger ones in the background decode thread. */
  DECODE_INLINE_PIXELS: int(1_048_576, 0),
  /** Port of /healthz and /metrics; 0 = any free port. */
  METRICS_PORT: int(0),
  METRICS_HOST: z.string().default("127.0.0.1"),
  SHUTDOWN_GRACE_MS: int(30_000),
  /** On WebGPU, keep the decoder's KV cache on the device between calls: 1 (default) or 0. */
  KV_ON_DEVICE: z.enum(["0", "1"]).default("1"),
  /** Post per-token progress (SSE `token` events): 1 or 0. */
  PROGRESS: z.enum(["0", "1"]).default("1"),
  LOG_LEVEL: z.enum(["info", "warn", "error", "silent"]).default("info"),
});

export interface WorkerConfig {
  edgeUrl: string;
  poolToken: string;
  modelsDir: string;
  workerId: string;
  executionProviders: string[];
  intraOpNumThreads: number;
  interOpNumThreads: number;
  /** KV_ON_DEVICE: on WebGPU the KV cache stays on the device between decoder calls. */
  kvOnDevice: boolean;
  /** The default max batch (MAX_BATCH); see `maxBatchFor` for the one a worker uses. */
  maxBatch: number;
  /** Per-provider max batch (MAX_BATCH_<PROVIDER>), by lower-case provider name. */
  maxBatchByProvider: Record<string, number>;
  maxQueueDelayMs: number;
  leaseMax: number;
  leaseWaitMs: number;
  encoderCacheBytes: number;
  maxImagePixels: number;
  decodeTimeoutMs: number;
  decodeInlinePixels: number;
  metricsPort: number;
  metricsHost: string;
  shutdownGraceMs: number;
  progress: boolean;
  logLevel: "info" | "warn" | "error" | "silent";
}

/**
 * @example const cfg = configFromEnv({ EDGE_URL: "http://127.0.0.1:8787", POOL_TOKEN: "t" });
 */
export function configFromEnv(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const r = workerConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")));
  if (!r.success) throw new Error(`invalid worker configuration:\n${r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  const e = r.data;
  return {
    edgeUrl: e.EDGE_URL.replace(/\/+$/, ""),
    poolToken: e.POOL_TOKEN,
    modelsDir: e.MODELS_DIR,
    workerId: e.WORKER_ID,
    executionProviders: e.EXECUTION_PROVIDERS.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    intraOpNumThreads: e.INTRA_OP_THREADS,
    interOpNumThreads: e.INTER_OP_THREADS,
    kvOnDevice: e.KV_ON_DEVICE === "1",
    maxBatch: e.MAX_BATCH,
    maxBatchByProvider: Object.fromEntries(
      Object.entries({ cpu: e.MAX_BATCH_CPU, webgpu: e.MAX_BATCH_WEBGPU, cuda: e.MAX_BATCH_CUDA }).filter((kv): kv is [string, number] => kv[1] !== undefined),
    ),
    maxQueueDelayMs: e.MAX_QUEUE_DELAY_MS,
    leaseMax: e.LEASE_MAX ?? Math.min(64, 6 * e.MAX_BATCH),
    leaseWaitMs: Math.min(25_000, e.LEASE_WAIT_MS),
    encoderCacheBytes: e.ENCODER_CACHE_MB * 2 ** 20,
    maxImagePixels: e.MAX_IMAGE_PIXELS,
    decodeTimeoutMs: e.DECODE_TIMEOUT_MS,
    decodeInlinePixels: e.DECODE_INLINE_PIXELS,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    progress: e.PROGRESS === "1",
    logLevel: e.LOG_LEVEL,
  };
}

/**
 * The max batch for models loaded on `executionProvider` (a package's provider, e.g. "webgpu", or
 * "webgpu+cpu" when some graphs fell back: the smallest of the providers' limits, since one batch
 * runs through every graph).
 * @example maxBatchFor(configFromEnv({ MAX_BATCH_WEBGPU: "64" }), "webgpu") // 64
 */
export function maxBatchFor(cfg: Pick<WorkerConfig, "maxBatch" | "maxBatchByProvider">, executionProvider: string): number {
  const providers = executionProvider
    .split("+")
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  if (!providers.length) return cfg.maxBatch;
  return Math.min(...providers.map((p) => cfg.maxBatchByProvider[p] ?? cfg.maxBatch));
}
