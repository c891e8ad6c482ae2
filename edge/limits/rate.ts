/**
 * Per-key rate limit: a token bucket per API key, kept in this process's memory. It used to be a
 * row in the database, updated on every request — so every read was also a write, and a full
 * disk took reads down with it (issue 15). Memory costs no I/O and cannot fail; the price is that
 * each edge instance (each Workers isolate) counts on its own, so N instances allow up to N × the
 * rate — an abuse brake, not a quota. The bucket map is bounded (`maxKeys`, least recently used
 * first out); a key evicted comes back with a full bucket.
 *
 * @example
 * const limiter = new RateLimiter({ perSecond: 20, burst: 100 });
 * const r = limiter.take("key_abc", Date.now());
 * if (!r.ok) throw apiError(429, "rate_limited", "…", null, { "Retry-After": String(r.retryAfterS) });
 */
import { ByteLru } from "../lib/byte-lru.js";

export interface RateLimit {
  /** Tokens added per second (sustained rate). */
  perSecond: number;
  /** Bucket size (largest burst). */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 50, burst: 200 };

/** Bytes one bucket costs (key id ≤ ~40 chars + two numbers + map overhead), for the byte bound. */
const BUCKET_BYTES = 160;

export class RateLimiter {
  readonly buckets: ByteLru<{ tokens: number; at: number }>;

  constructor(
    readonly limit: RateLimit,
    limitBytes = 4 << 20,
  ) {
    this.buckets = new ByteLru(limitBytes, () => BUCKET_BYTES);
  }

  take(key: string, now: number): { ok: true } | { ok: false; retryAfterS: number } {
    const rate = this.limit.perSecond / 1000; // tokens per ms
    const b = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    const tokens = Math.min(this.limit.burst, b.tokens + Math.max(0, now - b.at) * rate);
    if (tokens >= 1) {
      this.buckets.set(key, { tokens: tokens - 1, at: now });
      return { ok: true };
    }
    this.buckets.set(key, { tokens, at: now });
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / this.limit.perSecond)) };
  }
}
