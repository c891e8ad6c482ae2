/**
 * What edge/cloudflare/main.ts is built from, kept out of the main module because a Worker's main module
 * may export only handlers and Durable Object classes (workerd rejects any other export).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { D1Database, DurableObjectNamespace, ExecutionContext } from "@cloudflare/workers-types";
import { openD1Store } from "../../db/d1.js";
import { createApp, type EdgeApp } from "../app.js";
import { limitsFromEnv, rateLimitFromEnv, webhooksFromEnv } from "../limits/env.js";
import { durableNotifier } from "./hub.js";

/**
 * The bindings of wrangler.toml. Plain vars use the Node entry's names (edge/limits/env.ts:
 * MAX_*, RATE_LIMIT_*, WEBHOOK_*), read the same way.
 */
export interface WorkerEnv {
  DB: D1Database;
  POOL_HUB: DurableObjectNamespace;
  POOL_TOKEN?: string;
  ADMIN_KEY?: string;
  LEASE_MS?: string;
  RUN_TIMEOUT_MS?: string;
  [v: string]: unknown;
}

/** The string-valued bindings (vars and secrets). */
const vars = (env: WorkerEnv): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === "string"));

/** The execution context of the request being served (for `background`). */
export const requestScope = new AsyncLocalStorage<ExecutionContext>();

/**
 * Keep `p` alive after the response of the request being served (Workers `waitUntil`). The seam
 * for fire-and-forget work: notifier publishes today, webhook delivery passes later.
 */
export function background(p: Promise<unknown>): void {
  const ctx = requestScope.getStore();
  if (ctx) ctx.waitUntil(p);
  else void p.catch((e: unknown) => console.error(JSON.stringify({ msg: "background task failed", error: String(e) })));
}

/** Webhook delivery settings from the WEBHOOK_* vars (default transport: fetch). */
export function webhookSettings(env: WorkerEnv) {
  return webhooksFromEnv(vars(env));
}

/** A D1 row (a `blobs` row holds one image) is at most 2,000,000 bytes: refuse larger images with a 413. */
export const D1_IMAGE_BYTES = 1_900_000;

const apps = new WeakMap<WorkerEnv, EdgeApp>();
let built = 0;
/** How many apps this isolate has built (one per bindings object; tests check it stays 1). */
export const appsBuilt = () => built;

/** The app for these bindings (built once per isolate: bindings do not change within one). */
export function appFor(env: WorkerEnv): EdgeApp {
  let app = apps.get(env);
  if (!app) {
    if (!env.POOL_TOKEN) throw new Error("POOL_TOKEN is not set: `wrangler secret put POOL_TOKEN` (or .dev.vars locally)");
    const v = vars(env);
    const limits = limitsFromEnv(v);
    // Workers' fetch cannot reach private networks; the default transport checks URLs without DNS
    app = createApp({
      store: openD1Store(env.DB),
      poolToken: env.POOL_TOKEN,
      notifier: durableNotifier(env.POOL_HUB, background),
      leaseMs: env.LEASE_MS ? Number(env.LEASE_MS) : undefined,
      runTimeoutMs: env.RUN_TIMEOUT_MS ? Number(env.RUN_TIMEOUT_MS) : undefined,
      adminKey: env.ADMIN_KEY || undefined,
      limits: { ...limits, imageBytes: Math.min(limits.imageBytes ?? D1_IMAGE_BYTES, D1_IMAGE_BYTES) },
      rateLimit: rateLimitFromEnv(v),
      webhooks: webhookSettings(env),
    });
    apps.set(env, app);
    built++;
  }
  return app;
}
