/**
 * Prepared queries for the hot paths (get a run, load a run snapshot, a job by id, the
 * idempotency lookup). Building a drizzle query costs more than running it on SQLite, so these
 * are built once per store. `.prepare()` works on better-sqlite3 and D1 alike; always `await`.
 */
import { and, asc, eq, gte, isNull, sql } from "drizzle-orm";
import type { Store } from "./driver.js";
import { apiKeys, jobs, rateBuckets, runs, steps, workers } from "./schema.js";

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
    runById: db.select().from(runs).where(eq(runs.id, sql.placeholder("id"))).prepare(),
    /** Just enough of a run to validate a cached view: its rev changes with every engine commit. */
    runRevById: db
      .select({ rev: runs.rev, tenantId: runs.tenantId })
      .from(runs)
      .where(eq(runs.id, sql.placeholder("id")))
      .prepare(),
    stepsByRun: db.select().from(steps).where(eq(steps.runId, sql.placeholder("runId"))).orderBy(asc(steps.idx)).prepare(),
    jobById: db.select().from(jobs).where(eq(jobs.id, sql.placeholder("id"))).prepare(),
    /** Workers seen since `since` (ms). */
    workersSeenSince: db
      .select()
      .from(workers)
      .where(gte(workers.lastSeenAt, sql.placeholder("since")))
      .orderBy(asc(workers.registeredAt))
      .prepare(),
    /** A succeeded step of the tenant with this cache key (the memo table is the steps table). */
    memoByKey: db
      .select()
      .from(steps)
      .where(and(eq(steps.tenantId, sql.placeholder("tenantId")), eq(steps.cacheKey, sql.placeholder("key")), eq(steps.status, "succeeded")))
      .limit(1)
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
