/**
 * The pool protocol under /v1/pool/* (docs/CONTRACTS.md §4), bearer-token protected. Bodies are
 * validated with the wire schemas from workflows/src/wire.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { queries } from "../../db/queries.js";
import {
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  LeaseRequestSchema,
  LeaseResponseSchema,
  ProgressRequestSchema,
  ProgressResponseSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  ResultsRequestSchema,
  ResultsResponseSchema,
  Sha256Schema,
} from "../../workflows/index.js";
import { err, json, jsonBody, newRouter, route } from "../api/route.js";
import { safeEqual } from "../auth/keys.js";
import type { Ctx } from "../context.js";
import { heartbeat, leaseJobs, progress } from "../engine/pool.js";
import { applyResults } from "../engine/results.js";
import { registerWorker } from "../engine/workers.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";

export const poolRoutes = newRouter();
poolRoutes.openAPIRegistry.registerComponent("securitySchemes", "poolToken", { type: "http", scheme: "bearer", description: "POOL_TOKEN" });

/** Checks the pool token in constant time (`safeEqual`, as API keys are). */
export function poolAuth(token: string) {
  return async (c: Ctx, next: () => Promise<void>) => {
    const h = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m || !safeEqual(m[1]!.trim(), token))
      throw apiError(401, "unauthorized", "pool calls need 'Authorization: Bearer <pool token>'", null, { "WWW-Authenticate": "Bearer" });
    await next();
  };
}

const notRegistered = (workerId: string) =>
  apiError(409, "worker_not_registered", `worker ${workerId} is not registered (or was forgotten): POST /v1/pool/register first`, {
    field: "workerId",
  });

/** A pool call: JSON in, JSON out, the pool token, and the protocol's errors. */
const poolCall = <Req extends z.ZodType, Res extends z.ZodType>(path: string, req: Req, res: Res, summary: string) =>
  createRoute({
    method: "post",
    path,
    summary,
    security: [{ poolToken: [] }],
    request: { body: jsonBody(req) },
    responses: { 200: json(res, "OK"), 400: err("Invalid body"), 401: err("Bad pool token"), 409: err("Worker not registered: register again") },
  });

route(poolRoutes, poolCall("/register", RegisterRequestSchema, RegisterResponseSchema, "Register a worker and its models"), async (c) => {
  const req = parseOr400(RegisterRequestSchema, await readJson(c));
  return c.json(await registerWorker(c.var.engine, req, c.var.tenantId));
});

route(poolRoutes, poolCall("/lease", LeaseRequestSchema, LeaseResponseSchema, "Long-poll for up to max jobs"), async (c) => {
  const req = parseOr400(LeaseRequestSchema, await readJson(c));
  const lease = await leaseJobs(c.var.engine, req.workerId, req.max, req.waitMs, c.req.raw.signal);
  if (!lease) throw notRegistered(req.workerId);
  return c.json(lease);
});

route(poolRoutes, poolCall("/heartbeat", HeartbeatRequestSchema, HeartbeatResponseSchema, "Extend leases; learn cancels / lost leases"), async (c) => {
  const req = parseOr400(HeartbeatRequestSchema, await readJson(c));
  const r = await heartbeat(c.var.engine, req.workerId, req.jobIds);
  if (!r) throw notRegistered(req.workerId);
  return c.json(r);
});

route(poolRoutes, poolCall("/progress", ProgressRequestSchema, ProgressResponseSchema, "Stream tokens (SSE token events)"), async (c) => {
  const req = parseOr400(ProgressRequestSchema, await readJson(c));
  const r = await progress(c.var.engine, req.workerId, req.jobId, req.tokens);
  // not this worker's job (any more): tell it to stop
  return c.json(r ?? { cancel: true });
});

route(poolRoutes, poolCall("/results", ResultsRequestSchema, ResultsResponseSchema, "Post job results (duplicates / late ones ignored)"), async (c) => {
  const req = parseOr400(ResultsRequestSchema, await readJson(c));
  return c.json(await applyResults(c.var.engine, req.workerId, req.results));
});

const blobRoute = createRoute({
  method: "get",
  path: "/blobs/{sha256}",
  summary: "Stored input bytes (images) by content hash",
  security: [{ poolToken: [] }],
  request: { params: z.object({ sha256: z.string().openapi({ description: "lowercase hex sha256" }) }) },
  responses: {
    200: { description: "The bytes (X-Content-Type: their mime type)", content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
    400: err("Not a sha256"),
    404: err("Unknown blob"),
  },
});

route(poolRoutes, blobRoute, async (c) => {
  const sha = c.req.valid("param").sha256;
  if (!Sha256Schema.safeParse(sha).success) throw apiError(400, "invalid_request", "expected a lowercase hex sha256", { field: "sha256" });
  const [row] = await queries(c.var.engine.store).blobBySha.all({ sha256: sha });
  if (!row) throw apiError(404, "blob_not_found", `no blob ${sha}`, { sha256: sha });
  return c.body(new Uint8Array(row.data), 200, {
    "Content-Type": "application/octet-stream",
    "X-Content-Type": row.mime,
    "Cache-Control": "public, max-age=31536000, immutable",
  });
});
