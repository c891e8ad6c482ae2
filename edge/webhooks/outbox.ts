/**
 * The webhook outbox. A run commit's events become webhook messages IN THE SAME BATCH as the
 * state change (RunDraft calls `outboxStatements`), so an event is sent if and only if its state
 * change committed — an edge that dies right after a commit loses nothing, the dispatcher picks the
 * rows up later. Two INSERT … SELECT statements per event, no read before the commit: the message
 * (only if the tenant has an enabled endpoint subscribed to the type) and one delivery per such
 * endpoint. Bound parameters stay far below D1's 100.
 *
 * Engine event → webhook type: `run.started` → `run.started`; `step.completed` (succeeded or
 * cached) → `step.completed`; `run.completed` → `run.completed` (succeeded), `run.failed` (failed,
 * timed out) or `run.canceled`. The payload is `{ type, timestamp, data: <the run object, as
 * GET /v1/runs/:id shows it at that commit> }`, plus `stepId` for `step.completed`.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Stmt, Store } from "../../db/store.js";
import { webhookDeliveries, webhookEndpoints, webhookMessages, type RunRow, type StepRow, type WebhookEventType } from "../../db/schema.js";
import type { NewEvent } from "../engine/commit.js";
import { presentRun } from "../lib/present.js";

export function webhookTypeOf(e: NewEvent, run: RunRow): WebhookEventType | undefined {
  switch (e.type) {
    case "run.started":
      return "run.started";
    case "step.completed":
      return "step.completed";
    case "run.completed": {
      const status = (e.data.status as string | undefined) ?? run.status;
      return status === "succeeded" ? "run.completed" : status === "canceled" ? "run.canceled" : "run.failed";
    }
    default:
      return undefined;
  }
}

export function newMessageId(): string {
  return `msg_${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex")}`;
}

const subscribed = (tenantId: string, type: WebhookEventType) =>
  and(
    eq(webhookEndpoints.tenantId, tenantId),
    eq(webhookEndpoints.enabled, true),
    sql`EXISTS (SELECT 1 FROM json_each(${webhookEndpoints.events}) WHERE json_each.value = ${type})`,
  );

/** Outbox statements for one event (message + deliveries), to append to the state change's batch. */
export function enqueueWebhook(store: Store, run: { id: string; tenantId: string }, type: WebhookEventType, payload: string, now: number, id = newMessageId()): Stmt[] {
  const { db } = store;
  const message = db.insert(webhookMessages).select(
    db
      .select({
        id: sql<string>`${id}`.as("id"),
        tenantId: sql<string>`${run.tenantId}`.as("tenant_id"),
        runId: sql<string>`${run.id}`.as("run_id"),
        type: sql<WebhookEventType>`${type}`.as("type"),
        payload: sql<string>`${payload}`.as("payload"),
        createdAt: sql<number>`${now}`.as("created_at"),
      })
      .from(webhookEndpoints)
      .where(subscribed(run.tenantId, type))
      .limit(1),
  );
  const deliveries = db.insert(webhookDeliveries).select(
    db
      .select({
        id: sql<string>`${id} || '.' || ${webhookEndpoints.id}`.as("id"),
        messageId: sql<string>`${id}`.as("message_id"),
        endpointId: sql<string>`${webhookEndpoints.id}`.as("endpoint_id"),
        tenantId: sql<string>`${webhookEndpoints.tenantId}`.as("tenant_id"),
        runId: sql<string>`${run.id}`.as("run_id"),
        status: sql<"pending">`'pending'`.as("status"),
        attempts: sql<number>`0`.as("attempts"),
        nextAttemptAt: sql<number>`${now}`.as("next_attempt_at"),
        leaseUntil: sql<number | null>`NULL`.as("lease_until"),
        lastStatus: sql<number | null>`NULL`.as("last_status"),
        lastError: sql<string | null>`NULL`.as("last_error"),
        deliveredAt: sql<number | null>`NULL`.as("delivered_at"),
        createdAt: sql<number>`${now}`.as("created_at"),
        updatedAt: sql<number>`${now}`.as("updated_at"),
      })
      .from(webhookEndpoints)
      .where(subscribed(run.tenantId, type)),
  );
  return [message, deliveries];
}

/** The outbox statements of one engine commit (RunDraft.toUpdateStatements / toInsertStatements). */
export function outboxStatements(store: Store, draft: { run: RunRow; steps: StepRow[]; events: NewEvent[]; now: number }): Stmt[] {
  const out: Stmt[] = [];
  let runView: ReturnType<typeof presentRun> | undefined;
  for (const e of draft.events) {
    const type = webhookTypeOf(e, draft.run);
    if (!type) continue;
    runView ??= presentRun(draft.run, draft.steps);
    const payload = JSON.stringify({
      type,
      timestamp: new Date(draft.now).toISOString(),
      ...(type === "step.completed" && e.stepId ? { stepId: e.stepId } : {}),
      data: runView,
    });
    out.push(...enqueueWebhook(store, draft.run, type, payload, draft.now));
  }
  return out;
}
