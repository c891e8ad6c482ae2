/**
 * `POST /v1/runs/:id/rerun` `{ fromStep, overrides: { steps?, inputs? }, tags? }` — a new run of
 * the same (possibly overridden) spec. The chosen step, the overridden steps, the steps reading
 * overridden inputs, and everything downstream of them execute again; every other step is
 * copied from the earlier run as `cached` (when it succeeded there).
 */
import { asc, eq } from "drizzle-orm";
import { createRoute, z } from "@hono/zod-openapi";
import { runs, steps, type StepRow } from "../../db/schema.js";
import { NonRetryableError } from "../../workflows/index.js";
import { applyOverrides, rerunSet } from "../../workflows/index.js";
import { err, json, jsonBody, newRouter, route } from "../api/route.js";
import { RerunBodySchema, RunSchema } from "../api/schemas.js";
import { createRun } from "../engine/runs.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";
import { resolveSpecAndInputs } from "../lib/run-request.js";
import { answerRun, preferWait, RunIdParam } from "./runs.js";

export const rerunRoutes = newRouter();

const rerunRoute = createRoute({
  method: "post",
  path: "/{id}/rerun",
  summary: "Rerun from a step with overrides, reusing unchanged upstream outputs",
  request: {
    params: RunIdParam,
    headers: z.object({ prefer: z.string().optional().openapi({ description: "wait=N, as for POST /v1/runs" }) }),
    body: jsonBody(RerunBodySchema),
  },
  responses: { 202: json(RunSchema, "The new run"), 200: json(RunSchema, "The new run, finished"), 400: err("Bad step or override"), 404: err("Unknown run") },
});

route(rerunRoutes, rerunRoute, async (c) => {
  const { id } = c.req.valid("param");
  const waitS = preferWait(c);
  const body = parseOr400(RerunBodySchema, await readJson(c));
  const { db } = c.var.engine.store;
  const [parent] = await db.select().from(runs).where(eq(runs.id, id));
  if (!parent || parent.tenantId !== c.var.tenantId) throw apiError(404, "run_not_found", `run ${id} not found`, { runId: id });
  if (!parent.spec.steps.some((s) => s.id === body.fromStep))
    throw apiError(400, "invalid_request", `fromStep: run ${id} has no step '${body.fromStep}'`, { field: "fromStep", stepId: body.fromStep });
  let specJson: unknown;
  let changed: string[];
  try {
    ({ spec: specJson, changed } = applyOverrides(parent.spec, body.overrides.steps ?? {}));
  } catch (e) {
    if (e instanceof NonRetryableError) throw apiError(400, e.code === "unknown_step" ? "unknown_step" : "invalid_override", e.message, e.details ?? null);
    throw e;
  }
  const inputOverrides = body.overrides.inputs ?? {};
  const rawInputs: Record<string, unknown> = { ...parent.inputs, ...inputOverrides };
  const r = await resolveSpecAndInputs(c, specJson, rawInputs, new Map(), {
    workflowId: parent.workflowId,
    workflowVersion: changed.length ? null : parent.workflowVersion,
  });
  const changedInputs = Object.keys(inputOverrides).filter((k) => JSON.stringify(r.inputs[k]) !== JSON.stringify(parent.inputs[k]));
  const again = new Set(rerunSet(r.spec, [body.fromStep, ...changed], changedInputs));
  const parentSteps = await db.select().from(steps).where(eq(steps.runId, id)).orderBy(asc(steps.idx));
  const copyFrom = new Map<string, StepRow>();
  for (const s of parentSteps) {
    if (!again.has(s.stepId) && (s.status === "succeeded" || s.status === "cached") && s.output) copyFrom.set(s.stepId, s);
  }
  const { run } = await createRun(c.var.engine, {
    tenantId: c.var.tenantId,
    spec: r.spec,
    inputs: r.inputs,
    catalog: r.catalog,
    tags: body.tags ?? parent.tags,
    workflowId: r.workflowId,
    workflowVersion: r.workflowVersion,
    blobs: r.blobs,
    parentRunId: parent.id,
    rerunFrom: body.fromStep,
    copyFrom,
    noCache: again,
  });
  return answerRun(c, run, { created: true, waitS });
});
