/**
 * The webhook outbox. A run commit's events become webhook messages IN THE SAME BATCH as the
 * state change (`outboxHook`, plugged into the engine's commit hooks by edge/app.ts), so an event is sent if and only if its state
 * change committed — an edge that dies right after a commit loses nothing, the dispatcher picks the
 * rows up later. Two INSERT … SELECT statements per event, no read before the commit: the message
 * (only if the tenant has an enabled endpoint subscribed to the type) and one delivery per such
 * endpoint. Bound parameters stay far below D1's 100. For a tenant without endpoints a guard
 * replaces them (`quiet` below).
 *
 * Which run event sends which webhook is `webhookTypeOf` (workflows/src/events.ts). The payload
 * is `{ type, timestamp, data: <the run object, as GET /v1/runs/:id shows it at that commit> }`,
 * plus `stepId` for `step.completed`.
 */
import { and, eq } from "drizzle-orm";
import { errorMentions, rawStmt, type Stmt, type Store } from "../../db/driver.js";
import { webhookEndpoints } from "../../db/schema.js";
import { webhookTypeOf, type WebhookEventType } from "../../workflows/index.js";
import type { CommitHook, CommitView } from "../engine/context.js";
import { presentRun } from "../lib/present.js";

export function newMessageId(): string {
  return `msg_${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex")}`;
}

// Fixed SQL text (bound per event): compiled once by better-sqlite3, bound by D1. The WHERE is
// "the tenant has an enabled endpoint subscribed to this type", evaluated inside the commit.
const SUBSCRIBED = `"tenant_id" = ? AND "enabled" = 1 AND EXISTS (SELECT 1 FROM json_each("webhook_endpoints"."events") WHERE json_each.value = ?)`;
const INSERT_MESSAGE = `INSERT INTO "webhook_messages" ("id", "tenant_id", "run_id", "type", "payload", "created_at")
  SELECT ?, ?, ?, ?, ?, ? FROM "webhook_endpoints" WHERE ${SUBSCRIBED} LIMIT 1`;
const INSERT_DELIVERIES = `INSERT INTO "webhook_deliveries" ("id", "message_id", "endpoint_id", "tenant_id", "run_id", "status", "attempts", "next_attempt_at", "created_at", "updated_at")
  SELECT ? || '.' || "id", ?, "id", "tenant_id", ?, 'pending', 0, ?, ?, ? FROM "webhook_endpoints" WHERE ${SUBSCRIBED}`;

/** Outbox statements for one event (message + deliveries), to append to the state change's batch. */
export function enqueueWebhook(run: { id: string; tenantId: string }, type: WebhookEventType, payload: string, now: number, id = newMessageId()): Stmt[] {
  return [
    rawStmt(INSERT_MESSAGE, [id, run.tenantId, run.id, type, payload, now, run.tenantId, type]),
    rawStmt(INSERT_DELIVERIES, [id, id, run.id, now, now, now, run.tenantId, type]),
  ];
}

/**
 * Tenants seen (by a read at most `QUIET_MS` ago) without an enabled endpoint, per store. For
 * them a commit skips building payloads — the run view and its JSON, two statements per event,
 * most of the outbox's cost — and adds `QUIET_GUARD` instead, which fails the batch if the tenant
 * has an enabled endpoint by the time it commits (created since, here or by another edge). The
 * engine then drops the entry (`conflict`) and computes the commit again, with payloads. So an
 * event is still enqueued iff its state change committed while an endpoint existed: the cache
 * only decides which of two correct commits is tried first.
 */
const quiet = new WeakMap<Store, Map<string, number>>();
const QUIET_MS = 2000;
const QUIET_MAX = 10_000;
const checking = new WeakMap<Store, Set<string>>();
/**
 * `runs.spec := NULL` violates NOT NULL: the batch rolls back with an error naming it. The guard
 * writes a column no index covers: setting `tenant_id` (as it once did) made SQLite rewrite the
 * run's entry in all four tenant-keyed runs indexes on every commit (3 extra pages of WAL per
 * lease and per results commit, bench/phases.ts).
 */
const QUIET_GUARD = `UPDATE "runs" SET "spec" = CASE WHEN EXISTS (SELECT 1 FROM "webhook_endpoints" WHERE "tenant_id" = ? AND "enabled" = 1) THEN NULL ELSE "spec" END WHERE "id" = ?`;
const QUIET_CONFLICT = "runs.spec";

const quietOf = (store: Store) => {
  let m = quiet.get(store);
  if (!m) quiet.set(store, (m = new Map()));
  return m;
};

/** Look (off the commit path) whether the tenant has an enabled endpoint; remember when it has none. */
function refreshQuiet(store: Store, tenantId: string): void {
  let busy = checking.get(store);
  if (!busy) checking.set(store, (busy = new Set()));
  if (busy.has(tenantId)) return;
  busy.add(tenantId);
  const seenAt = Date.now();
  void store.db
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.enabled, true)))
    .limit(1)
    .then(
      (rows) => {
        const m = quietOf(store);
        if (rows.length) m.delete(tenantId);
        else {
          if (m.size >= QUIET_MAX) m.clear();
          m.set(tenantId, seenAt);
        }
      },
      () => {}, // unknown: commits keep building payloads
    )
    .finally(() => busy.delete(tenantId));
}

/**
 * The outbox statements of one engine commit: the engine's commit hook (edge/engine/context.ts).
 * The run view is serialized once per commit and spliced into each event's payload.
 */
export const outboxHook: CommitHook = {
  statements(store: Store, commit: CommitView): Stmt[] {
    if (!commit.events.some((e) => webhookTypeOf(e))) return [];
    const seenAt = quietOf(store).get(commit.run.tenantId);
    if (seenAt !== undefined && Date.now() - seenAt < QUIET_MS) return [rawStmt(QUIET_GUARD, [commit.run.tenantId, commit.run.id])];
    refreshQuiet(store, commit.run.tenantId);
    const out: Stmt[] = [];
    let view: string | undefined;
    let stamp: string | undefined;
    for (const e of commit.events) {
      const type = webhookTypeOf(e);
      if (!type) continue;
      view ??= JSON.stringify(presentRun(commit.run, commit.steps));
      stamp ??= JSON.stringify(new Date(commit.now).toISOString());
      const step = type === "step.completed" && e.stepId ? `,"stepId":${JSON.stringify(e.stepId)}` : "";
      // = JSON.stringify({ type, timestamp, stepId?, data: view }), without re-serializing the view
      out.push(...enqueueWebhook(commit.run, type, `{"type":"${type}","timestamp":${stamp}${step},"data":${view}}`, commit.now));
    }
    return out;
  },
  conflict(e, store, run) {
    if (!errorMentions(e, QUIET_CONFLICT)) return false;
    quietOf(store).delete(run.tenantId);
    return true;
  },
};
