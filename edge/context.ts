/**
 * What the app is built from (`AppDeps`) and what every handler sees (`Env`). The app never
 * constructs a database: the runtime entrypoint (Node today, Workers later) passes one in.
 */
import type { Context } from "hono";
import type { Store } from "../db/store.js";
import type { PoolCtx } from "./engine/pool.js";
import type { Notifier } from "./engine/notifier.js";
import type { PlannerPort } from "./engine/planner.js";
import type { Metrics } from "./metrics.js";

export interface Limits {
  /** Largest request body (bytes). Default 16 MiB. */
  bodyBytes: number;
  /** Largest image input (bytes, decoded). Default 4 MiB. */
  imageBytes: number;
  /** Largest `Prefer: wait=N` honoured (seconds). Default 60. */
  maxWaitS: number;
}

export interface AppDeps {
  store: Store;
  /** Bearer token of the pool protocol. */
  poolToken: string;
  planner?: PlannerPort;
  /** Lease length handed to workers (ms). Default 30 000. */
  leaseMs?: number;
  now?: () => number;
  notifier?: Notifier;
  limits?: Partial<Limits>;
  metrics?: Metrics;
}

export type Env = {
  Bindings: Record<string, unknown>;
  Variables: {
    /** The engine context (store, planner, notifier, clock) of this request. */
    engine: PoolCtx;
    tenantId: string;
    limits: Limits;
    metrics: Metrics;
  };
};

export type Ctx = Context<Env>;
