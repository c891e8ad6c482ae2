/**
 * Webhook API (tenant-scoped: another tenant's endpoint, run or delivery is a 404):
 *
 * - `POST   /v1/webhooks/endpoints` `{ url, events?, description?, enabled? }` → 201, with `secret`
 * - `GET    /v1/webhooks/endpoints` → `{ endpoints }` (never secrets)
 * - `GET    /v1/webhooks/endpoints/:id`, `PATCH …/:id` `{ url?, events?, description?, enabled? }`,
 *   `DELETE …/:id`
 * - `GET    /v1/webhooks/endpoints/:id/secret` → `{ secret }`
 * - `POST   /v1/webhooks/endpoints/:id/rotate-secret` `{ graceSeconds? }` → `{ secret }`; the old
 *   secret keeps signing (a second `v1,` signature) for the grace period (default 24 h)
 * - `GET    /v1/runs/:id/webhooks` → the run's delivery log: messages, deliveries, attempts
 * - `POST   /v1/webhooks/deliveries/:id/redeliver` → queued again now, same `webhook-id`
 *
 * `events` defaults to all of `run.started`, `step.completed`, `run.completed`, `run.failed`,
 * `run.canceled`. URLs must be http(s) and not point at a private, loopback, link-local or
 * metadata address (unless the edge allows that by configuration).
 */
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import {
  runs,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  webhookMessages,
  type WebhookEndpointRow,
} from "../../db/schema.js";
import { WEBHOOK_EVENT_TYPES } from "../../workflows/index.js";
import type { Ctx, Env } from "../context.js";
import { newId } from "../auth/keys.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";
import { webhookOptions } from "./options.js";
import { newSecret } from "./sign.js";
import { urlProblem } from "./ssrf.js";

export const webhooksRoutes = new Hono<Env>();
export const runWebhooksRoutes = new Hono<Env>();

const MAX_ENDPOINTS = 20;
const Events = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length);
export const CreateEndpointBody = z.strictObject({
  url: z.string().min(1).max(2048),
  events: Events.optional(),
  description: z.string().max(500).optional(),
  enabled: z.boolean().optional(),
});
export const PatchEndpointBody = CreateEndpointBody.partial();
export const RotateSecretBody = z.strictObject({ graceSeconds: z.number().int().min(0).max(7 * 24 * 3600).optional() });

const present = (e: WebhookEndpointRow) => ({
  id: e.id,
  url: e.url,
  description: e.description,
  events: e.events,
  enabled: e.enabled,
  disabledReason: e.disabledReason,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
});

function checkUrl(c: Ctx, url: string): void {
  const o = webhookOptions(c.var.webhooks);
  const problem = urlProblem(url, o.allowPrivate);
  if (problem) throw apiError(422, "invalid_webhook_url", `url: ${problem}`, { field: "url" });
}

async function loadEndpoint(c: Ctx, id: string): Promise<WebhookEndpointRow> {
  const [row] = await c.var.engine.store.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, c.var.tenantId)));
  if (!row) throw apiError(404, "webhook_endpoint_not_found", `webhook endpoint ${id} not found`, { endpointId: id });
  return row;
}

webhooksRoutes.post("/endpoints", async (c) => {
  const body = parseOr400(CreateEndpointBody, await readJson(c));
  checkUrl(c, body.url);
  const { store, now } = c.var.engine;
  const existing = await store.db.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, c.var.tenantId));
  if (existing.length >= MAX_ENDPOINTS)
    throw apiError(422, "too_many_endpoints", `a tenant may have at most ${MAX_ENDPOINTS} webhook endpoints`, { limit: MAX_ENDPOINTS });
  const t = now();
  const row: WebhookEndpointRow = {
    id: newId("wh", 8),
    tenantId: c.var.tenantId,
    url: body.url,
    description: body.description ?? null,
    events: body.events ? [...new Set(body.events)] : [...WEBHOOK_EVENT_TYPES],
    secret: newSecret(),
    previousSecrets: [],
    enabled: body.enabled ?? true,
    disabledReason: null,
    createdAt: t,
    updatedAt: t,
  };
  await store.batch([store.db.insert(webhookEndpoints).values(row)]);
  c.header("Location", `/v1/webhooks/endpoints/${row.id}`);
  return c.json({ ...present(row), secret: row.secret }, 201);
});

webhooksRoutes.get("/endpoints", async (c) => {
  const rows = await c.var.engine.store.db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.tenantId, c.var.tenantId))
    .orderBy(asc(webhookEndpoints.createdAt));
  return c.json({ endpoints: rows.map(present) });
});

webhooksRoutes.get("/endpoints/:id", async (c) => c.json(present(await loadEndpoint(c, c.req.param("id")))));

webhooksRoutes.get("/endpoints/:id/secret", async (c) => {
  const e = await loadEndpoint(c, c.req.param("id"));
  const now = c.var.engine.now();
  return c.json({ secret: e.secret, previous: e.previousSecrets.filter((p) => p.expiresAt > now).map((p) => ({ expiresAt: p.expiresAt })) });
});

webhooksRoutes.patch("/endpoints/:id", async (c) => {
  const e = await loadEndpoint(c, c.req.param("id"));
  const body = parseOr400(PatchEndpointBody, await readJson(c));
  if (body.url !== undefined) checkUrl(c, body.url);
  const { store, now } = c.var.engine;
  const patch: Partial<WebhookEndpointRow> = { updatedAt: now() };
  if (body.url !== undefined) patch.url = body.url;
  if (body.events !== undefined) patch.events = [...new Set(body.events)];
  if (body.description !== undefined) patch.description = body.description;
  if (body.enabled !== undefined) {
    patch.enabled = body.enabled;
    if (body.enabled) patch.disabledReason = null;
  }
  await store.batch([store.db.update(webhookEndpoints).set(patch).where(and(eq(webhookEndpoints.id, e.id), eq(webhookEndpoints.tenantId, c.var.tenantId)))]);
  return c.json(present({ ...e, ...patch }));
});

webhooksRoutes.delete("/endpoints/:id", async (c) => {
  const e = await loadEndpoint(c, c.req.param("id"));
  const { store } = c.var.engine;
  await store.batch([store.db.delete(webhookEndpoints).where(and(eq(webhookEndpoints.id, e.id), eq(webhookEndpoints.tenantId, c.var.tenantId)))]);
  return c.json({ ...present(e), deleted: true });
});

webhooksRoutes.post("/endpoints/:id/rotate-secret", async (c) => {
  const e = await loadEndpoint(c, c.req.param("id"));
  const text = await c.req.text();
  const body = text.trim() ? parseOr400(RotateSecretBody, (() => { try { return JSON.parse(text); } catch { throw apiError(400, "invalid_json", "malformed JSON"); } })()) : {};
  const { store, now } = c.var.engine;
  const t = now();
  const grace = body.graceSeconds !== undefined ? body.graceSeconds * 1000 : webhookOptions(c.var.webhooks).rotationGraceMs;
  const previous = [...e.previousSecrets.filter((p) => p.expiresAt > t), ...(grace > 0 ? [{ secret: e.secret, expiresAt: t + grace }] : [])].slice(-5);
  const secret = newSecret();
  await store.batch([
    store.db
      .update(webhookEndpoints)
      .set({ secret, previousSecrets: previous, updatedAt: t })
      .where(and(eq(webhookEndpoints.id, e.id), eq(webhookEndpoints.tenantId, c.var.tenantId))),
  ]);
  return c.json({ secret, previous: previous.map((p) => ({ expiresAt: p.expiresAt })) });
});

webhooksRoutes.post("/deliveries/:id/redeliver", async (c) => {
  const id = c.req.param("id");
  const { store, now } = c.var.engine;
  const [d] = await store.db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.tenantId, c.var.tenantId)));
  if (!d) throw apiError(404, "webhook_delivery_not_found", `webhook delivery ${id} not found`, { deliveryId: id });
  const ep = await loadEndpoint(c, d.endpointId).catch(() => undefined);
  if (!ep) throw apiError(409, "webhook_endpoint_deleted", "the delivery's endpoint was deleted", { endpointId: d.endpointId });
  if (!ep.enabled)
    throw apiError(409, "webhook_endpoint_disabled", `endpoint ${ep.id} is disabled${ep.disabledReason ? ` (${ep.disabledReason})` : ""}: enable it first`, {
      endpointId: ep.id,
    });
  const t = now();
  await store.batch([
    store.db
      .update(webhookDeliveries)
      .set({ status: "pending", attempts: 0, nextAttemptAt: t, leaseUntil: null, updatedAt: t })
      .where(and(eq(webhookDeliveries.id, d.id), eq(webhookDeliveries.tenantId, c.var.tenantId))),
  ]);
  return c.json({ id: d.id, messageId: d.messageId, endpointId: d.endpointId, status: "pending", nextAttemptAt: t }, 202);
});

runWebhooksRoutes.get("/:id/webhooks", async (c) => {
  const runId = c.req.param("id");
  const { db } = c.var.engine.store;
  const tenantId = c.var.tenantId;
  const [run] = await db.select({ id: runs.id }).from(runs).where(and(eq(runs.id, runId), eq(runs.tenantId, tenantId)));
  if (!run) throw apiError(404, "run_not_found", `run ${runId} not found`, { runId });
  const messages = await db
    .select({ id: webhookMessages.id, type: webhookMessages.type, createdAt: webhookMessages.createdAt })
    .from(webhookMessages)
    .where(and(eq(webhookMessages.runId, runId), eq(webhookMessages.tenantId, tenantId)))
    .orderBy(asc(webhookMessages.createdAt), asc(webhookMessages.id))
    .limit(500);
  const deliveries = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.runId, runId), eq(webhookDeliveries.tenantId, tenantId)))
    .limit(5000);
  const attempts: (typeof webhookAttempts.$inferSelect)[] = [];
  const ids = deliveries.map((d) => d.id);
  for (let i = 0; i < ids.length; i += 90) {
    attempts.push(
      ...(await db
        .select()
        .from(webhookAttempts)
        .where(and(inArray(webhookAttempts.deliveryId, ids.slice(i, i + 90)), eq(webhookAttempts.tenantId, tenantId)))
        .orderBy(desc(webhookAttempts.id))
        .limit(2000)),
    );
  }
  return c.json({
    runId,
    messages: messages.map((m) => ({
      ...m,
      deliveries: deliveries
        .filter((d) => d.messageId === m.id)
        .map((d) => ({
          id: d.id,
          endpointId: d.endpointId,
          status: d.status,
          attempts: d.attempts,
          nextAttemptAt: d.status === "pending" ? d.nextAttemptAt : null,
          lastStatus: d.lastStatus,
          lastError: d.lastError,
          deliveredAt: d.deliveredAt,
          log: attempts
            .filter((a) => a.deliveryId === d.id)
            .sort((a, b) => a.id - b.id)
            .map((a) => ({ attempt: a.attempt, at: a.at, durationMs: a.durationMs, status: a.status, error: a.error, response: a.response })),
        })),
    })),
  });
});
