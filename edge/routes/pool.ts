/**
 * The pool protocol under /v1/pool/* (ARCHITECTURE.md §4), bearer-token protected. Bodies are
 * validated with the wire schemas from workflows/src/wire.ts.
 */
import { Hono } from "hono";
import { queries } from "../../db/queries.js";
import {
  HeartbeatRequestSchema,
  LeaseRequestSchema,
  ProgressRequestSchema,
  RegisterRequestSchema,
  ResultsRequestSchema,
  Sha256Schema,
} from "../../workflows/index.js";
import type { Env } from "../context.js";
import { heartbeat, leaseJobs, progress } from "../engine/pool.js";
import { applyResults } from "../engine/results.js";
import { registerWorker } from "../engine/workers.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";

export const poolRoutes = new Hono<Env>();

/** Constant-time comparison of the bearer token. */
function tokenOk(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(a.length, 1)] ?? 0) ^ b[i]!;
  return diff === 0;
}

export function poolAuth(token: string) {
  return async (c: import("../context.js").Ctx, next: () => Promise<void>) => {
    const h = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m || !tokenOk(m[1]!.trim(), token))
      throw apiError(401, "unauthorized", "pool calls need 'Authorization: Bearer <pool token>'", null, { "WWW-Authenticate": "Bearer" });
    await next();
  };
}

const notRegistered = (workerId: string) =>
  apiError(409, "worker_not_registered", `worker ${workerId} is not registered (or was forgotten): POST /v1/pool/register first`, {
    field: "workerId",
  });

poolRoutes.post("/register", async (c) => {
  const req = parseOr400(RegisterRequestSchema, await readJson(c));
  return c.json(await registerWorker(c.var.engine, req, c.var.tenantId));
});

poolRoutes.post("/lease", async (c) => {
  const req = parseOr400(LeaseRequestSchema, await readJson(c));
  const lease = await leaseJobs(c.var.engine, req.workerId, req.max, req.waitMs, c.req.raw.signal);
  if (!lease) throw notRegistered(req.workerId);
  return c.json(lease);
});

poolRoutes.post("/heartbeat", async (c) => {
  const req = parseOr400(HeartbeatRequestSchema, await readJson(c));
  const r = await heartbeat(c.var.engine, req.workerId, req.jobIds);
  if (!r) throw notRegistered(req.workerId);
  return c.json(r);
});

poolRoutes.post("/progress", async (c) => {
  const req = parseOr400(ProgressRequestSchema, await readJson(c));
  const r = await progress(c.var.engine, req.workerId, req.jobId, req.tokens);
  // not this worker's job (any more): tell it to stop
  return c.json(r ?? { cancel: true });
});

poolRoutes.post("/results", async (c) => {
  const req = parseOr400(ResultsRequestSchema, await readJson(c));
  return c.json(await applyResults(c.var.engine, req.workerId, req.results));
});

poolRoutes.get("/blobs/:sha256", async (c) => {
  const sha = c.req.param("sha256");
  if (!Sha256Schema.safeParse(sha).success) throw apiError(400, "invalid_request", "expected a lowercase hex sha256", { field: "sha256" });
  const [row] = await queries(c.var.engine.store).blobBySha.all({ sha256: sha });
  if (!row) throw apiError(404, "blob_not_found", `no blob ${sha}`, { sha256: sha });
  return c.body(new Uint8Array(row.data), 200, {
    "Content-Type": "application/octet-stream",
    "X-Content-Type": row.mime,
    "Cache-Control": "public, max-age=31536000, immutable",
  });
});
