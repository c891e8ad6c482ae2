/**
 * Per-key rate limit: a token bucket kept in the database (`rate_buckets`), so every edge
 * instance (and every Workers isolate) shares it. One statement per request: an UPSERT that
 * refills the bucket for the time passed and takes one token only if one is there; no row
 * back = limited, and `Retry-After` is the time until the next token.
 *
 * @example
 * const r = await takeToken(store, "key_abc", { perSecond: 20, burst: 100 }, Date.now());
 * if (!r.ok) throw apiError(429, "rate_limited", "…", null, { "Retry-After": String(r.retryAfterS) });
 */
import { eq, sql } from "drizzle-orm";
import type { Store } from "../../db/store.js";
import { rateBuckets } from "../../db/schema.js";

export interface RateLimit {
  /** Tokens added per second (sustained rate). */
  perSecond: number;
  /** Bucket size (largest burst). */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 50, burst: 200 };

export async function takeToken(store: Store, key: string, limit: RateLimit, now: number): Promise<{ ok: true } | { ok: false; retryAfterS: number }> {
  const rate = limit.perSecond / 1000; // tokens per ms
  const refilled = sql`min(${limit.burst}, ${rateBuckets.tokens} + max(0, ${now} - ${rateBuckets.updatedAt}) * ${rate})`;
  const rows = await store.db
    .insert(rateBuckets)
    .values({ key, tokens: limit.burst - 1, updatedAt: now })
    .onConflictDoUpdate({
      target: rateBuckets.key,
      set: { tokens: sql`${refilled} - 1`, updatedAt: sql`max(${rateBuckets.updatedAt}, ${now})` },
      setWhere: sql`${refilled} >= 1`,
    })
    .returning({ tokens: rateBuckets.tokens });
  if (rows.length) return { ok: true };
  const [b] = await store.db.select().from(rateBuckets).where(eq(rateBuckets.key, key));
  const have = b ? Math.min(limit.burst, b.tokens + Math.max(0, now - b.updatedAt) * rate) : 0;
  return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - have) / limit.perSecond)) };
}
