/**
 * The admin API (admin key only, see middleware.ts): create, list and revoke API keys.
 *
 * - `POST /v1/admin/keys` `{ tenantId?, name? }` → 201 `{ id, tenantId, name, prefix, createdAt, key }`
 *   (the key is shown once; without `tenantId` a new tenant id is made up);
 * - `GET /v1/admin/keys[?tenantId=]` → `{ keys: [...] }` (never the key or its hash);
 * - `DELETE /v1/admin/keys/:id` → the revoked key; 404 when there is no such key.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { err, json, jsonBody, newRouter, route } from "../api/route.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";
import { createApiKey, listApiKeys, newId, presentKey, revokeApiKey, TENANT_ID_RE } from "./keys.js";

export const adminRoutes = newRouter();
adminRoutes.openAPIRegistry.registerComponent("securitySchemes", "adminKey", { type: "http", scheme: "bearer", description: "ADMIN_KEY" });
const admin = [{ adminKey: [] }];

const KeySchema = z
  .object({ id: z.string(), tenantId: z.string(), name: z.string().nullable(), prefix: z.string(), createdAt: z.number(), revokedAt: z.number().nullable() })
  .meta({ id: "ApiKey" });

export const CreateKeyBody = z
  .strictObject({
    tenantId: z.string().regex(TENANT_ID_RE, "tenantId: 1–64 of [A-Za-z0-9_.-], starting with a letter or digit").optional(),
    name: z.string().max(200).optional(),
  })
  .meta({ id: "CreateApiKey" });

const createKeyRoute = createRoute({
  method: "post",
  path: "/keys",
  summary: "Create an API key for a tenant (shown once)",
  security: admin,
  request: { body: jsonBody(CreateKeyBody) },
  responses: { 201: json(KeySchema.extend({ key: z.string() }), "The key"), 400: err("Invalid body"), 401: err("Not the admin key") },
});

route(adminRoutes, createKeyRoute, async (c) => {
  const body = parseOr400(CreateKeyBody, await readJson(c));
  const { key, row } = await createApiKey(c.var.engine.store, {
    tenantId: body.tenantId ?? newId("t", 6),
    name: body.name ?? null,
    now: c.var.engine.now(),
  });
  return c.json({ ...presentKey(row), key }, 201);
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/keys",
  summary: "List API keys (never the key)",
  security: admin,
  request: { query: z.object({ tenantId: z.string().optional() }) },
  responses: { 200: json(z.object({ keys: z.array(KeySchema) }), "Keys"), 400: err("Invalid tenantId"), 401: err("Not the admin key") },
});

route(adminRoutes, listKeysRoute, async (c) => {
  const { tenantId } = c.req.valid("query");
  if (tenantId !== undefined && !TENANT_ID_RE.test(tenantId)) throw apiError(400, "invalid_request", "invalid tenantId", { field: "tenantId" });
  return c.json({ keys: (await listApiKeys(c.var.engine.store, tenantId)).map(presentKey) });
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/keys/{id}",
  summary: "Revoke an API key",
  security: admin,
  request: { params: z.object({ id: z.string() }) },
  responses: { 200: json(KeySchema, "The revoked key"), 401: err("Not the admin key"), 404: err("Unknown key") },
});

route(adminRoutes, revokeKeyRoute, async (c) => {
  const { id } = c.req.valid("param");
  const row = await revokeApiKey(c.var.engine.store, id, c.var.engine.now());
  if (!row) throw apiError(404, "key_not_found", `API key ${id} not found`, { keyId: id });
  return c.json(presentKey(row));
});
