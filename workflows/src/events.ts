/**
 * Run events: the one vocabulary the engine writes to `run_events` and that SSE, webhooks, the
 * notebook UI and the CLI read. Each type's `data` is a zod object here; the union below is what
 * `GET /v1/runs/:id/events` sends (`{ type, runId, stepId, at, ...data }`), so a consumer that
 * switches on `type` gets the fields of that event, and a `Record<RunEventType, …>` of handlers
 * stops compiling when a type is added here and not handled there.
 */
import { z } from "zod";
import { RunStatusSchema } from "./state.js";
import { ProgressTokenSchema, StepOutputSchema } from "./wire.js";

/** A step's error as stored and sent (a worker's wire error plus the attempt it ended). */
export const StepErrorSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean().optional(),
  attempt: z.number().int().optional(),
  details: z.unknown().optional(),
});
export type StepError = z.infer<typeof StepErrorSchema>;
/** A run's error: the failing step's, or the engine's (`outputs_unresolved`, `run_timeout`…). */
export const RunErrorSchema = z.object({ code: z.string(), message: z.string(), stepId: z.string().optional() });
export type RunError = z.infer<typeof RunErrorSchema>;

/** Each run event type → the fields it carries besides `type`, `runId`, `stepId`, `at`. */
export const RUN_EVENT_DATA = {
  "run.created": z.object({ status: z.literal("queued"), workflowId: z.string().nullable(), parentRunId: z.string().nullable() }),
  "run.started": z.object({ status: z.literal("running") }),
  "step.queued": z.object({ status: z.literal("queued"), cacheKey: z.string().nullable() }),
  "step.started": z.object({ status: z.literal("running"), attempt: z.number().int(), workerId: z.string().nullable() }),
  /** One generated token (from the worker's progress posts). */
  token: ProgressTokenSchema,
  /** A failed attempt that will run again at `availableAt`. */
  "step.retrying": z.object({ status: z.literal("queued"), attempt: z.number().int(), error: StepErrorSchema, availableAt: z.number() }),
  /** Succeeded on a worker, or `cached`: memo hit (`cachedFrom` = `<runId>/<stepId>`) or copied by a rerun. */
  "step.completed": z.object({
    status: z.enum(["succeeded", "cached"]),
    output: StepOutputSchema.nullable(),
    cacheHit: z.boolean().optional(),
    computeMs: z.number().nullable().optional(),
    workerId: z.string().nullable().optional(),
    cachedFrom: z.string().optional(),
  }),
  "step.failed": z.object({ status: z.literal("failed"), error: StepErrorSchema }),
  "step.timed_out": z.object({ status: z.literal("timed_out"), error: StepErrorSchema }),
  "step.skipped": z.object({ status: z.literal("skipped"), error: StepErrorSchema }),
  "step.canceled": z.object({ status: z.literal("canceled") }),
  /** The last event of a run: the stream ends after it. */
  "run.completed": z.object({
    status: RunStatusSchema,
    outputs: z.record(z.string(), z.unknown()).nullable(),
    error: RunErrorSchema.nullable(),
  }),
} as const;

export type RunEventType = keyof typeof RUN_EVENT_DATA;
/** The event types, in the order a run usually emits them. */
export const RUN_EVENT_TYPES = Object.keys(RUN_EVENT_DATA) as RunEventType[];
export type RunEventData<T extends RunEventType = RunEventType> = z.infer<(typeof RUN_EVENT_DATA)[T]>;

/**
 * An event as the engine records it (one `run_events` row, before its id and time exist).
 *
 * @example
 * const e: RunEventRecord = { type: "step.started", stepId: "answer", data: { status: "running", attempt: 1, workerId: "w1" } };
 */
export type RunEventRecord = { [T in RunEventType]: { type: T; stepId: string | null; data: RunEventData<T> } }[RunEventType];

/** One SSE event's data as `GET /v1/runs/:id/events` sends it, discriminated on `type`. */
export type RunEvent = { [T in RunEventType]: { type: T; runId: string; stepId: string | null; at: number } & RunEventData<T> }[RunEventType];
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

const envelope = { runId: z.string(), stepId: z.string().nullable(), at: z.number() };
type EventMember = z.ZodObject<z.ZodRawShape & { type: z.ZodLiteral<RunEventType> }>;

/**
 * The runtime check of `RunEvent` (one member per type, built from `RUN_EVENT_DATA`). Tolerant
 * of fields added later (zod strips them), strict about the ones named here.
 *
 * @example
 * const e = RunEventSchema.parse(JSON.parse(sse.data));
 * if (e.type === "token") process.stdout.write(e.text);
 */
export const RunEventSchema: z.ZodType<RunEvent> = z
  .discriminatedUnion(
    "type",
    RUN_EVENT_TYPES.map((type) => (RUN_EVENT_DATA[type] as z.ZodObject).extend({ type: z.literal(type), ...envelope })) as unknown as [
      EventMember,
      ...EventMember[],
    ],
  )
  .meta({ id: "RunEvent" }) as unknown as z.ZodType<RunEvent>;

/**
 * Webhook event types (Standard Webhooks `type`), coarser than run events: a run's end is split
 * by outcome so receivers can subscribe to failures alone.
 */
export const WEBHOOK_EVENT_TYPES = ["run.started", "step.completed", "run.completed", "run.failed", "run.canceled"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

// which run events send a webhook: built once, since webhookTypeOf runs for every event of every commit
const SENT: { [T in RunEventType]: (data: RunEventData<T>) => WebhookEventType | undefined } = {
  "run.created": () => undefined,
  "run.started": () => "run.started",
  "step.queued": () => undefined,
  "step.started": () => undefined,
  token: () => undefined,
  "step.retrying": () => undefined,
  "step.completed": () => "step.completed",
  "step.failed": () => undefined,
  "step.timed_out": () => undefined,
  "step.skipped": () => undefined,
  "step.canceled": () => undefined,
  "run.completed": (d) => (d.status === "succeeded" ? "run.completed" : d.status === "canceled" ? "run.canceled" : "run.failed"),
};

/**
 * The webhook a run event triggers, if any (`run.completed` by the run's final status).
 * Exhaustive: a new run event type must say here whether it is sent.
 *
 * @example
 * webhookTypeOf({ type: "run.completed", stepId: null, data: { status: "timed_out", outputs: null, error: null } }); // "run.failed"
 */
export function webhookTypeOf(e: RunEventRecord): WebhookEventType | undefined {
  return (SENT[e.type] as (data: RunEventData) => WebhookEventType | undefined)(e.data);
}
