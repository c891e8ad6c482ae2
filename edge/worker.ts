/**
 * Cloudflare Workers entrypoint: the SAME Hono app as edge/node.ts, on D1 (drizzle-orm/d1) with
 * `PoolHub` Durable Objects as the notifier. Configuration comes from wrangler.toml bindings:
 *
 * - `DB` (D1; migrations from db/migrations/ via `wrangler d1 migrations apply`)
 * - `POOL_HUB` (Durable Object namespace, class `PoolHub`)
 * - secrets `POOL_TOKEN` (required), `ADMIN_KEY`, `WEBHOOK_SECRET` (read by later features)
 * - vars `LEASE_MS` (default 30000)
 *
 * One app per isolate (bindings do not change within an isolate); per-request work that must
 * outlive the response (notifier publishes, later webhook deliveries) goes through `background`,
 * which is `ctx.waitUntil` of the request being served. A cron trigger sweeps expired leases
 * when no worker is polling (the lease call sweeps too).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { D1Database, DurableObjectNamespace, ExecutionContext, ScheduledController } from "@cloudflare/workers-types";
import { openD1Store } from "../db/d1.js";
import { createApp, type EdgeApp } from "./app.js";
import { sweepExpired } from "./engine/pool.js";
import { durableNotifier, PoolHub } from "./workers/hub.js";

export { PoolHub };

export interface WorkerEnv {
  DB: D1Database;
  POOL_HUB: DurableObjectNamespace;
  POOL_TOKEN?: string;
  ADMIN_KEY?: string;
  WEBHOOK_SECRET?: string;
  LEASE_MS?: string;
}

const requestScope = new AsyncLocalStorage<ExecutionContext>();

/**
 * Keep `p` alive after the response of the request being served (Workers `waitUntil`). The seam
 * for fire-and-forget work: notifier publishes today, webhook deliveries later.
 */
export function background(p: Promise<unknown>): void {
  const ctx = requestScope.getStore();
  if (ctx) ctx.waitUntil(p);
  else void p.catch((e: unknown) => console.error(JSON.stringify({ msg: "background task failed", error: String(e) })));
}

/** A D1 row (a `blobs` row holds one image) is at most 2,000,000 bytes: refuse larger images with a 413. */
export const D1_IMAGE_BYTES = 1_900_000;

const apps = new WeakMap<WorkerEnv, EdgeApp>();

/** The app for these bindings (built once per isolate). */
export function appFor(env: WorkerEnv): EdgeApp {
  let app = apps.get(env);
  if (!app) {
    if (!env.POOL_TOKEN) throw new Error("POOL_TOKEN is not set: `wrangler secret put POOL_TOKEN` (or .dev.vars locally)");
    app = createApp({
      store: openD1Store(env.DB),
      poolToken: env.POOL_TOKEN,
      notifier: durableNotifier(env.POOL_HUB, background),
      leaseMs: env.LEASE_MS ? Number(env.LEASE_MS) : undefined,
      limits: { imageBytes: D1_IMAGE_BYTES },
    });
    apps.set(env, app);
  }
  return app;
}

export default {
  fetch(req: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    return requestScope.run(ctx, async () => appFor(env).fetch(req, env as never, ctx as never));
  },
  scheduled(_ctl: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): void {
    ctx.waitUntil(requestScope.run(ctx, () => sweepExpired(appFor(env).engine)));
  },
};
