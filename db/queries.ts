/**
 * Prepared queries for the hot paths: a run and its steps, jobs by id, the lease claim, worker
 * liveness, the expiry sweep, blobs, API keys, the rate limit. Building a drizzle query costs more
 * than running it on SQLite, so these are built once per store. `.prepare()` works on
 * better-sqlite3 and D1 alike; always `await`. Variable-length lists are bound as one JSON array
 * (`IN (SELECT value FROM json_each(?))`) so that a statement's text never changes.
 */
import { and, asc, eq, gte, inArray, isNull, lt, lte, sql } from "drizzle-orm";
import { RUN_LIVE } from "../workflows/index.js";
import type { Store } from "./driver.js";
import { apiKeys, blobs, jobs, rateBuckets, runs, steps, workerCredentials, workers } from "./schema.js";

/** Most rows one expiry-sweep query returns (bounded work per pass). */
export const SWEEP_BATCH = 50;

function build(store: Store) {
  const { db } = store;
  const P = sql.placeholder;
  // the token bucket refilled for the time passed (edge/limits/rate.ts)
  const refilled = sql`min(${P("burst")}, ${rateBuckets.tokens} + max(0, ${P("now")} - ${rateBuckets.updatedAt}) * ${P("rate")})`;
  return {
    /**
     * Per-key rate limit: take one token if there is one (a row back) — runs on every API request.
     * Params: key, now (ms), burst, rate (tokens per ms), initial (= burst - 1).
     */
    rateTake: db
      .insert(rateBuckets)
      .values({ key: P("key"), tokens: P("initial"), updatedAt: P("now") })
      .onConflictDoUpdate({
        target: rateBuckets.key,
        set: { tokens: sql`${refilled} - 1`, updatedAt: sql`max(${rateBuckets.updatedAt}, ${P("now")})` },
        setWhere: sql`${refilled} >= 1`,
      })
      .returning({ tokens: rateBuckets.tokens })
      .prepare(),
    runById: db
      .select()
      .from(runs)
      .where(eq(runs.id, sql.placeholder("id")))
      .prepare(),
    /** Just enough of a run to validate a cached view: its rev changes with every engine commit. */
    runRevById: db
      .select({ rev: runs.rev, tenantId: runs.tenantId })
      .from(runs)
      .where(eq(runs.id, sql.placeholder("id")))
      .prepare(),
    /** A run's status alone (what a `Prefer: wait` poll needs, without parsing spec and catalog). */
    runStatusById: db
      .select({ status: runs.status })
      .from(runs)
      .where(eq(runs.id, sql.placeholder("id")))
      .prepare(),
    stepsByRun: db
      .select()
      .from(steps)
      .where(eq(steps.runId, sql.placeholder("runId")))
      .orderBy(asc(steps.idx))
      .prepare(),
    jobById: db
      .select()
      .from(jobs)
      .where(eq(jobs.id, sql.placeholder("id")))
      .prepare(),
    /** Jobs by id; `ids` = a JSON array. */
    jobsByIds: db
      .select()
      .from(jobs)
      .where(sql`${jobs.id} IN (SELECT value FROM json_each(${P("ids")}))`)
      .prepare(),
    /**
     * Jobs a worker may lease now, fair between tenants: ranked within their tenant (oldest first,
     * a run's jobs in spec order) and taken rank by rank, so one tenant's backlog cannot push
     * another tenant's run to the back. Params: now, max, models (a JSON array of model names),
     * tenants (a JSON array, or null = any: a worker credential's limit), credentialId (`pool`, or
     * a worker credential that must not be revoked — so a long-poll that began before a revocation
     * finds nothing after it). The claim itself is a guarded write in the same batch that marks the
     * steps started (edge/engine/pool.ts), so two workers never get one job.
     */
    readyJobs: db
      .select()
      .from(jobs)
      .where(
        sql`${jobs.id} IN (SELECT id FROM (SELECT ${jobs.id} AS id, ${jobs.availableAt} AS a, ${jobs.runId} AS r, ${jobs.stepIdx} AS s,
            ROW_NUMBER() OVER (PARTITION BY ${jobs.tenantId} ORDER BY ${jobs.availableAt}, ${jobs.runId}, ${jobs.stepIdx}) AS rn
            FROM ${jobs}
            WHERE ${jobs.status} = 'queued' AND ${jobs.availableAt} <= ${P("now")}
              AND ${jobs.model} IN (SELECT value FROM json_each(${P("models")}))
              AND (${P("tenants")} IS NULL OR ${jobs.tenantId} IN (SELECT value FROM json_each(${P("tenants")})))
              AND (${P("credentialId")} = 'pool' OR EXISTS (SELECT 1 FROM ${workerCredentials} WHERE ${workerCredentials.id} = ${P("credentialId")} AND ${workerCredentials.revokedAt} IS NULL)))
          ORDER BY rn, a, r, s LIMIT ${P("max")})`,
      )
      .orderBy(asc(jobs.availableAt), asc(jobs.runId), asc(jobs.stepIdx))
      .prepare(),
    /** Extend this worker's live leases (`ids` = a JSON array); the ids it still holds come back. */
    extendLeases: db
      .update(jobs)
      .set({ leaseExpiresAt: sql`${P("expires")}`, updatedAt: sql`${P("now")}` })
      .where(and(sql`${jobs.id} IN (SELECT value FROM json_each(${P("ids")}))`, eq(jobs.leasedBy, P("workerId")), sql`+${jobs.status} = 'leased'`))
      .returning({ id: jobs.id })
      .prepare(),
    /** Leased jobs whose lease expired before `now` (the worker stopped heartbeating). */
    expiredLeases: db
      .select()
      .from(jobs)
      .where(and(eq(jobs.status, "leased"), lt(jobs.leaseExpiresAt, P("now"))))
      .limit(SWEEP_BATCH)
      .prepare(),
    /** Leased jobs past their step deadline. */
    lateJobs: db
      .select()
      .from(jobs)
      .where(and(eq(jobs.status, "leased"), lt(jobs.deadlineAt, P("now"))))
      .limit(SWEEP_BATCH)
      .prepare(),
    /** Live runs past their run deadline (runs_status_deadline index). */
    overdueRuns: db
      .select({ id: runs.id })
      .from(runs)
      .where(and(inArray(runs.status, [...RUN_LIVE]), lt(runs.deadlineAt, P("now"))))
      .limit(SWEEP_BATCH)
      .prepare(),
    /** Mark a worker seen; its row back, or none when it is not registered. */
    touchWorker: db
      .update(workers)
      .set({ lastSeenAt: sql`${P("now")}` })
      .where(eq(workers.id, P("id")))
      .returning()
      .prepare(),
    blobBySha: db
      .select()
      .from(blobs)
      .where(eq(blobs.sha256, P("sha256")))
      .prepare(),
    /** Blobs by sha256 (`shas` = a JSON array) no larger than `maxSize` bytes each. */
    smallBlobsByShas: db
      .select({ sha256: blobs.sha256, data: blobs.data })
      .from(blobs)
      .where(and(sql`${blobs.sha256} IN (SELECT value FROM json_each(${P("shas")}))`, lte(blobs.size, P("maxSize"))))
      .prepare(),
    /** Workers seen since `since` (ms). */
    workersSeenSince: db
      .select()
      .from(workers)
      .where(gte(workers.lastSeenAt, sql.placeholder("since")))
      .orderBy(asc(workers.registeredAt))
      .prepare(),
    /**
     * The memo (the memo table is the steps table): for each cache key (`keys` = a JSON array) a
     * succeeded step of the tenant with that key — the first in steps_memo (`LIMIT 1`), so at most
     * one row per key however often it was computed — in one statement for all of a run's ready
     * steps, with only the columns a memo hit copies.
     */
    memoByKeys: db
      .select({ cacheKey: steps.cacheKey, runId: steps.runId, stepId: steps.stepId, output: steps.output, receipt: steps.receipt })
      .from(steps)
      .where(
        sql`${steps}.rowid IN (SELECT (SELECT m.rowid FROM ${steps} AS m WHERE m.tenant_id = ${P("tenantId")} AND m.cache_key = k.value AND m.status = 'succeeded' LIMIT 1)
          FROM json_each(${P("keys")}) AS k)`,
      )
      .prepare(),
    /** A live (not revoked) API key by the sha256 of its text: runs on every API request. */
    apiKeyByHash: db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.hash, sql.placeholder("hash")), isNull(apiKeys.revokedAt)))
      .prepare(),
    runByIdempotencyKey: db
      .select()
      .from(runs)
      .where(and(eq(runs.tenantId, sql.placeholder("tenantId")), eq(runs.idempotencyKey, sql.placeholder("key"))))
      .prepare(),
  };
}

export type Queries = ReturnType<typeof build>;
const cache = new WeakMap<Store, Queries>();

/** The prepared queries of a store (built on first use). */
export function queries(store: Store): Queries {
  let q = cache.get(store);
  if (!q) cache.set(store, (q = build(store)));
  return q;
}
