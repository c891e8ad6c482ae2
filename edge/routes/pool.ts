/**
 * The pool protocol under /v1/pool/* (docs/CONTRACTS.md §4), bearer-token protected. Bodies are
 * validated with the wire schemas from workflows/src/wire.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, inArray } from "drizzle-orm";
import type { Store } from "../../db/driver.js";
import { queries } from "../../db/queries.js";
import { blobs, tenantBlobs, workers } from "../../db/schema.js";
import {
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  LEASE_FRAME_TYPE,
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
import { findWorkerCredential, UNLIMITED_POOL } from "../credentials/credentials.js";
import { heartbeat, leaseBody, leaseJobs, progress } from "../engine/pool.js";
import { applyResults } from "../engine/results.js";
import { registerWorker } from "../engine/workers.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";

export const poolRoutes = newRouter();
poolRoutes.openAPIRegistry.registerComponent("securitySchemes", "poolToken", { type: "http", scheme: "bearer", description: "POOL_TOKEN" });

/**
 * The shared POOL_TOKEN (credential `pool`, unlimited; compared in constant time with
 * `safeEqual`) or a worker credential `mlw_…` made with the admin key (edge/credentials/): sets
 * `c.var.poolCredential`. Unknown or revoked → 401.
 */
export function poolAuth(token: string) {
  return async (c: Ctx, next: () => Promise<void>) => {
    const h = c.req.header("authorization") ?? "";
    const given = /^Bearer\s+(.+)$/i.exec(h)?.[1]?.trim();
    const cred = !given ? undefined : safeEqual(given, token) ? UNLIMITED_POOL : await findWorkerCredential(c.var.engine.store, given);
    if (!cred)
      throw apiError(401, "unauthorized", "pool calls need 'Authorization: Bearer <pool token or worker credential>' (unknown or revoked)", null, {
        "WWW-Authenticate": "Bearer",
      });
    c.set("poolCredential", cred);
    await next();
  };
}

/** Printable, no whitespace: a worker id is shown in receipts, logs and the UI. */
const WORKER_ID_RE = /^[\x21-\x7e]{1,256}$/;

/**
 * Worker id → the credential that registered it, per store. It never changes once registered
 * (`registerWorker` refuses another credential; worker rows are never deleted), so every lease and
 * results post need not query it (≈ 70 µs of drizzle per call, bench: a pool call's CPU).
 */
const owners = new WeakMap<Store, Map<string, string>>();

/** A registered worker id may be used only with the credential that registered it. */
async function ownWorker(c: Ctx, workerId: string): Promise<void> {
  const store = c.var.engine.store;
  let known = owners.get(store);
  if (!known) owners.set(store, (known = new Map()));
  let credentialId = known.get(workerId);
  if (credentialId === undefined) {
    const [w] = await store.db.select({ credentialId: workers.credentialId }).from(workers).where(eq(workers.id, workerId));
    credentialId = w?.credentialId;
    if (credentialId !== undefined) {
      if (known.size >= 4096) known.clear(); // bounded; refilled by the next calls
      known.set(workerId, credentialId);
    }
  }
  if (credentialId !== undefined && credentialId !== c.var.poolCredential.id)
    throw apiError(403, "worker_not_yours", `worker ${workerId} was registered with another credential`, { field: "workerId" });
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
    responses: {
      200: json(res, "OK"),
      400: err("Invalid body"),
      401: err("Bad or revoked pool token / worker credential"),
      403: err("The worker id belongs to another credential, or the model is not allowed"),
      409: err("Worker not registered (register again), or the worker id is taken"),
    },
  });

route(poolRoutes, poolCall("/register", RegisterRequestSchema, RegisterResponseSchema, "Register a worker and its models"), async (c) => {
  const req = parseOr400(RegisterRequestSchema, await readJson(c));
  const cred = c.var.poolCredential;
  if (!WORKER_ID_RE.test(req.workerId)) throw apiError(400, "invalid_request", "workerId: 1–256 printable ASCII characters, no spaces", { field: "workerId" });
  const banned = cred.models ? req.models.findIndex((m) => !cred.models!.includes(m.name)) : -1;
  if (banned >= 0)
    throw apiError(403, "model_not_allowed", `this credential may not serve model ${req.models[banned]!.name} (allowed: ${cred.models!.join(", ")})`, {
      field: `models.${banned}.name`,
    });
  const taken = () =>
    apiError(409, "worker_id_taken", `worker id ${req.workerId} belongs to another credential; pick another WORKER_ID`, { field: "workerId" });
  try {
    await ownWorker(c, req.workerId);
  } catch {
    throw taken();
  }
  const r = await registerWorker(c.var.engine, req, c.var.tenantId, cred.id);
  if (!r) throw taken(); // lost a race to another credential
  return c.json(r);
});

const leaseRoute = poolCall("/lease", LeaseRequestSchema, LeaseResponseSchema, "Long-poll for up to max jobs");
// the binary form (Accept: application/vnd.metalm.lease, workflows/src/lease-frame.ts), documented beside the JSON one
Object.assign(leaseRoute.responses[200].content, {
  [LEASE_FRAME_TYPE]: {
    schema: z
      .string()
      .meta({ format: "binary", description: "MLF1 · uint32 BE head length · JSON head { jobs, blobs: { sha256: [offset, length] } } · image bytes" }),
  },
});
route(poolRoutes, leaseRoute, async (c) => {
  const req = parseOr400(LeaseRequestSchema, await readJson(c));
  await ownWorker(c, req.workerId);
  const cred = c.var.poolCredential;
  const lease = await leaseJobs(c.var.engine, req.workerId, req.max, req.waitMs, c.req.raw.signal, { credentialId: cred.id, tenants: cred.tenants });
  if (!lease) throw notRegistered(req.workerId);
  const out = leaseBody(lease, c.req.header("accept"));
  return "json" in out ? c.json(out.json) : c.body(out.body as Uint8Array<ArrayBuffer>, 200, { "content-type": out.type });
});

route(poolRoutes, poolCall("/heartbeat", HeartbeatRequestSchema, HeartbeatResponseSchema, "Extend leases; learn cancels / lost leases"), async (c) => {
  const req = parseOr400(HeartbeatRequestSchema, await readJson(c));
  await ownWorker(c, req.workerId);
  const r = await heartbeat(c.var.engine, req.workerId, req.jobIds);
  if (!r) throw notRegistered(req.workerId);
  return c.json(r);
});

route(poolRoutes, poolCall("/progress", ProgressRequestSchema, ProgressResponseSchema, "Stream tokens (SSE token events)"), async (c) => {
  const req = parseOr400(ProgressRequestSchema, await readJson(c));
  await ownWorker(c, req.workerId);
  const r = await progress(c.var.engine, req.workerId, req.jobId, req.tokens);
  // not this worker's job (any more): tell it to stop
  return c.json(r ?? { cancel: true });
});

route(poolRoutes, poolCall("/results", ResultsRequestSchema, ResultsResponseSchema, "Post job results (duplicates / late ones ignored)"), async (c) => {
  const req = parseOr400(ResultsRequestSchema, await readJson(c));
  await ownWorker(c, req.workerId);
  // the receipt says who produced the output as the edge saw it, not as the worker claims
  const credentialId = c.var.poolCredential.id;
  const results = req.results.map((r) => (r.ok ? { ...r, receipt: Object.assign({}, r.receipt, { workerId: req.workerId, credentialId }) } : r));
  return c.json(await applyResults(c.var.engine, req.workerId, results));
});

const blobRoute = createRoute({
  method: "get",
  path: "/blobs/{sha256}",
  summary: "Stored input bytes (images) by content hash",
  security: [{ poolToken: [] }],
  request: { params: z.object({ sha256: z.string().openapi({ description: "lowercase hex sha256" }) }) },
  responses: {
    200: {
      description: "The bytes (X-Content-Type: their mime type)",
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
    },
    400: err("Not a sha256"),
    404: err("Unknown blob"),
  },
});

route(poolRoutes, blobRoute, async (c) => {
  const sha = c.req.valid("param").sha256;
  if (!Sha256Schema.safeParse(sha).success) throw apiError(400, "invalid_request", "expected a lowercase hex sha256", { field: "sha256" });
  const { tenants } = c.var.poolCredential;
  // a credential limited to tenants reads only images those tenants stored
  const [row] = tenants
    ? await c.var.engine.store.db
        .select({ data: blobs.data, mime: blobs.mime })
        .from(blobs)
        .innerJoin(tenantBlobs, and(eq(tenantBlobs.sha256, blobs.sha256), inArray(tenantBlobs.tenantId, tenants)))
        .where(eq(blobs.sha256, sha))
        .limit(1)
    : await queries(c.var.engine.store).blobBySha.all({ sha256: sha });
  if (!row) throw apiError(404, "blob_not_found", `no blob ${sha}`, { sha256: sha });
  return c.body(new Uint8Array(row.data), 200, {
    "Content-Type": "application/octet-stream",
    "X-Content-Type": row.mime,
    "Cache-Control": "public, max-age=31536000, immutable",
  });
});
