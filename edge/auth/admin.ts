/**
 * The admin API (admin key only, see middleware.ts): create, list and revoke API keys.
 *
 * - `POST /v1/admin/keys` `{ tenantId?, name? }` → 201 `{ id, tenantId, name, prefix, createdAt, key }`
 *   (the key is shown once; without `tenantId` a new tenant id is made up);
 * - `GET /v1/admin/keys[?tenantId=]` → `{ keys: [...] }` (never the key or its hash);
 * - `DELETE /v1/admin/keys/:id` → the revoked key; 404 when there is no such key.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../context.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";
import { createApiKey, listApiKeys, newId, presentKey, revokeApiKey, TENANT_ID_RE } from "./keys.js";

export const adminRoutes = new Hono<Env>();

export const CreateKeyBody = z.strictObject({
  tenantId: z.string().regex(TENANT_ID_RE, "tenantId: 1–64 of [A-Za-z0-9_.-], starting with a letter or digit").optional(),
  name: z.string().max(200).optional(),
});

adminRoutes.post("/keys", async (c) => {
  const body = parseOr400(CreateKeyBody, await readJson(c));
  const { key, row } = await createApiKey(c.var.engine.store, {
    tenantId: body.tenantId ?? newId("t", 6),
    name: body.name ?? null,
    now: c.var.engine.now(),
  });
  return c.json({ ...presentKey(row), key }, 201);
});

adminRoutes.get("/keys", async (c) => {
  const tenantId = c.req.query("tenantId");
  if (tenantId !== undefined && !TENANT_ID_RE.test(tenantId)) throw apiError(400, "invalid_request", "invalid tenantId", { field: "tenantId" });
  return c.json({ keys: (await listApiKeys(c.var.engine.store, tenantId)).map(presentKey) });
});

adminRoutes.delete("/keys/:id", async (c) => {
  const id = c.req.param("id");
  const row = await revokeApiKey(c.var.engine.store, id, c.var.engine.now());
  if (!row) throw apiError(404, "key_not_found", `API key ${id} not found`, { keyId: id });
  return c.json(presentKey(row));
});
