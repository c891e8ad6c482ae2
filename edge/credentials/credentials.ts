/**
 * Worker credentials: who may speak the pool protocol, and for whom (docs/CONTRACTS.md §4.1, §9).
 *
 * The trust model. A worker sees every job it leases in full (spec text after templating, image
 * bytes through `/v1/pool/blobs`) and reports outputs the edge stores as the step's result: it can
 * read and forge anything in the jobs it is given. So the edge limits *what it is given*:
 *
 * - `POOL_TOKEN` (the local default: `npm start` hands it to its own workers) is the credential
 *   `pool`: any tenant, any model. Everyone holding it is one principal.
 * - `POST /v1/admin/worker-credentials { name?, tenants?, models? }` (admin key) makes a credential
 *   `mlw_…` (shown once; only its sha256 is stored), optionally limited to tenants and models:
 *   its workers lease only those tenants' jobs, register only those models, fetch only those
 *   tenants' images. `DELETE /v1/admin/worker-credentials/:id` revokes it: every call 401.
 * - A `workerId` belongs to the credential that registered it first: another credential gets
 *   `409 worker_id_taken` at register and `403 worker_not_yours` on lease/heartbeat/progress/
 *   results — no takeover of another worker's id, its leases or its results. Results are
 *   accepted only from the worker holding the job's lease (edge/engine/results.ts).
 * - Receipts record the credential id and the worker id the edge saw, not what the worker claims.
 *
 * @example
 * const { token, row } = await createWorkerCredential(store, { name: "gpu-a", tenants: ["acme"] });
 * (await findWorkerCredential(store, token))?.id; // row.id
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Store } from "../../db/driver.js";
import { workerCredentials, type WorkerCredentialRow } from "../../db/schema.js";
import { sha256Hex } from "../../workflows/index.js";
import { newId } from "../auth/keys.js";

export const CREDENTIAL_PREFIX = "mlw_";
/** The credential id of the shared `POOL_TOKEN`. */
export const POOL_CREDENTIAL = "pool";

/** What a pool request may do (`c.var.poolCredential`). null = unlimited. */
export interface PoolCredential {
  id: string;
  tenants: string[] | null;
  models: string[] | null;
}

export const UNLIMITED_POOL: PoolCredential = { id: POOL_CREDENTIAL, tenants: null, models: null };

export function presentCredential(r: WorkerCredentialRow) {
  return { id: r.id, name: r.name, prefix: r.prefix, tenants: r.tenants ?? null, models: r.models ?? null, createdAt: r.createdAt, revokedAt: r.revokedAt };
}

export async function createWorkerCredential(
  store: Store,
  opts: { name?: string | null; tenants?: string[] | null; models?: string[] | null; now?: number },
): Promise<{ token: string; row: WorkerCredentialRow }> {
  const token = CREDENTIAL_PREFIX + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const row: WorkerCredentialRow = {
    id: newId("wc", 8),
    name: opts.name ?? null,
    prefix: token.slice(0, 12),
    hash: sha256Hex(token),
    tenants: opts.tenants ?? null,
    models: opts.models ?? null,
    createdAt: opts.now ?? Date.now(),
    revokedAt: null,
  };
  await store.batch([store.db.insert(workerCredentials).values(row)]);
  return { token, row };
}

/** The live credential for a presented `mlw_…` token, or undefined (unknown or revoked). */
export async function findWorkerCredential(store: Store, token: string): Promise<PoolCredential | undefined> {
  if (!token.startsWith(CREDENTIAL_PREFIX) || token.length > 200) return undefined;
  const [row] = await store.db
    .select()
    .from(workerCredentials)
    .where(and(eq(workerCredentials.hash, sha256Hex(token)), isNull(workerCredentials.revokedAt)));
  return row ? { id: row.id, tenants: row.tenants ?? null, models: row.models ?? null } : undefined;
}

export async function listWorkerCredentials(store: Store): Promise<WorkerCredentialRow[]> {
  return store.db.select().from(workerCredentials).limit(1000);
}

/** Revoke (idempotent). Undefined when there is no such credential. */
export async function revokeWorkerCredential(store: Store, id: string, now: number): Promise<WorkerCredentialRow | undefined> {
  await store.batch([
    store.db
      .update(workerCredentials)
      .set({ revokedAt: now })
      .where(and(eq(workerCredentials.id, id), isNull(workerCredentials.revokedAt))),
  ]);
  const [row] = await store.db.select().from(workerCredentials).where(eq(workerCredentials.id, id));
  return row;
}
