/**
 * Background passes on Workers. On Node a timer loop drives them (edge/node.ts); a Worker has no
 * process to keep a loop in, so each pass is triggered instead:
 *
 * - after a request that may have changed runs (anything but GET/HEAD and the pool's
 *   heartbeat/progress calls), in `waitUntil`: webhook deliveries go out right after the run
 *   event that enqueued them;
 * - by the cron trigger (every minute): expired leases of an idle pool, webhook retries;
 * - by a `PoolHub` alarm (topic `webhooks`) set to the next retry due within the minute, so the
 *   dispatcher's 5 s… backoff is honoured to the second rather than rounded up to the cron.
 *
 * Every pass is DB-driven, idempotent and bounded (the dispatcher claims deliveries with one
 * atomic UPDATE … RETURNING), so overlapping triggers are harmless.
 */
import { asc, eq } from "drizzle-orm";
import type { DurableObjectNamespace } from "@cloudflare/workers-types";
import type { Store } from "../../db/driver.js";
import { webhookDeliveries } from "../../db/schema.js";
import type { EngineCtx } from "../engine/context.js";
import { sweepExpired } from "../engine/results.js";
import { dispatchDue } from "../webhooks/dispatcher.js";
import type { WebhookOptions } from "../webhooks/options.js";

export const WEBHOOKS_TOPIC = "webhooks";
const HUB_ORIGIN = "https://pool-hub.internal";
/** Retries further away than this are left to the cron trigger. */
const ALARM_HORIZON_MS = 65_000;

/** Requests that cannot enqueue webhook deliveries (frequent pool chatter) skip the pass. */
export function mayEnqueue(req: Request): boolean {
  if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return false;
  const path = new URL(req.url).pathname;
  return path !== "/v1/pool/heartbeat" && path !== "/v1/pool/progress" && path !== "/v1/pool/register";
}

/** The earliest pending delivery's next attempt (ms), if any. */
export async function nextWebhookAttempt(store: Store): Promise<number | undefined> {
  const [row] = await store.db
    .select({ at: webhookDeliveries.nextAttemptAt })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.status, "pending"))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(1);
  return row?.at;
}

/**
 * Send due webhook deliveries (a few bounded dispatcher passes); answer when the next retry falls
 * due if that is sooner than the cron would notice (else undefined).
 */
export async function webhookPass(store: Store, opts: Partial<WebhookOptions>, now = Date.now): Promise<{ sent: number; wakeAt?: number }> {
  let sent = 0;
  for (let i = 0; i < 5; i++) {
    const n = await dispatchDue({ store, now }, opts);
    sent += n;
    if (n < (opts.batch ?? 20)) break;
  }
  const next = await nextWebhookAttempt(store);
  return next !== undefined && next - now() < ALARM_HORIZON_MS ? { sent, wakeAt: Math.max(next, now()) } : { sent };
}

/** Ask the `webhooks` PoolHub to run a pass at `at` (its alarm; an earlier alarm wins). */
export async function armWebhookAlarm(hub: DurableObjectNamespace, at: number): Promise<void> {
  const stub = hub.get(hub.idFromName(WEBHOOKS_TOPIC));
  await (await stub.fetch(`${HUB_ORIGIN}/alarm?at=${Math.round(at)}`, { method: "POST" })).arrayBuffer();
}

/** A webhook pass from a request or the cron, arming the hub alarm when a retry is due soon. */
export async function webhookPassAndArm(store: Store, opts: Partial<WebhookOptions>, hub: DurableObjectNamespace, now = Date.now): Promise<number> {
  const { sent, wakeAt } = await webhookPass(store, opts, now);
  if (wakeAt !== undefined) await armWebhookAlarm(hub, wakeAt);
  return sent;
}

/** The cron pass: expired leases, then webhooks. */
export async function cronPass(engine: EngineCtx, opts: Partial<WebhookOptions>, hub: DurableObjectNamespace): Promise<void> {
  await sweepExpired(engine);
  await webhookPassAndArm(engine.store, opts, hub, engine.now);
}
