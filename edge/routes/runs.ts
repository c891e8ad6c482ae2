/**
 * Runs: create (JSON or multipart; Idempotency-Key; Prefer: wait=N), get, list, cancel.
 */
import { and, desc, eq, gte, lt, or, sql, type SQL } from "drizzle-orm";
import { createRoute, z } from "@hono/zod-openapi";
import { queries } from "../../db/queries.js";
import { runs, type RunRow, type StepRow } from "../../db/schema.js";
import { isRunTerminal, RUN_STATUSES, traceNow, traceRun, tracing, type RunStatus } from "../../workflows/index.js";
import { err, json, newRouter, route } from "../api/route.js";
import { createRunBody, ListRunsQuerySchema, ListRunsResponseSchema, RunSchema } from "../api/schemas.js";
import type { Ctx } from "../context.js";
import { cancelRun, createRun, waitForRun } from "../engine/runs.js";
import { decodeCursor, encodeCursor } from "../lib/cursor.js";
import { apiError } from "../lib/errors.js";
import { presentRun, presentRunSummary } from "../lib/present.js";
import { readCreateRequest, resolveRunRequest } from "../lib/run-request.js";

export const runsRoutes = newRouter();

export const RunIdParam = z.object({ id: z.string().openapi({ example: "run_01hx3…" }) });

/** `Prefer: wait=N` (RFC 7240) → seconds, clamped; undefined when absent. */
export function preferWait(c: Ctx): number | undefined {
  const h = c.req.header("prefer");
  if (!h) return undefined;
  const m = /(?:^|[,;\s])wait\s*=\s*"?(\d+(?:\.\d+)?)"?/i.exec(h);
  if (!m) return undefined;
  return Math.min(Number(m[1]), c.var.limits.maxWaitS);
}

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;

export async function loadRunView(c: Ctx, id: string) {
  const q = queries(c.var.engine.store);
  const [run] = await q.runById.all({ id });
  if (!run || run.tenantId !== c.var.tenantId) throw apiError(404, "run_not_found", `run ${id} not found`, { runId: id });
  const rows = await q.stepsByRun.all({ runId: id });
  return presentRun(run, rows);
}

/** 200 with the run when it is finished (or was waited for), else 202 + Location. */
export async function answerRun(c: Ctx, run: RunRow, opts: { created: boolean; waitS?: number; steps?: StepRow[] }) {
  const row = run;
  let waited = false;
  if (opts.waitS !== undefined && opts.waitS > 0 && !isRunTerminal(row.status)) {
    await waitForRun(c.var.engine, run.id, opts.waitS * 1000, c.req.raw.signal);
    if (tracing) traceRun(run.id, "edge.waitWoke");
    c.header("Preference-Applied", `wait=${opts.waitS}`);
    waited = true;
  }
  // a run just created is answered from what was committed (no re-read)
  const view = opts.steps && !waited ? presentRun(row, opts.steps) : await loadRunView(c, row.id);
  c.header("Location", `/v1/runs/${row.id}`);
  if (!opts.created) c.header("Idempotent-Replayed", "true");
  if (tracing) traceRun(row.id, "edge.answer");
  return c.json(view, isRunTerminal(view.status) ? 200 : 202);
}

const createRunRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Create a run (inline spec or saved workflow)",
  request: {
    headers: z.object({
      "idempotency-key": z.string().optional().openapi({ description: "Same key → the same run (per tenant)" }),
      prefer: z.string().optional().openapi({ description: "wait=N: answer with the finished run if it finishes within N s" }),
    }),
    body: createRunBody,
  },
  responses: {
    200: json(RunSchema, "The run, finished (also an idempotent replay)"),
    202: json(RunSchema, "Accepted; poll Location"),
    400: err("Invalid request or workflow (details: per-step error map)"),
    404: err("Saved workflow not found"),
    409: err("Idempotency-Key reused with a different request"),
    413: err("Body or image too large"),
  },
});

route(runsRoutes, createRunRoute, async (c) => {
  const t0 = tracing ? traceNow() : 0;
  const key = c.req.header("idempotency-key");
  if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key))
    throw apiError(400, "invalid_request", "Idempotency-Key must be 1–255 visible ASCII characters", { field: "Idempotency-Key" });
  const waitS = preferWait(c);
  const raw = await readCreateRequest(c);
  const r = await resolveRunRequest(c, raw);
  const { engine, tenantId } = c.var;
  const { run, created, steps } = await createRun(engine, {
    tenantId,
    spec: r.spec,
    inputs: r.inputs,
    catalog: r.catalog,
    tags: raw.body.tags,
    idempotencyKey: key ?? null,
    workflowId: r.workflowId,
    workflowVersion: r.workflowVersion,
    blobs: r.blobs,
  });
  if (!created && !sameRequest(run, r.spec, r.inputs, raw.body.tags))
    throw apiError(409, "idempotency_key_reused", "this Idempotency-Key was used for a different request (spec, inputs or tags)", {
      field: "Idempotency-Key",
      runId: run.id,
    });
  if (tracing) {
    traceRun(run.id, "edge.post", t0);
    traceRun(run.id, "edge.created");
  }
  return answerRun(c, run, { created, waitS, steps });
});

/** Whether a replayed Idempotency-Key carries the request the stored run was created from. */
function sameRequest(run: RunRow, spec: unknown, inputs: unknown, tags: string[]): boolean {
  return (
    JSON.stringify(run.spec) === JSON.stringify(spec) &&
    JSON.stringify(run.inputs) === JSON.stringify(inputs) &&
    JSON.stringify(run.tags) === JSON.stringify(tags)
  );
}

const listRunsRoute = createRoute({
  method: "get",
  path: "/",
  summary: "List runs (filters, cursor pagination, counts per status)",
  request: { query: ListRunsQuerySchema },
  responses: { 200: json(ListRunsResponseSchema, "A page of runs"), 400: err("Bad filter, cursor or limit") },
});

route(runsRoutes, listRunsRoute, async (c) => {
  const q = c.req.valid("query");
  const { db } = c.var.engine.store;
  const base: (SQL | undefined)[] = [
    eq(runs.tenantId, c.var.tenantId),
    q.workflow ? eq(runs.workflowId, q.workflow) : undefined,
    q.tag ? sql`EXISTS (SELECT 1 FROM json_each(${runs.tags}) WHERE json_each.value = ${q.tag})` : undefined,
    q.createdAfter !== undefined ? gte(runs.createdAt, q.createdAfter) : undefined,
    q.createdBefore !== undefined ? lt(runs.createdAt, q.createdBefore) : undefined,
  ];
  const page: (SQL | undefined)[] = [...base, q.status ? eq(runs.status, q.status) : undefined];
  if (q.cursor) {
    const cur = decodeCursor(q.cursor);
    page.push(or(lt(runs.createdAt, cur.createdAt), and(eq(runs.createdAt, cur.createdAt), lt(runs.id, cur.id))));
  }
  const rows = await db
    .select()
    .from(runs)
    .where(and(...page))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(q.limit + 1);
  const more = rows.length > q.limit;
  const list = more ? rows.slice(0, q.limit) : rows;
  const last = list[list.length - 1];
  const countRows = await db
    .select({ status: runs.status, n: sql<number>`count(*)` })
    .from(runs)
    .where(and(...base))
    .groupBy(runs.status);
  const counts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
  for (const r of countRows) counts[r.status] = Number(r.n);
  return c.json({
    runs: list.map(presentRunSummary),
    nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null,
    counts,
  });
});

/**
 * Serialized run views by run id, valid for one `rev` (`c.var.caches.runViews`, bounded in bytes;
 * large views are not cached). Every engine commit that changes what a view shows bumps
 * `runs.rev` in the same batch, so (id, rev) determines the view: a hit costs one indexed read of
 * `rev`, and the DB stays the truth (another instance's commit changes the rev).
 */
const getRunRoute = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a run with its steps",
  request: { params: RunIdParam, headers: z.object({ "if-none-match": z.string().optional() }) },
  responses: {
    200: json(RunSchema, "The run (ETag: changes with every engine commit)"),
    304: { description: "Unchanged since If-None-Match" },
    404: err("Unknown run"),
  },
});

route(runsRoutes, getRunRoute, async (c) => {
  const { id } = c.req.valid("param");
  const store = c.var.engine.store;
  const cache = c.var.caches.runViews;
  const [head] = await queries(store).runRevById.all({ id });
  if (!head || head.tenantId !== c.var.tenantId) throw apiError(404, "run_not_found", `run ${id} not found`, { runId: id });
  const etag = `"${id}.${head.rev}"`;
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, { ETag: etag });
  let hit = cache.get(id);
  if (!hit || hit.rev !== head.rev) {
    const view = await loadRunView(c, id);
    // the view may be newer than `head` if a commit landed in between: key it by what it shows
    const [now] = await queries(store).runRevById.all({ id });
    hit = { rev: now?.rev === head.rev ? head.rev : -1, json: JSON.stringify(view) };
    if (hit.rev >= 0) cache.set(id, hit);
  }
  return c.body(hit.json, 200, { "Content-Type": "application/json", ETag: etag });
});

const cancelRunRoute = createRoute({
  method: "post",
  path: "/{id}/cancel",
  summary: "Cancel a run (workers see it at their next heartbeat)",
  request: { params: RunIdParam },
  responses: { 200: json(RunSchema, "The run after cancel"), 404: err("Unknown run") },
});

route(runsRoutes, cancelRunRoute, async (c) => {
  const { id } = c.req.valid("param");
  await loadRunView(c, id); // 404 for unknown / other tenant's
  await cancelRun(c.var.engine, id);
  return c.json(await loadRunView(c, id));
});
