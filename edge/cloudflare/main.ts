/**
 * Cloudflare Workers entrypoint: the SAME Hono app as edge/node.ts, on D1 (drizzle-orm/d1) with
 * `PoolHub` Durable Objects as the notifier (docs/CONTRACTS.md §8). Bindings (wrangler.toml):
 *
 * - `DB` (D1; migrations from db/migrations/ via `wrangler d1 migrations apply`)
 * - `POOL_HUB` (Durable Object namespace, class `PoolHub`)
 * - secrets `POOL_TOKEN` (required) and `ADMIN_KEY` (webhook signing secrets are per endpoint, in D1)
 * - vars `LEASE_MS` (default 30000)
 *
 * One app per isolate (edge/cloudflare/entry.ts). Work that must outlive a response goes through
 * `background` = the serving request's `ctx.waitUntil`. Webhook deliveries and lease sweeps run
 * as background passes (edge/cloudflare/background.ts): after mutating requests, on the cron
 * trigger, and on the `webhooks` PoolHub alarm for retries due within the minute. This module
 * exports only what workerd accepts from a main module: the handlers and the Durable Object class.
 */
import type { ExecutionContext, ScheduledController } from "@cloudflare/workers-types";
import { cronPass, mayEnqueue, webhookPassAndArm } from "./background.js";
import { appFor, requestScope, webhookSettings, type WorkerEnv } from "./entry.js";
import { PoolHub } from "./hub.js";

export { PoolHub };

const logFailure = (what: string) => (e: unknown) => console.error(JSON.stringify({ msg: `${what} failed`, error: String(e) }));

export default {
  fetch(req: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    return requestScope.run(ctx, async () => {
      const app = appFor(env);
      const res = await app.fetch(req, env as never, ctx as never);
      // webhook deliveries enqueued by this request go out now, after the response
      if (mayEnqueue(req))
        ctx.waitUntil(webhookPassAndArm(app.engine.store, webhookSettings(env), env.POOL_HUB, app.engine.now).catch(logFailure("webhook pass")));
      return res;
    });
  },
  scheduled(_ctl: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): void {
    const app = appFor(env);
    ctx.waitUntil(requestScope.run(ctx, () => cronPass(app.engine, webhookSettings(env), env.POOL_HUB)).catch(logFailure("cron pass")));
  },
};
