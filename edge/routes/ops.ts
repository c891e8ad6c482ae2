/**
 * Operations and introspection: /healthz, /readyz, /metrics, GET /v1/models, POST /v1/plan.
 */
import { Hono } from "hono";
import type { ModelCatalog } from "../../workflows/index.js";
import type { Env } from "../context.js";
import { advance } from "../engine/advance.js";
import { RunDraft } from "../engine/draft.js";
import { liveWorkers } from "../engine/workers.js";
import { newRunRow, pendingStepRows } from "../engine/runs.js";
import { readCreateRequest, resolveRunRequest } from "../lib/run-request.js";

export const opsRoutes = new Hono<Env>();

opsRoutes.get("/healthz", (c) => c.json({ ok: true }));

opsRoutes.get("/readyz", async (c) => {
  const dbOk = await c.var.engine.store.ping();
  const workers = dbOk ? await liveWorkers(c.var.engine) : [];
  const withModel = workers.filter((w) => w.models.length > 0);
  // writes failing (full disk) or about to (under the reserve): not ready, though reads still work
  const disk = c.var.storage.state();
  const ready = dbOk && withModel.length > 0 && disk.ok;
  return c.json(
    { ready, db: dbOk, workers: withModel.length, models: [...new Set(withModel.flatMap((w) => w.models.map((m) => m.name)))], storage: disk.storage, ...(disk.code ? { storageError: disk.code } : {}) },
    ready ? 200 : 503,
  );
});

opsRoutes.get("/metrics", async (c) => {
  const reg = c.var.metrics.registry;
  return c.text(await reg.metrics(), 200, { "Content-Type": reg.contentType });
});

export const modelsRoutes = new Hono<Env>();

modelsRoutes.get("/", async (c) => {
  const byName = new Map<string, { advert: unknown; workers: string[] }>();
  for (const w of await liveWorkers(c.var.engine)) {
    for (const m of w.models) {
      const e = byName.get(m.name) ?? { advert: m, workers: [] };
      e.workers.push(w.id);
      byName.set(m.name, e);
    }
  }
  return c.json({
    models: [...byName.values()].map((e) => ({ ...(e.advert as object), workers: e.workers })),
  });
});

export const planRoutes = new Hono<Env>();

/**
 * Dry run: the same validation, planning and memo lookups as creating a run, without storing
 * anything (not even the images).
 */
planRoutes.post("/", async (c) => {
  const raw = await readCreateRequest(c);
  const r = await resolveRunRequest(c, raw);
  const ctx = c.var.engine;
  const now = ctx.now();
  const infos = ctx.planner.steps(r.spec, r.inputs, r.catalog as ModelCatalog);
  const stepRows = pendingStepRows("plan", c.var.tenantId, infos);

  const draft = new RunDraft(
    newRunRow({ id: "plan", tenantId: c.var.tenantId, workflowId: r.workflowId, workflowVersion: r.workflowVersion, spec: r.spec, inputs: r.inputs, catalog: r.catalog, deadlineAt: null }, now),
    stepRows,
    now,
  );
  await advance(ctx, draft); // only reads (memo lookups); nothing is committed
  const workers = await liveWorkers(ctx);
  return c.json({
    valid: true,
    steps: draft.steps.map((s) => ({
      id: s.stepId,
      op: s.op,
      model: s.model,
      status: s.status,
      valueDeps: s.valueDeps,
      tensorDeps: s.tensorDeps,
      cacheKey: s.cacheKey,
      cachedFrom: s.cachedFrom,
      workers: workers.filter((w) => w.models.some((m) => m.name === s.model)).map((w) => w.id),
    })),
  });
});
