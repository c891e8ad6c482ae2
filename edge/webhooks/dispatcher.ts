/**
 * The webhook dispatcher: claims due deliveries from the outbox (one atomic UPDATE … RETURNING,
 * like the job queue, so several edge instances never send one attempt twice), signs and sends
 * them, and records every attempt. At least once: a delivery whose sender died mid-attempt is
 * claimed again when its lease passes. The `webhook-id` is the message id, the same on every
 * attempt and redelivery; the body is the stored payload, byte for byte.
 *
 * Outcomes: 2xx → `delivered`; 410 Gone → the endpoint is disabled and the delivery `failed`;
 * anything else (other status, 3xx — redirects are not followed —, timeout, network error,
 * blocked address) → retried after base × 2^(n−1) (capped) × jitter in [0.5, 1), until
 * `maxAttempts`, then `failed`.
 *
 * @example
 * const stop = startDispatcher(app.engine.store, { allowPrivate: true, transport: nodeTransport });
 * // … later
 * await stop();
 */
import { and, asc, eq, inArray, lt, lte, or, sql } from "drizzle-orm";
import type { Stmt, Store } from "../../db/driver.js";
import { webhookAttempts, webhookDeliveries, webhookEndpoints, webhookMessages, type WebhookDeliveryRow } from "../../db/schema.js";
import { webhookOptions, type WebhookOptions } from "./options.js";
import { signedHeaders } from "./sign.js";
import { storageErrorCode, type StorageHealth } from "../storage/health.js";
import { fetchTransport, SendError } from "./transport.js";

export interface DispatchCtx {
  store: Store;
  now?: () => number;
  random?: () => number;
  /** Disk-pressure state: a pass that fails for lack of space is reported there (logged once), not logged every 250 ms. */
  storage?: StorageHealth;
}

export function backoffMs(attempt: number, o: Pick<WebhookOptions, "backoffBaseMs" | "backoffMaxMs">, random = Math.random): number {
  const exp = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + random() * 0.5));
}

const due = (now: number) =>
  or(
    and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAttemptAt, now)),
    and(eq(webhookDeliveries.status, "sending"), lt(webhookDeliveries.leaseUntil, now)),
  );

async function claim(store: Store, o: WebhookOptions, now: number): Promise<WebhookDeliveryRow[]> {
  const ids = store.db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(due(now))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(o.batch);
  return store.db
    .update(webhookDeliveries)
    .set({
      status: "sending",
      leaseUntil: now + o.timeoutMs * 2 + 5_000,
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      updatedAt: now,
    })
    .where(and(inArray(webhookDeliveries.id, ids), due(now)))
    .returning();
}

/** Outcome of one attempt → its log row + the delivery's next state (guarded by the claim). */
async function record(
  ctx: DispatchCtx,
  o: WebhookOptions,
  d: WebhookDeliveryRow,
  r: { status: number | null; error: string | null; response: string | null; startedAt: number; disable?: string },
): Promise<void> {
  const now = (ctx.now ?? Date.now)();
  const ok = r.status !== null && r.status >= 200 && r.status < 300;
  const gone = r.disable !== undefined;
  const retry = !ok && !gone && d.attempts < o.maxAttempts;
  const { db } = ctx.store;
  const stmts: Stmt[] = [
    db.insert(webhookAttempts).values({
      deliveryId: d.id,
      tenantId: d.tenantId,
      attempt: d.attempts,
      at: r.startedAt,
      durationMs: Math.max(0, now - r.startedAt),
      status: r.status,
      error: r.error,
      response: r.response,
    }),
    db
      .update(webhookDeliveries)
      .set({
        status: ok ? "delivered" : retry ? "pending" : "failed",
        nextAttemptAt: retry ? now + backoffMs(d.attempts, o, ctx.random) : d.nextAttemptAt,
        leaseUntil: null,
        lastStatus: r.status,
        lastError: r.error,
        deliveredAt: ok ? now : null,
        updatedAt: now,
      })
      // only the claim that is still current may write (a slow sender whose lease passed may not)
      .where(and(eq(webhookDeliveries.id, d.id), eq(webhookDeliveries.status, "sending"), eq(webhookDeliveries.attempts, d.attempts))),
  ];
  if (gone)
    stmts.push(
      db
        .update(webhookEndpoints)
        .set({ enabled: false, disabledReason: r.disable!, updatedAt: now })
        .where(and(eq(webhookEndpoints.id, d.endpointId), eq(webhookEndpoints.tenantId, d.tenantId))),
    );
  await ctx.store.batch(stmts);
}

async function deliver(ctx: DispatchCtx, o: WebhookOptions, d: WebhookDeliveryRow): Promise<void> {
  const { db } = ctx.store;
  const now = (ctx.now ?? Date.now)();
  const [msg] = await db
    .select()
    .from(webhookMessages)
    .where(and(eq(webhookMessages.id, d.messageId), eq(webhookMessages.tenantId, d.tenantId)));
  const [ep] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, d.endpointId), eq(webhookEndpoints.tenantId, d.tenantId)));
  if (!msg || !ep || !ep.enabled) {
    const why = !msg ? "message missing" : !ep ? "endpoint deleted" : `endpoint disabled${ep.disabledReason ? `: ${ep.disabledReason}` : ""}`;
    // no attempt possible: end it now (retrying cannot help)
    await record(ctx, { ...o, maxAttempts: 0 }, d, { status: null, error: why, response: null, startedAt: now });
    return;
  }
  const secrets = [ep.secret, ...ep.previousSecrets.filter((p) => p.expiresAt > now).map((p) => p.secret)];
  const headers = await signedHeaders(secrets, msg.id, Math.floor(now / 1000), msg.payload);
  try {
    const res = await (o.transport ?? fetchTransport)({ url: ep.url, headers, body: msg.payload, timeoutMs: o.timeoutMs, allowPrivate: o.allowPrivate });
    const redirect = res.status >= 300 && res.status < 400;
    await record(ctx, o, d, {
      status: res.status,
      error: redirect ? "redirects are not followed" : null,
      response: res.body || null,
      startedAt: now,
      ...(res.status === 410 ? { disable: `the endpoint answered 410 Gone at ${new Date(now).toISOString()}` } : {}),
    });
  } catch (e) {
    const err = e instanceof SendError ? `${e.code}: ${e.message}` : `network_error: ${(e as Error).message}`;
    await record(ctx, o, d, { status: null, error: err, response: null, startedAt: now });
  }
}

/** One pass: claim what is due and send it (concurrently). Returns how many were attempted. */
export async function dispatchDue(ctx: DispatchCtx, opts: Partial<WebhookOptions> = {}): Promise<number> {
  const o = webhookOptions(opts);
  const claimed = await claim(ctx.store, o, (ctx.now ?? Date.now)());
  await Promise.all(
    claimed.map((d) =>
      deliver(ctx, o, d).catch((e: unknown) => console.error(JSON.stringify({ msg: "webhook delivery crashed", deliveryId: d.id, error: String(e) }))),
    ),
  );
  return claimed.length;
}

/**
 * Run `dispatchDue` in a loop (Node): back to back while there is work, else every `idleMs`.
 * Returns a stop function that waits for the pass in flight.
 */
export function startDispatcher(ctx: DispatchCtx, opts: Partial<WebhookOptions> = {}, idleMs = 250): () => Promise<void> {
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      let n = 0;
      try {
        n = await dispatchDue(ctx, opts);
      } catch (e) {
        const code = storageErrorCode(e);
        if (code && ctx.storage) ctx.storage.writeFailed(code);
        else console.error(JSON.stringify({ msg: "webhook dispatcher pass failed", error: String(e) }));
      }
      if (n === 0 && !stopped) await new Promise<void>((r) => ((wake = r), setTimeout(r, idleMs)));
    }
  })();
  return async () => {
    stopped = true;
    wake?.();
    await loop;
  };
}
