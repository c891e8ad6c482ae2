/**
 * Limits, rate limit and webhook settings from the environment (Node entrypoint; Workers vars
 * use the same names). Unset = the defaults in edge/app.ts, edge/limits/rate.ts and
 * edge/webhooks/options.ts.
 *
 * MAX_BODY_BYTES, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MAX_STEPS, MAX_TOKENS;
 * RATE_LIMIT_RPS (0 = off), RATE_LIMIT_BURST;
 * WEBHOOK_ALLOW_PRIVATE (1 = may deliver to private/loopback addresses: tests, local development),
 * WEBHOOK_TIMEOUT_MS, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_BACKOFF_MS, WEBHOOK_BACKOFF_MAX_MS.
 */
import type { Limits } from "../context.js";
import type { WebhookOptions } from "../webhooks/options.js";
import { DEFAULT_RATE_LIMIT, type RateLimit } from "./rate.js";

const num = (v: string | undefined) => (v === undefined || v.trim() === "" || !Number.isFinite(Number(v)) ? undefined : Number(v));

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
