/**
 * Drizzle `sqlite-core` schema of the control plane. One schema for better-sqlite3 (Node) and D1.
 *
 * Conventions:
 * - every row a tenant owns carries `tenant_id` (the API key's tenant; `"local"` is the default);
 * - times are integer milliseconds since the epoch;
 * - JSON columns are typed from the workflows/ zod types via `$type<…>()`;
 * - `runs.rev` is the run's optimistic-concurrency counter: every engine commit for a run is one
 *   atomic batch whose first statement bumps `rev` only when it still has the value the commit was
 *   computed from (see `db/store.ts` `guardRev`), so concurrent edge instances never interleave.
 */
import { sql } from "drizzle-orm";
import { blob, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { RunEventData, RunEventType, RunStatus, StepStatus, WebhookEventType } from "../workflows/index.js";
import type { JobPayload, ModelAdvert, Receipt, ResolvedInputs, RunCatalog, RunError, Spec, StepError, StepOutput } from "./types.js";

export const DEFAULT_TENANT = "local";

const tenantId = () => text("tenant_id").notNull().default(DEFAULT_TENANT);

/** Saved, versioned workflow specs. A save never overwrites: it adds `version = max + 1`. */
export const workflows = sqliteTable(
  "workflows",
  {
    tenantId: tenantId(),
    id: text("id").notNull(),
    version: integer("version").notNull(),
    name: text("name"),
    description: text("description"),
    spec: text("spec", { mode: "json" }).$type<Spec>().notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id, t.version] })],
);

export const runs = sqliteTable(
  "runs",
  {
    id: text("id").primaryKey(),
    tenantId: tenantId(),
    workflowId: text("workflow_id"),
    workflowVersion: integer("workflow_version"),
    name: text("name"),
    spec: text("spec", { mode: "json" }).$type<Spec>().notNull(),
    inputs: text("inputs", { mode: "json" }).$type<ResolvedInputs>().notNull(),
    /** The model adverts the run was validated and planned against, frozen at creation. */
    catalog: text("catalog", { mode: "json" }).$type<RunCatalog>().notNull(),
    status: text("status").$type<RunStatus>().notNull(),
    rev: integer("rev").notNull().default(0),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    idempotencyKey: text("idempotency_key"),
    parentRunId: text("parent_run_id"),
    rerunFrom: text("rerun_from"),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    updatedAt: integer("updated_at").notNull(),
    outputs: text("outputs", { mode: "json" }).$type<Record<string, unknown>>(),
    error: text("error", { mode: "json" }).$type<RunError>(),
    /** Run-level deadline (`createdAt` + the spec's or the edge's run timeout); NULL = none (older rows). */
    deadlineAt: integer("deadline_at"),
  },
  (t) => [
    // partial: a run without an Idempotency-Key (most) writes no entry here
    uniqueIndex("runs_tenant_idem").on(t.tenantId, t.idempotencyKey).where(sql`${t.idempotencyKey} IS NOT NULL`),
    index("runs_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("runs_tenant_status_created").on(t.tenantId, t.status, t.createdAt),
    index("runs_tenant_workflow_created").on(t.tenantId, t.workflowId, t.createdAt),
    // the run-deadline sweep: live runs (queued/running) whose deadline passed
    index("runs_status_deadline").on(t.status, t.deadlineAt),
  ],
);

export const steps = sqliteTable(
  "steps",
  {
    runId: text("run_id").notNull(),
    stepId: text("step_id").notNull(),
    tenantId: tenantId(),
    idx: integer("idx").notNull(),
    op: text("op").notNull(),
    model: text("model"),
    status: text("status").$type<StepStatus>().notNull(),
    /** Step ids whose *values* this step's templates read: it stays pending until they succeed. */
    valueDeps: text("value_deps", { mode: "json" }).$type<string[]>().notNull(),
    /** Step ids this step's recipe embeds (`from`, `span`): not waited for, but failures skip it. */
    tensorDeps: text("tensor_deps", { mode: "json" }).$type<string[]>().notNull(),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    backoffMs: integer("backoff_ms").notNull(),
    timeoutMs: integer("timeout_ms").notNull(),
    cacheKey: text("cache_key"),
    cacheHit: integer("cache_hit", { mode: "boolean" }).notNull().default(false),
    /** `runId/stepId` of the succeeded step whose output a `cached` step reuses. */
    cachedFrom: text("cached_from"),
    /** Rerun-from-step: never satisfy this step from the memo table. */
    noCache: integer("no_cache", { mode: "boolean" }).notNull().default(false),
    workerId: text("worker_id"),
    queuedAt: integer("queued_at"),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    queueMs: integer("queue_ms"),
    computeMs: integer("compute_ms"),
    output: text("output", { mode: "json" }).$type<StepOutput>(),
    receipt: text("receipt", { mode: "json" }).$type<Receipt>(),
    error: text("error", { mode: "json" }).$type<StepError>(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.stepId] }),
    // the memo (db/queries.ts memoByKeys): succeeded steps only, so a step enters it once, when it
    // succeeds, instead of moving through it with every status change (create, start, result)
    index("steps_memo").on(t.tenantId, t.cacheKey).where(sql`${t.status} = 'succeeded'`),
  ],
);

/** Input bytes (images), stored once by content hash. Content-addressed, so shared across tenants. */
export const blobs = sqliteTable("blobs", {
  sha256: text("sha256").primaryKey(),
  mime: text("mime").notNull(),
  size: integer("size").notNull(),
  data: blob("data", { mode: "buffer" }).notNull(),
  createdAt: integer("created_at").notNull(),
});

export const JOB_STATUSES = ["queued", "leased", "done", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * The job queue: one row per (run, step) that needs a worker. Retries reuse the row
 * (`attempts`, `available_at` for backoff); every lease gets a fresh `lease_id`.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    tenantId: tenantId(),
    runId: text("run_id").notNull(),
    stepId: text("step_id").notNull(),
    /** The step's position in its spec: jobs of one run lease in spec order. */
    stepIdx: integer("step_idx").notNull(),
    model: text("model").notNull(),
    op: text("op").notNull(),
    payload: text("payload", { mode: "json" }).$type<JobPayload>().notNull(),
    status: text("status").$type<JobStatus>().notNull(),
    leaseId: text("lease_id"),
    leasedBy: text("leased_by"),
    leasedAt: integer("leased_at"),
    leaseExpiresAt: integer("lease_expires_at"),
    /** Leased: `leasedAt + timeoutMs`. Queued: `availableAt + timeoutMs` (no worker took it in time). */
    deadlineAt: integer("deadline_at"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    backoffMs: integer("backoff_ms").notNull(),
    timeoutMs: integer("timeout_ms").notNull(),
    availableAt: integer("available_at").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("jobs_ready").on(t.status, t.availableAt),
    index("jobs_expiry").on(t.status, t.leaseExpiresAt),
    // deadline sweep: leased jobs past their step deadline (queued jobs have none)
    index("jobs_deadline").on(t.status, t.deadlineAt),
    index("jobs_run").on(t.runId),
  ],
);

/**
 * Append-only run history. `id` is global and monotonically increasing, hence also per run:
 * it is the SSE event id, and `Last-Event-ID` resumes with `id > last`.
 */
export const runEvents = sqliteTable(
  "run_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runId: text("run_id").notNull(),
    tenantId: tenantId(),
    type: text("type").$type<RunEventType>().notNull(),
    stepId: text("step_id"),
    data: text("data", { mode: "json" }).$type<RunEventData>().notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("run_events_run").on(t.runId, t.id)],
);

/** Pool workers and what they advertise. Unseen for 3 × leaseMs = gone. */
export const workers = sqliteTable("workers", {
  id: text("id").primaryKey(),
  tenantId: tenantId(),
  executionProvider: text("execution_provider").notNull(),
  ortVersion: text("ort_version").notNull(),
  models: text("models", { mode: "json" }).$type<ModelAdvert[]>().notNull(),
  leaseMs: integer("lease_ms").notNull(),
  registeredAt: integer("registered_at").notNull(),
  lastSeenAt: integer("last_seen_at").notNull(),
  /** The credential that registered this worker id (`pool` = the shared POOL_TOKEN): only it may use the id. */
  credentialId: text("credential_id").notNull().default("pool"),
});

export type RunRow = typeof runs.$inferSelect;
export type StepRow = typeof steps.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;
export type EventRow = typeof runEvents.$inferSelect;
export type WorkerRow = typeof workers.$inferSelect;
export type WorkflowRow = typeof workflows.$inferSelect;

// ---------------------------------------------------------------------------------------------
// API keys, webhooks, rate limits, tenant-owned inputs (issue 6; code in edge/auth, edge/webhooks,
// edge/limits).

/** API keys: only the sha256 of the key is stored; a key acts for exactly one tenant. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    name: text("name"),
    /** The first characters of the key, to tell keys apart in lists (never enough to use it). */
    prefix: text("prefix").notNull(),
    /** Lowercase hex sha256 of the whole key. */
    hash: text("hash").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.hash), index("api_keys_tenant").on(t.tenantId, t.createdAt)],
);

/**
 * Worker credentials (admin API): a bearer token (`mlw_…`, only its sha256 stored) for one worker
 * or pool, optionally limited to tenants and models (null = any). Revoked = every pool call 401.
 */
export const workerCredentials = sqliteTable(
  "worker_credentials",
  {
    id: text("id").primaryKey(),
    name: text("name"),
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull(),
    tenants: text("tenants", { mode: "json" }).$type<string[] | null>(),
    models: text("models", { mode: "json" }).$type<string[] | null>(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("worker_credentials_hash").on(t.hash)],
);
export type WorkerCredentialRow = typeof workerCredentials.$inferSelect;

/** A tenant's webhook endpoint. `secret` is the current `whsec_…`; rotated-out ones sign until they expire. */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    url: text("url").notNull(),
    description: text("description"),
    events: text("events", { mode: "json" }).$type<WebhookEventType[]>().notNull(),
    secret: text("secret").notNull(),
    previousSecrets: text("previous_secrets", { mode: "json" }).$type<{ secret: string; expiresAt: number }[]>().notNull().default(sql`'[]'`),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    disabledReason: text("disabled_reason"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhook_endpoints_tenant").on(t.tenantId, t.enabled)],
);

/**
 * The outbox: one message per webhook event, written in the same batch as the state change that
 * caused it (only when the tenant has an enabled endpoint subscribed to the type). `id` is the
 * `webhook-id`; `payload` is the exact JSON body that is signed and sent, every time.
 */
export const webhookMessages = sqliteTable(
  "webhook_messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    runId: text("run_id").notNull(),
    type: text("type").$type<WebhookEventType>().notNull(),
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("webhook_messages_run").on(t.runId, t.createdAt)],
);

export const WEBHOOK_DELIVERY_STATUSES = ["pending", "sending", "delivered", "failed"] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/** One message to one endpoint; `id` = `<messageId>.<endpointId>`. Claimed like jobs (lease). */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    messageId: text("message_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    runId: text("run_id").notNull(),
    status: text("status").$type<WebhookDeliveryStatus>().notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    leaseUntil: integer("lease_until"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    deliveredAt: integer("delivered_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("webhook_deliveries_due").on(t.status, t.nextAttemptAt),
    index("webhook_deliveries_run").on(t.runId),
    index("webhook_deliveries_endpoint").on(t.endpointId),
  ],
);

/** The delivery log: every attempt, its answer or error. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: text("delivery_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    status: integer("status"),
    error: text("error"),
    response: text("response"),
  },
  (t) => [index("webhook_attempts_delivery").on(t.deliveryId, t.id)],
);

/** Per-key token buckets of the rate limiter (DB-backed: shared by every edge instance). */
export const rateBuckets = sqliteTable("rate_buckets", {
  key: text("key").primaryKey(),
  tokens: real("tokens").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Which tenant stored which input bytes (`blobs` is content-addressed and shared). */
export const tenantBlobs = sqliteTable(
  "tenant_blobs",
  {
    tenantId: text("tenant_id").notNull(),
    sha256: text("sha256").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.sha256] })],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookMessageRow = typeof webhookMessages.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
