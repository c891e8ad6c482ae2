/**
 * Saved workflows: every save adds a version (`max + 1`, computed inside one INSERT … SELECT, so
 * concurrent saves cannot collide); list shows the latest version of each.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { createRoute, z } from "@hono/zod-openapi";
import { workflows, type WorkflowRow } from "../../db/schema.js";
import { validateWorkflow } from "../../workflows/index.js";
import { err, json, jsonBody, newRouter, route } from "../api/route.js";
import { SaveWorkflowBodyLoose, SaveWorkflowBodySchema, WorkflowVersionSchema } from "../api/schemas.js";
import { apiError, parseOr400, readJson } from "../lib/errors.js";
import { loadWorkflow } from "../lib/run-request.js";
import { checkSpecLimits } from "../limits/spec.js";

export const workflowsRoutes = newRouter();

const WorkflowIdParam = z.object({ id: z.string() });
const VersionParam = z.string().openapi({ description: "a positive integer", example: "2" });

const present = (w: WorkflowRow) => ({
  id: w.id,
  version: w.version,
  name: w.name,
  description: w.description,
  createdAt: w.createdAt,
  spec: w.spec,
});

const saveRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Save a workflow version (id defaults to the spec's name; each save is a new version)",
  request: { body: jsonBody(SaveWorkflowBodySchema) },
  responses: { 201: json(WorkflowVersionSchema, "The saved version"), 400: err("Invalid workflow") },
});

route(workflowsRoutes, saveRoute, async (c) => {
  const body = parseOr400(SaveWorkflowBodyLoose, await readJson(c));
  checkSpecLimits(body.spec, c.var.limits);
  // structure and graph now; models are checked when a run is created (workers come and go)
  const r = validateWorkflow(body.spec);
  if (!r.ok) throw apiError(400, "invalid_workflow", "invalid workflow (see details)", r.errors);
  const id = body.id ?? r.spec.name;
  if (!id) throw apiError(400, "invalid_request", "give 'id' or a spec 'name' to save a workflow under", { field: "id" });
  const tenantId = c.var.tenantId;
  const now = c.var.engine.now();
  const { db } = c.var.engine.store;
  const [row] = await db
    .insert(workflows)
    .select(
      db
        .select({
          tenantId: sql<string>`${tenantId}`.as("tenant_id"),
          id: sql<string>`${id}`.as("id"),
          version: sql<number>`coalesce(max(${workflows.version}), 0) + 1`.as("version"),
          name: sql<string | null>`${r.spec.name ?? null}`.as("name"),
          description: sql<string | null>`${r.spec.description ?? null}`.as("description"),
          spec: sql<string>`${JSON.stringify(r.spec)}`.as("spec"),
          createdAt: sql<number>`${now}`.as("created_at"),
        })
        .from(workflows)
        .where(and(eq(workflows.tenantId, tenantId), eq(workflows.id, id))),
    )
    .returning();
  if (!row) throw new Error("workflow insert returned nothing");
  c.header("Location", `/v1/workflows/${row.id}/versions/${row.version}`);
  return c.json(present(row), 201);
});

const listRoute = createRoute({
  method: "get",
  path: "/",
  summary: "List workflows (latest version of each)",
  responses: { 200: json(z.object({ workflows: z.array(WorkflowVersionSchema) }), "Workflows") },
});

route(workflowsRoutes, listRoute, async (c) => {
  const { db } = c.var.engine.store;
  const latest = db
    .select({ id: workflows.id, v: sql<number>`max(${workflows.version})`.as("v") })
    .from(workflows)
    .where(eq(workflows.tenantId, c.var.tenantId))
    .groupBy(workflows.id)
    .as("latest");
  const rows = await db
    .select({ w: workflows })
    .from(workflows)
    .innerJoin(latest, and(eq(workflows.id, latest.id), eq(workflows.version, latest.v)))
    .where(eq(workflows.tenantId, c.var.tenantId))
    .orderBy(workflows.id);
  return c.json({ workflows: rows.map((r) => present(r.w)) });
});

const versionOf = (raw: string | undefined) => {
  if (raw === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw apiError(400, "invalid_request", "version must be a positive integer", { field: "version" });
  return Number(raw);
};

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a workflow (latest, or ?version=N)",
  request: { params: WorkflowIdParam, query: z.object({ version: VersionParam.optional() }) },
  responses: { 200: json(WorkflowVersionSchema, "The version"), 400: err("Bad version"), 404: err("Unknown workflow / version") },
});

route(workflowsRoutes, getRoute, async (c) => c.json(present(await loadWorkflow(c, c.req.valid("param").id, versionOf(c.req.valid("query").version)))));

const versionsRoute = createRoute({
  method: "get",
  path: "/{id}/versions",
  summary: "Every version of a workflow, newest first",
  request: { params: WorkflowIdParam },
  responses: { 200: json(z.object({ versions: z.array(WorkflowVersionSchema) }), "The versions"), 404: err("Unknown workflow") },
});

route(workflowsRoutes, versionsRoute, async (c) => {
  const { db } = c.var.engine.store;
  const { id } = c.req.valid("param");
  const rows = await db
    .select()
    .from(workflows)
    .where(and(eq(workflows.tenantId, c.var.tenantId), eq(workflows.id, id)))
    .orderBy(desc(workflows.version));
  if (!rows.length) throw apiError(404, "workflow_not_found", `workflow ${id} not found`, { workflowId: id });
  return c.json({ versions: rows.map(present) });
});

const versionRoute = createRoute({
  method: "get",
  path: "/{id}/versions/{version}",
  summary: "Get one workflow version",
  request: { params: WorkflowIdParam.extend({ version: VersionParam }) },
  responses: { 200: json(WorkflowVersionSchema, "The version"), 400: err("Bad version"), 404: err("Unknown workflow / version") },
});

route(workflowsRoutes, versionRoute, async (c) => {
  const { id, version } = c.req.valid("param");
  return c.json(present(await loadWorkflow(c, id, versionOf(version))));
});
