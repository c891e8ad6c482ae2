/**
 * The pool's workers: registration (adverts), liveness (seen within 3 × leaseMs), and the
 * models live workers advertise — what validation, /v1/models and /readyz read.
 */
import { eq } from "drizzle-orm";
import { queries } from "../../db/queries.js";
import { workers, type WorkerRow } from "../../db/schema.js";
import type { ModelAdvert, RegisterRequest } from "../../workflows/index.js";
import type { EngineCtx } from "./context.js";

/**
 * Register (or refresh) a worker under `credentialId`. A worker id already registered by another
 * credential is not touched: undefined (the route answers 409 worker_id_taken).
 */
export async function registerWorker(ctx: EngineCtx, req: RegisterRequest, tenantId: string, credentialId = "pool"): Promise<{ leaseMs: number } | undefined> {
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
    ctx.store.db
      .insert(workers)
      .values(row)
      .onConflictDoUpdate({ target: workers.id, set: update, setWhere: eq(workers.credentialId, credentialId) }),
  ]);
  const [w] = await ctx.store.db.select({ credentialId: workers.credentialId }).from(workers).where(eq(workers.id, req.workerId));
  if (w?.credentialId !== credentialId) return undefined;
  ctx.pool?.touched.set(req.workerId, { at: now, models: modelNames(req.models) });
  return { leaseMs: ctx.leaseMs };
}

/** Workers seen within 3 × their leaseMs. */
export async function liveWorkers(ctx: EngineCtx): Promise<WorkerRow[]> {
  const now = ctx.now();
  return queries(ctx.store).workersSeenSince.all({ since: now - 3 * ctx.leaseMs });
}

export async function liveAdverts(ctx: EngineCtx): Promise<ModelAdvert[]> {
  return (await liveWorkers(ctx)).flatMap((w) => w.models);
}

const modelNames = (models: readonly ModelAdvert[]) => [...new Set(models.map((m) => m.name))].slice(0, 64);

/**
 * Mark a worker seen and return the models it serves; `undefined` = not registered. A worker
 * this process touched within the last leaseMs / 4 is not written again: liveness is judged over
 * 3 × leaseMs, so the skipped writes change no answer, and every lease poll and result post
 * stops paying for one more write transaction. Rows are never deleted, so a cached "registered"
 * stays true.
 */
export async function touchWorker(ctx: EngineCtx, workerId: string): Promise<{ models: string[] } | undefined> {
  const now = ctx.now();
  const seen = ctx.pool?.touched.get(workerId);
  if (seen && now - seen.at < ctx.leaseMs / 4) return seen;
  const [w] = await queries(ctx.store).touchWorker.all({ id: workerId, now });
  if (!w) return undefined;
  const entry = { at: now, models: modelNames(w.models) };
  if (ctx.pool) {
    if (ctx.pool.touched.size >= 4096) ctx.pool.touched.clear(); // bounded; refilled on the next touches
    ctx.pool.touched.set(workerId, entry);
  }
  return entry;
}
