/**
 * Admin API for worker credentials (admin key, like /v1/admin/keys; documented in /openapi.json):
 * - `POST /v1/admin/worker-credentials` `{ name?, tenants?, models? }` → 201 `{ id, name, prefix,
 *   tenants, models, createdAt, revokedAt, token }` (the token is shown once);
 * - `GET /v1/admin/worker-credentials` → `{ credentials: [...] }` (never the token or its hash);
 * - `DELETE /v1/admin/worker-credentials/:id` → the revoked credential; 404 when unknown.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { err, json, jsonBody, newRouter, route } from "../api/route.js";
import { TENANT_ID_RE } from "../auth/keys.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";
import { createWorkerCredential, listWorkerCredentials, presentCredential, revokeWorkerCredential } from "./credentials.js";

export const credentialRoutes = newRouter();
const admin = [{ adminKey: [] }];

const CredentialSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    prefix: z.string(),
    tenants: z.array(z.string()).nullable(),
    models: z.array(z.string()).nullable(),
    createdAt: z.number(),
    revokedAt: z.number().nullable(),
  })
  .meta({ id: "WorkerCredential" });

export const CreateCredentialBody = z
  .strictObject({
    name: z.string().max(200).optional(),
    /** Only these tenants' jobs and images; omitted = every tenant. */
    tenants: z.array(z.string().regex(TENANT_ID_RE, "a tenant id: 1–64 of [A-Za-z0-9_.-]")).min(1).max(100).optional(),
    /** Only these models may be registered and leased; omitted = any. */
    models: z.array(z.string().min(1).max(128)).min(1).max(100).optional(),
  })
  .meta({ id: "CreateWorkerCredential" });

const createRouteDef = createRoute({
  method: "post",
  path: "/",
  summary: "Create a worker credential (token shown once), optionally limited to tenants and models",
  security: admin,
  request: { body: jsonBody(CreateCredentialBody) },
  responses: {
    201: json(CredentialSchema.extend({ token: z.string() }), "The credential and its token"),
    400: err("Invalid body"),
    401: err("Not the admin key"),
  },
});

route(credentialRoutes, createRouteDef, async (c) => {
  const body = parseOr400(CreateCredentialBody, await readJson(c));
  const { token, row } = await createWorkerCredential(c.var.engine.store, { ...body, now: c.var.engine.now() });
  return c.json({ ...presentCredential(row), token }, 201);
});

const listRouteDef = createRoute({
  method: "get",
  path: "/",
  summary: "List worker credentials (never the token)",
  security: admin,
  responses: { 200: json(z.object({ credentials: z.array(CredentialSchema) }), "Credentials"), 401: err("Not the admin key") },
});

route(credentialRoutes, listRouteDef, async (c) => c.json({ credentials: (await listWorkerCredentials(c.var.engine.store)).map(presentCredential) }));

const revokeRouteDef = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Revoke a worker credential: its workers get 401 on every pool call",
  security: admin,
  request: { params: z.object({ id: z.string() }) },
  responses: { 200: json(CredentialSchema, "The revoked credential"), 401: err("Not the admin key"), 404: err("Unknown credential") },
});

route(credentialRoutes, revokeRouteDef, async (c) => {
  const { id } = c.req.valid("param");
  const row = await revokeWorkerCredential(c.var.engine.store, id, c.var.engine.now());
  if (!row) throw apiError(404, "credential_not_found", `worker credential ${id} not found`, { credentialId: id });
  return c.json(presentCredential(row));
});
