/**
 * Admin API for worker credentials (admin key, like /v1/admin/keys):
 * - `POST /v1/admin/worker-credentials` `{ name?, tenants?, models? }` → 201 `{ id, name, prefix,
 *   tenants, models, createdAt, revokedAt, token }` (the token is shown once);
 * - `GET /v1/admin/worker-credentials` → `{ credentials: [...] }` (never the token or its hash);
 * - `DELETE /v1/admin/worker-credentials/:id` → the revoked credential; 404 when unknown.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../context.js";
import { TENANT_ID_RE } from "../auth/keys.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";
import { createWorkerCredential, listWorkerCredentials, presentCredential, revokeWorkerCredential } from "./credentials.js";

export const credentialRoutes = new Hono<Env>();

export const CreateCredentialBody = z.strictObject({
  name: z.string().max(200).optional(),
  /** Only these tenants' jobs and images; omitted = every tenant. */
  tenants: z.array(z.string().regex(TENANT_ID_RE, "a tenant id: 1–64 of [A-Za-z0-9_.-]")).min(1).max(100).optional(),
  /** Only these models may be registered and leased; omitted = any. */
  models: z.array(z.string().min(1).max(128)).min(1).max(100).optional(),
});

credentialRoutes.post("/", async (c) => {
  const body = parseOr400(CreateCredentialBody, await readJson(c));
  const { token, row } = await createWorkerCredential(c.var.engine.store, { ...body, now: c.var.engine.now() });
  return c.json({ ...presentCredential(row), token }, 201);
});

credentialRoutes.get("/", async (c) => c.json({ credentials: (await listWorkerCredentials(c.var.engine.store)).map(presentCredential) }));

credentialRoutes.delete("/:id", async (c) => {
  const id = c.req.param("id");
  const row = await revokeWorkerCredential(c.var.engine.store, id, c.var.engine.now());
  if (!row) throw apiError(404, "credential_not_found", `worker credential ${id} not found`, { credentialId: id });
  return c.json(presentCredential(row));
});
