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
import { createRoute, z } from "@hono/zod-openapi";
import { runs, webhookAttempts, webhookDeliveries, webhookEndpoints, webhookMessages, type WebhookEndpointRow } from "../../db/schema.js";
import { WEBHOOK_EVENT_TYPES } from "../../workflows/index.js";
import { err, json, jsonBody, newRouter, route } from "../api/route.js";
import type { Ctx } from "../context.js";
import { newId } from "../auth/keys.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";
import { CreateEndpointBody, DeliveryLogSchema, EndpointSchema, PatchEndpointBody, RedeliveredSchema, RotateSecretBody, SecretSchema } from "./schemas.js";
import { webhookOptions } from "./options.js";
import { newSecret } from "./sign.js";
import { urlProblem } from "./ssrf.js";

export const webhooksRoutes = newRouter();
export const runWebhooksRoutes = newRouter();

const MAX_ENDPOINTS = 20;

const IdParam = z.object({ id: z.string() });
const apiKey = [{ apiKey: [] }];
webhooksRoutes.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
  type: "http",
  scheme: "bearer",
  description: "An API key (mlk_…): picks the tenant",
});

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

const endpointRoute = <M extends "get" | "post" | "patch" | "delete", P extends string, Req extends object>(
  method: M,
  path: P,
  summary: string,
  request: Req,
  responses: Record<number, ReturnType<typeof json>>,
) => createRoute({ method, path, summary, security: apiKey, request, responses });

const createEndpointRoute = endpointRoute(
  "post",
  "/endpoints",
  "Add a webhook endpoint (returns its whsec_ secret)",
  { body: jsonBody(CreateEndpointBody) },
  {
    201: json(EndpointSchema.extend({ secret: z.string() }), "The endpoint"),
    400: err("Invalid body"),
    422: err("URL refused (scheme, private address) or too many endpoints"),
  },
);

route(webhooksRoutes, createEndpointRoute, async (c) => {
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

route(
  webhooksRoutes,
  endpointRoute("get", "/endpoints", "The tenant's webhook endpoints", {}, { 200: json(z.object({ endpoints: z.array(EndpointSchema) }), "Endpoints") }),
  async (c) => {
    const rows = await c.var.engine.store.db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenantId, c.var.tenantId))
      .orderBy(asc(webhookEndpoints.createdAt));
    return c.json({ endpoints: rows.map(present) });
  },
);

route(
  webhooksRoutes,
  endpointRoute(
    "get",
    "/endpoints/{id}",
    "A webhook endpoint",
    { params: IdParam },
    { 200: json(EndpointSchema, "The endpoint"), 404: err("Unknown endpoint") },
  ),
  async (c) => c.json(present(await loadEndpoint(c, c.req.valid("param").id))),
);

const secretRoute = endpointRoute(
  "get",
  "/endpoints/{id}/secret",
  "The endpoint's signing secret",
  { params: IdParam },
  { 200: json(SecretSchema, "The secret"), 404: err("Unknown endpoint") },
);

route(webhooksRoutes, secretRoute, async (c) => {
  const e = await loadEndpoint(c, c.req.valid("param").id);
  const now = c.var.engine.now();
  return c.json({ secret: e.secret, previous: e.previousSecrets.filter((p) => p.expiresAt > now).map((p) => ({ expiresAt: p.expiresAt })) });
});

const patchRoute = endpointRoute(
  "patch",
  "/endpoints/{id}",
  "Change url, events, description, enabled",
  { params: IdParam, body: jsonBody(PatchEndpointBody) },
  {
    200: json(EndpointSchema, "The endpoint"),
    400: err("Invalid body"),
    404: err("Unknown endpoint"),
    422: err("URL refused"),
  },
);

route(webhooksRoutes, patchRoute, async (c) => {
  const e = await loadEndpoint(c, c.req.valid("param").id);
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
  await store.batch([
    store.db
      .update(webhookEndpoints)
      .set(patch)
      .where(and(eq(webhookEndpoints.id, e.id), eq(webhookEndpoints.tenantId, c.var.tenantId))),
  ]);
  return c.json(present({ ...e, ...patch }));
});

const deleteRoute = endpointRoute(
  "delete",
  "/endpoints/{id}",
  "Delete a webhook endpoint",
  { params: IdParam },
  {
    200: json(EndpointSchema.extend({ deleted: z.boolean() }), "Deleted"),
    404: err("Unknown endpoint"),
  },
);

route(webhooksRoutes, deleteRoute, async (c) => {
  const e = await loadEndpoint(c, c.req.valid("param").id);
  const { store } = c.var.engine;
  await store.batch([store.db.delete(webhookEndpoints).where(and(eq(webhookEndpoints.id, e.id), eq(webhookEndpoints.tenantId, c.var.tenantId)))]);
  return c.json({ ...present(e), deleted: true });
});

const rotateRoute = endpointRoute(
  "post",
  "/endpoints/{id}/rotate-secret",
  "New secret; the old one keeps signing for the grace period",
  { params: IdParam, body: jsonBody(RotateSecretBody, false) },
  { 200: json(SecretSchema, "The new secret"), 400: err("Invalid body"), 404: err("Unknown endpoint") },
);

route(webhooksRoutes, rotateRoute, async (c) => {
  const e = await loadEndpoint(c, c.req.valid("param").id);
  const text = await c.req.text();
  const body = text.trim()
    ? parseOr400(
        RotateSecretBody,
        (() => {
          try {
            return JSON.parse(text);
          } catch {
            throw apiError(400, "invalid_json", "malformed JSON");
          }
        })(),
      )
    : {};
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

const redeliverRoute = endpointRoute(
  "post",
  "/deliveries/{id}/redeliver",
  "Send a delivery again (same webhook-id)",
  { params: IdParam },
  {
    202: json(RedeliveredSchema, "Queued"),
    404: err("Unknown delivery"),
    409: err("Endpoint disabled or deleted"),
  },
);

route(webhooksRoutes, redeliverRoute, async (c) => {
  const { id } = c.req.valid("param");
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

const deliveryLogRoute = endpointRoute(
  "get",
  "/{id}/webhooks",
  "The run's webhook delivery log",
  { params: IdParam },
  {
    200: json(DeliveryLogSchema, "Messages, deliveries, attempts"),
    404: err("Unknown run"),
  },
);

route(runWebhooksRoutes, deliveryLogRoute, async (c) => {
  const runId = c.req.valid("param").id;
  const { db } = c.var.engine.store;
  const tenantId = c.var.tenantId;
  const [run] = await db
    .select({ id: runs.id })
    .from(runs)
    .where(and(eq(runs.id, runId), eq(runs.tenantId, tenantId)));
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
