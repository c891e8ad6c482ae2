/**
 * `GET /v1/runs/:id/events` — Server-Sent Events from the append-only `run_events` table.
 * `id:` is the event's row id (monotonic), so `Last-Event-ID` (header, or `?lastEventId=`)
 * resumes exactly after the last event seen. The stream ends after `run.completed`.
 */
import { and, asc, eq, gt } from "drizzle-orm";
import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { runEvents, runs } from "../../db/schema.js";
import { err, newRouter, route } from "../api/route.js";
import { isRunTerminal, RUN_EVENT_TYPES, RunEventSchema } from "../../workflows/index.js";
import { runTopic } from "../engine/notifier.js";
import { apiError } from "../lib/errors.js";
import { RunIdParam } from "./runs.js";

export const eventsRoutes = newRouter();

const PAGE = 500;
const KEEPALIVE_MS = 15_000;

const eventsRoute = createRoute({
  method: "get",
  path: "/{id}/events",
  summary: "Server-Sent Events of a run (Last-Event-ID resume); ends after run.completed",
  request: {
    params: RunIdParam,
    headers: z.object({ "last-event-id": z.string().optional() }),
    query: z.object({ lastEventId: z.string().optional().openapi({ description: "like Last-Event-ID, for EventSource" }) }),
  },
  responses: {
    200: {
      description: `text/event-stream; each event's data is a RunEvent (${RUN_EVENT_TYPES.join(", ")})`,
      content: { "text/event-stream": { schema: RunEventSchema } },
    },
    400: err("Bad Last-Event-ID"),
    404: err("Unknown run"),
  },
});

route(eventsRoutes, eventsRoute, async (c) => {
  const { id } = c.req.valid("param");
  const { store, notifier } = c.var.engine;
  const [run] = await store.db
    .select({ id: runs.id })
    .from(runs)
    .where(and(eq(runs.id, id), eq(runs.tenantId, c.var.tenantId)));
  if (!run) throw apiError(404, "run_not_found", `run ${id} not found`, { runId: id });
  const lastRaw = c.req.header("last-event-id") ?? c.req.query("lastEventId") ?? "0";
  if (!/^\d{1,15}$/.test(lastRaw.trim())) throw apiError(400, "invalid_request", "Last-Event-ID must be an event id", { field: "Last-Event-ID" });
  let last = Number(lastRaw.trim());
  const signal = c.req.raw.signal;
  return streamSSE(c, async (stream) => {
    let aborted = false;
    stream.onAbort(() => {
      aborted = true;
    });
    let idleSince = Date.now();
    while (!aborted && !signal.aborted) {
      const rows = await store.db
        .select()
        .from(runEvents)
        .where(and(eq(runEvents.runId, id), gt(runEvents.id, last)))
        .orderBy(asc(runEvents.id))
        .limit(PAGE);
      let done = false;
      for (const e of rows) {
        await stream.writeSSE({
          id: String(e.id),
          event: e.type,
          data: JSON.stringify({ type: e.type, runId: e.runId, stepId: e.stepId, at: e.createdAt, ...e.data }),
        });
        last = e.id;
        if (e.type === "run.completed") done = true;
      }
      if (rows.length === PAGE) continue;
      if (done) break;
      if (rows.length) idleSince = Date.now();
      // a run finished before we subscribed (events already read) also ends the stream
      const [st] = await store.db.select({ status: runs.status }).from(runs).where(eq(runs.id, id));
      if (st && isRunTerminal(st.status) && rows.length === 0) {
        const more = await store.db
          .select({ id: runEvents.id })
          .from(runEvents)
          .where(and(eq(runEvents.runId, id), gt(runEvents.id, last)))
          .limit(1);
        if (!more.length) break;
        continue;
      }
      if (Date.now() - idleSince > KEEPALIVE_MS) {
        await stream.write(": keep-alive\n\n");
        idleSince = Date.now();
      }
      await notifier.wait(runTopic(id), notifier.recheckMs ?? 1000, signal);
    }
  });
});
