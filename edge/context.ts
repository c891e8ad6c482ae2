/**
 * What the app is built from (`AppDeps`) and what every handler sees (`Env`). The app never
 * constructs a database: the runtime entrypoint (Node today, Workers later) passes one in.
 */
import type { Context } from "hono";
import type { Store } from "../db/driver.js";
import type { EngineCtx } from "./engine/context.js";
import type { Notifier } from "./engine/notifier.js";
import type { PlannerPort } from "./engine/planner.js";
import type { Metrics } from "./metrics.js";
import type { RateLimit } from "./limits/rate.js";
import type { WebhookOptions } from "./webhooks/options.js";
import type { EdgeCaches, MemoryConfig } from "./limits/memory.js";
import type { StorageHealth } from "./storage/health.js";
import type { PoolCredential } from "./credentials/credentials.js";

export interface Limits {
  /** Largest request body (bytes). Default 16 MiB. */
  bodyBytes: number;
  /** Largest image input (bytes, decoded). Default 4 MiB. */
  imageBytes: number;
  /** Largest `Prefer: wait=N` honoured (seconds). Default 60. */
  maxWaitS: number;
  /** Largest image input in pixels (width × height, read from the header). Default 16 M. */
  imagePixels: number;
  /** Most steps in one workflow. Default 64. */
  maxSteps: number;
  /** Largest `params.maxTokens` of a decode/explain step. Default: the spec's own bound, `MAX_TOKENS`. */
  maxTokens: number;
}

export interface AppDeps {
  store: Store;
  /** Bearer token of the pool protocol. */
  poolToken: string;
  planner?: PlannerPort;
  /** Lease length handed to workers (ms). Default 30 000. */
  leaseMs?: number;
  /** Run-level deadline (ms after creation) for specs without `timeoutMs` (`RUN_TIMEOUT_MS`). Default 600 000. */
  runTimeoutMs?: number;
  now?: () => number;
  notifier?: Notifier;
  limits?: Partial<Limits>;
  metrics?: Metrics;
  /** Admin key (`ADMIN_KEY`): creates and revokes API keys. Unset = the admin API is off. */
  adminKey?: string;
  /** Per-key rate limit (DB-backed token bucket); `false` = off. Default 50/s, burst 200. */
  rateLimit?: RateLimit | false;
  /** Webhook delivery settings (edge/webhooks/). */
  webhooks?: Partial<WebhookOptions>;
  /** Byte budgets of the in-memory caches and the RSS backstop (edge/limits/memory.ts). */
  memory?: Partial<MemoryConfig>;
  /** Disk-pressure state and free-space probe (edge/storage/health.ts). Default: no probe. */
  storage?: StorageHealth;
}

export type Env = {
  Bindings: Record<string, unknown>;
  Variables: {
    /** The engine context (store, planner, notifier, clock) of this request. */
    engine: EngineCtx;
    /** The API key's tenant: every query filters by it. */
    tenantId: string;
    /** The API key's id (`admin` for the admin key); unset on open and pool routes. */
    keyId: string;
    limits: Limits;
    metrics: Metrics;
    /** Webhook settings (for URL checks; the dispatcher gets its own copy). */
    webhooks: Partial<WebhookOptions>;
    memory: MemoryConfig;
    /** On /v1/pool/*: the worker credential that called (edge/credentials/). */
    poolCredential: PoolCredential;
    caches: EdgeCaches;
    storage: StorageHealth;
  };
};

export type Ctx = Context<Env>;
