/**
 * The webhook outbox. A run commit's events become webhook messages IN THE SAME BATCH as the
 * state change (`outboxHook`, plugged into the engine's commit hooks by edge/app.ts), so an event is sent if and only if its state
 * change committed — an edge that dies right after a commit loses nothing, the dispatcher picks the
 * rows up later. Two INSERT … SELECT statements per event, no read before the commit: the message
 * (only if the tenant has an enabled endpoint subscribed to the type) and one delivery per such
 * endpoint. Bound parameters stay far below D1's 100.
 *
 * Which run event sends which webhook is `webhookTypeOf` (workflows/src/events.ts). The payload
 * is `{ type, timestamp, data: <the run object, as GET /v1/runs/:id shows it at that commit> }`,
 * plus `stepId` for `step.completed`.
 */
import { rawStmt, type Stmt, type Store } from "../../db/driver.js";
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
 * The outbox statements of one engine commit: the engine's commit hook (edge/engine/context.ts).
 * The run view is serialized once per commit and spliced into each event's payload.
 */
export const outboxHook: CommitHook = (_store: Store, commit: CommitView): Stmt[] => {
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
};
