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
import { eq } from "drizzle-orm";
import { queries } from "../../db/queries.js";
import type { Store } from "../../db/driver.js";
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
  // prepared once per store (db/queries.ts): building this upsert cost more than running it
  const rows = await queries(store).rateTake.all({ key, now, burst: limit.burst, rate, initial: limit.burst - 1 });
  if (rows.length) return { ok: true };
  const [b] = await store.db.select().from(rateBuckets).where(eq(rateBuckets.key, key));
  const have = b ? Math.min(limit.burst, b.tokens + Math.max(0, now - b.updatedAt) * rate) : 0;
  return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - have) / limit.perSecond)) };
}
