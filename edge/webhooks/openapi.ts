/**
 * OpenAPI entries for the API keys, admin and webhook routes (edge/auth, edge/webhooks), from the
 * same zod schemas their handlers validate with. Registered by edge/app.ts next to the others.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { WEBHOOK_EVENT_TYPES } from "../../workflows/index.js";
import { ErrorSchema } from "../api/schemas.js";
import { CreateKeyBody } from "../auth/admin.js";
import type { Env } from "../context.js";
import { CreateEndpointBody, PatchEndpointBody, RotateSecretBody } from "./routes.js";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const err = (description: string) => json(ErrorSchema, description);
const id = z.object({ id: z.string() });
const apiKey = [{ apiKey: [] as string[] }];
const admin = [{ adminKey: [] as string[] }];

const Key = z.object({ id: z.string(), tenantId: z.string(), name: z.string().nullable(), prefix: z.string(), createdAt: z.number(), revokedAt: z.number().nullable() });
const Endpoint = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
const Secret = z.object({ secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }), previous: z.array(z.object({ expiresAt: z.number() })) });
const Attempt = z.object({ attempt: z.number(), at: z.number(), durationMs: z.number(), status: z.number().nullable(), error: z.string().nullable(), response: z.string().nullable() });
const Delivery = z.object({
  id: z.string(),
  endpointId: z.string(),
  status: z.enum(["pending", "sending", "delivered", "failed"]),
  attempts: z.number(),
  nextAttemptAt: z.number().nullable(),
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.number().nullable(),
  log: z.array(Attempt),
});
const DeliveryLog = z.object({
  runId: z.string(),
  messages: z.array(z.object({ id: z.string().openapi({ description: "the webhook-id" }), type: z.enum(WEBHOOK_EVENT_TYPES), createdAt: z.number(), deliveries: z.array(Delivery) })),
});

export function registerWebhooksOpenApi(app: OpenAPIHono<Env>): void {
  const r = app.openAPIRegistry;
  r.registerComponent("securitySchemes", "apiKey", { type: "http", scheme: "bearer", description: "An API key (mlk_…): picks the tenant" });
  r.registerComponent("securitySchemes", "adminKey", { type: "http", scheme: "bearer", description: "ADMIN_KEY" });
  const path = (method: "get" | "post" | "patch" | "delete", p: string, summary: string, security: Record<string, string[]>[], responses: Record<number, unknown>, request?: Record<string, unknown>) =>
    r.registerPath({ method, path: p, summary, security, responses: responses as never, ...(request ? { request: request as never } : {}) });
  const body = (schema: z.ZodType) => ({ body: { content: { "application/json": { schema } } } });

  path("post", "/v1/admin/keys", "Create an API key for a tenant (shown once)", admin, { 201: json(Key.extend({ key: z.string() }), "The key"), 401: err("Not the admin key") }, body(CreateKeyBody));
  path("get", "/v1/admin/keys", "List API keys (never the key)", admin, { 200: json(z.object({ keys: z.array(Key) }), "Keys") }, { query: z.object({ tenantId: z.string().optional() }) });
  path("delete", "/v1/admin/keys/{id}", "Revoke an API key", admin, { 200: json(Key, "The revoked key"), 404: err("Unknown key") }, { params: id });

  path("post", "/v1/webhooks/endpoints", "Add a webhook endpoint (returns its whsec_ secret)", apiKey, { 201: json(Endpoint.extend({ secret: z.string() }), "The endpoint"), 422: err("URL refused (scheme, private address)") }, body(CreateEndpointBody));
  path("get", "/v1/webhooks/endpoints", "The tenant's webhook endpoints", apiKey, { 200: json(z.object({ endpoints: z.array(Endpoint) }), "Endpoints") });
  path("get", "/v1/webhooks/endpoints/{id}", "A webhook endpoint", apiKey, { 200: json(Endpoint, "The endpoint"), 404: err("Unknown endpoint") }, { params: id });
  path("patch", "/v1/webhooks/endpoints/{id}", "Change url, events, description, enabled", apiKey, { 200: json(Endpoint, "The endpoint"), 404: err("Unknown endpoint") }, { params: id, ...body(PatchEndpointBody) });
  path("delete", "/v1/webhooks/endpoints/{id}", "Delete a webhook endpoint", apiKey, { 200: json(Endpoint.extend({ deleted: z.boolean() }), "Deleted"), 404: err("Unknown endpoint") }, { params: id });
  path("get", "/v1/webhooks/endpoints/{id}/secret", "The endpoint's signing secret", apiKey, { 200: json(Secret, "The secret"), 404: err("Unknown endpoint") }, { params: id });
  path("post", "/v1/webhooks/endpoints/{id}/rotate-secret", "New secret; the old one keeps signing for the grace period", apiKey, { 200: json(Secret, "The new secret"), 404: err("Unknown endpoint") }, { params: id, ...body(RotateSecretBody) });
  path("get", "/v1/runs/{id}/webhooks", "The run's webhook delivery log", apiKey, { 200: json(DeliveryLog, "Messages, deliveries, attempts"), 404: err("Unknown run") }, { params: id });
  path("post", "/v1/webhooks/deliveries/{id}/redeliver", "Send a delivery again (same webhook-id)", apiKey, {
    202: json(z.object({ id: z.string(), messageId: z.string(), endpointId: z.string(), status: z.literal("pending"), nextAttemptAt: z.number() }), "Queued"),
    404: err("Unknown delivery"),
    409: err("Endpoint disabled or deleted"),
  }, { params: id });
}
