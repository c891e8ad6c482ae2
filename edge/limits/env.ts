/**
 * Limits, rate limit and webhook settings from the environment (Node entrypoint; Workers vars
 * use the same names). Unset = the defaults in edge/app.ts, edge/limits/rate.ts and
 * edge/webhooks/options.ts.
 *
 * MAX_BODY_BYTES, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MAX_STEPS, MAX_TOKENS;
 * RATE_LIMIT_RPS (0 = off), RATE_LIMIT_BURST; VIEW_CACHE_BYTES, VIEW_CACHE_ENTRY_BYTES, RATE_BUCKET_BYTES,
 * MEMORY_LIMIT_MB (edge/limits/memory.ts);
 * WEBHOOK_ALLOW_PRIVATE (1 = may deliver to private/loopback addresses: tests, local development),
 * WEBHOOK_TIMEOUT_MS, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_BACKOFF_MS, WEBHOOK_BACKOFF_MAX_MS.
 */
import type { Limits } from "../context.js";
import { DEFAULT_NODE_RSS_LIMIT_BYTES, type MemoryConfig } from "./memory.js";
import type { WebhookOptions } from "../webhooks/options.js";
import { DEFAULT_RATE_LIMIT, type RateLimit } from "./rate.js";

export const num = (v: string | undefined) => (v === undefined || v.trim() === "" || !Number.isFinite(Number(v)) ? undefined : Number(v));

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function limitsFromEnv(env: Record<string, string | undefined>): Partial<Limits> {
  return defined({
    bodyBytes: num(env.MAX_BODY_BYTES),
    imageBytes: num(env.MAX_IMAGE_BYTES),
    imagePixels: num(env.MAX_IMAGE_PIXELS),
    maxSteps: num(env.MAX_STEPS),
    maxTokens: num(env.MAX_TOKENS),
  });
}

/** VIEW_CACHE_BYTES, VIEW_CACHE_ENTRY_BYTES, RATE_BUCKET_BYTES, MEMORY_LIMIT_MB (0 = no RSS backstop). */
export function memoryFromEnv(env: Record<string, string | undefined>): Partial<MemoryConfig> {
  const mb = num(env.MEMORY_LIMIT_MB);
  return defined({
    viewCacheBytes: num(env.VIEW_CACHE_BYTES),
    viewCacheEntryBytes: num(env.VIEW_CACHE_ENTRY_BYTES),
    rateBucketBytes: num(env.RATE_BUCKET_BYTES),
    rssLimitBytes: mb === undefined ? DEFAULT_NODE_RSS_LIMIT_BYTES : mb * 2 ** 20,
  });
}

export function rateLimitFromEnv(env: Record<string, string | undefined>): RateLimit | false {
  const rps = num(env.RATE_LIMIT_RPS);
  if (rps === 0) return false;
  return { perSecond: rps ?? DEFAULT_RATE_LIMIT.perSecond, burst: num(env.RATE_LIMIT_BURST) ?? DEFAULT_RATE_LIMIT.burst };
}

export function webhooksFromEnv(env: Record<string, string | undefined>): Partial<WebhookOptions> {
  return defined({
    allowPrivate: env.WEBHOOK_ALLOW_PRIVATE === undefined ? undefined : env.WEBHOOK_ALLOW_PRIVATE === "1" || env.WEBHOOK_ALLOW_PRIVATE === "true",
    timeoutMs: num(env.WEBHOOK_TIMEOUT_MS),
    maxAttempts: num(env.WEBHOOK_MAX_ATTEMPTS),
    backoffBaseMs: num(env.WEBHOOK_BACKOFF_MS),
    backoffMaxMs: num(env.WEBHOOK_BACKOFF_MAX_MS),
  });
}
