/**
 * The pool's workers: registration (adverts), liveness (seen within 3 × leaseMs), and the
 * models live workers advertise — what validation, /v1/models and /readyz read.
 */
import { eq } from "drizzle-orm";
import { queries } from "../../db/queries.js";
import { workers, type WorkerRow } from "../../db/schema.js";
import type { ModelAdvert, RegisterRequest } from "../../workflows/index.js";
import type { PoolCtx } from "./pool.js";

/**
 * Register (or refresh) a worker under `credentialId`. A worker id already registered by another
 * credential is not touched: undefined (the route answers 409 worker_id_taken).
 */
export async function registerWorker(ctx: PoolCtx, req: RegisterRequest, tenantId: string, credentialId = "pool"): Promise<{ leaseMs: number } | undefined> {
  const now = ctx.now();
  const row = {
    id: req.workerId,
    tenantId,
    credentialId,
    executionProvider: req.executionProvider,
    ortVersion: req.ortVersion,
    models: req.models,
    leaseMs: ctx.leaseMs,
    registeredAt: now,
    lastSeenAt: now,
  };
  const { id: _id, registeredAt: _r, credentialId: _c, ...update } = row;
  await ctx.store.batch([
    ctx.store.db.insert(workers).values(row).onConflictDoUpdate({ target: workers.id, set: update, setWhere: eq(workers.credentialId, credentialId) }),
  ]);
  const [w] = await ctx.store.db.select({ credentialId: workers.credentialId }).from(workers).where(eq(workers.id, req.workerId));
  return w?.credentialId === credentialId ? { leaseMs: ctx.leaseMs } : undefined;
}

/** Workers seen within 3 × their leaseMs. */
export async function liveWorkers(ctx: PoolCtx): Promise<WorkerRow[]> {
  const now = ctx.now();
  return queries(ctx.store).workersSeenSince.all({ since: now - 3 * ctx.leaseMs });
}

export async function liveAdverts(ctx: PoolCtx): Promise<ModelAdvert[]> {
  return (await liveWorkers(ctx)).flatMap((w) => w.models);
}

export async function touchWorker(ctx: PoolCtx, workerId: string): Promise<WorkerRow | undefined> {
  const [w] = await ctx.store.db
    .update(workers)
    .set({ lastSeenAt: ctx.now() })
    .where(eq(workers.id, workerId))
    .returning();
  return w;
}
