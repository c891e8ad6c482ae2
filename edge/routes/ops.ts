/**
 * Operations and introspection: /healthz, /readyz, /metrics, GET /v1/models, POST /v1/plan.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { ModelAdvertSchema, ProviderFallbackSchema, type ModelCatalog } from "../../workflows/index.js";
import { err, json, newRouter, route } from "../api/route.js";
import { createRunBody, PlanResponseSchema } from "../api/schemas.js";
import { advance } from "../engine/advance.js";
import { RunDraft } from "../engine/draft.js";
import { liveWorkers } from "../engine/workers.js";
import { newRunRow, pendingStepRows } from "../engine/runs.js";
import { readCreateRequest, resolveRunRequest } from "../lib/run-request.js";

export const opsRoutes = newRouter();

const healthzRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness (no credential)",
  responses: { 200: json(z.object({ ok: z.literal(true) }), "Alive") },
});

route(opsRoutes, healthzRoute, (c) => c.json({ ok: true }));

const Readiness = z.object({ ready: z.boolean(), db: z.boolean(), workers: z.number().int(), models: z.array(z.string()) }).meta({ id: "Readiness" });
const readyzRoute = createRoute({
  method: "get",
  path: "/readyz",
  summary: "Ready = DB reachable and ≥ 1 live worker with a model (no credential)",
  responses: { 200: json(Readiness, "Ready"), 503: json(Readiness, "Not ready") },
});

route(opsRoutes, readyzRoute, async (c) => {
  const dbOk = await c.var.engine.store.ping();
  const workers = dbOk ? await liveWorkers(c.var.engine) : [];
  const withModel = workers.filter((w) => w.models.length > 0);
  // writes failing (full disk) or about to (under the reserve): not ready, though reads still work
  const disk = c.var.storage.state();
  const ready = dbOk && withModel.length > 0 && disk.ok;
  return c.json(
    {
      ready,
      db: dbOk,
      workers: withModel.length,
      models: [...new Set(withModel.flatMap((w) => w.models.map((m) => m.name)))],
      storage: disk.storage,
      ...(disk.code ? { storageError: disk.code } : {}),
    },
    ready ? 200 : 503,
  );
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics (text exposition format)",
  responses: { 200: { description: "Metrics", content: { "text/plain": { schema: z.string() } } } },
});

route(opsRoutes, metricsRoute, async (c) => {
  const reg = c.var.metrics.registry;
  return c.text(await reg.metrics(), 200, { "Content-Type": reg.contentType });
});

export const modelsRoutes = newRouter();

/** Where one model runs on one live worker: the provider its sessions actually use, and any fallback. */
const ModelPlacementSchema = z
  .object({
    workerId: z.string(),
    executionProvider: z.string(),
    requestedProviders: z.array(z.string()),
    providerFallbacks: z.array(ProviderFallbackSchema),
  })
  .meta({ id: "ModelPlacement" });
const LiveModelSchema = ModelAdvertSchema.omit({ executionProvider: true, requestedProviders: true, providerFallbacks: true })
  .extend({
    workers: z.array(z.string()),
    /** One entry per live worker serving the model (same order as `workers`). */
    placements: z.array(ModelPlacementSchema),
  })
  .meta({ id: "LiveModel" });

const modelsRoute = createRoute({
  method: "get",
  path: "/",
  summary: "Models live workers advertise, with the execution provider each worker runs them on",
  responses: { 200: json(z.object({ models: z.array(LiveModelSchema) }), "Models") },
});

route(modelsRoutes, modelsRoute, async (c) => {
  const byName = new Map<string, z.infer<typeof LiveModelSchema>>();
  for (const w of await liveWorkers(c.var.engine)) {
    for (const m of w.models) {
      const { executionProvider, requestedProviders, providerFallbacks, ...advert } = m;
      const e = byName.get(m.name) ?? { ...advert, workers: [], placements: [] };
      e.workers.push(w.id);
      // a worker from before the per-model fields: its worker-wide provider, no fallback known
      e.placements.push({
        workerId: w.id,
        executionProvider: executionProvider ?? w.executionProvider,
        requestedProviders: requestedProviders ?? [],
        providerFallbacks: providerFallbacks ?? [],
      });
      byName.set(m.name, e);
    }
  }
  return c.json({ models: [...byName.values()] });
});

export const planRoutes = newRouter();

const planRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Dry run: resolved graph, cache hits, workers per step (stores nothing)",
  request: { body: createRunBody },
  responses: { 200: json(PlanResponseSchema, "The plan"), 400: err("Invalid request or workflow") },
});

/**
 * Dry run: the same validation, planning and memo lookups as creating a run, without storing
 * anything (not even the images).
 */
route(planRoutes, planRoute, async (c) => {
  const raw = await readCreateRequest(c);
  const r = await resolveRunRequest(c, raw);
  const ctx = c.var.engine;
  const now = ctx.now();
  const infos = ctx.planner.steps(r.spec, r.inputs, r.catalog as ModelCatalog);
  const stepRows = pendingStepRows("plan", c.var.tenantId, infos);

  const draft = new RunDraft(
    newRunRow(
      {
        id: "plan",
        tenantId: c.var.tenantId,
        workflowId: r.workflowId,
        workflowVersion: r.workflowVersion,
        spec: r.spec,
        inputs: r.inputs,
        catalog: r.catalog,
        deadlineAt: null,
      },
      now,
    ),
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
