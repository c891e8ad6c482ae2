/** Webhook delivery settings (AppDeps.webhooks; edge/node.ts reads them from the environment). */
import type { Transport } from "./transport.js";

export interface WebhookOptions {
  /**
   * Deliver to private, loopback, link-local and metadata addresses too. Off by default; tests and
   * local development turn it on explicitly (`WEBHOOK_ALLOW_PRIVATE=1`).
   */
  allowPrivate: boolean;
  /** Per-request timeout (ms). Default 10 000. */
  timeoutMs: number;
  /** Attempts per delivery before it is `failed`. Default 12 (≈ 2.5 h with the default backoff). */
  maxAttempts: number;
  /** Backoff before attempt n+1: base × 2^(n−1), capped, with jitter (×0.5–1.0). Default 5 000. */
  backoffBaseMs: number;
  /** Longest backoff (ms). Default 3 600 000. */
  backoffMaxMs: number;
  /** Most deliveries claimed per dispatcher pass. Default 20. */
  batch: number;
  /** How long an old secret keeps signing after a rotation, unless the call says (ms). Default 24 h. */
  rotationGraceMs: number;
  /** Sends one request. Default: fetch (Workers); Node passes the DNS-checking node transport. */
  transport?: Transport;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  allowPrivate: false,
  timeoutMs: 10_000,
  maxAttempts: 12,
  backoffBaseMs: 5_000,
  backoffMaxMs: 3_600_000,
  batch: 20,
  rotationGraceMs: 24 * 3600_000,
};

export function webhookOptions(o: Partial<WebhookOptions> = {}): WebhookOptions {
  return { ...DEFAULT_WEBHOOK_OPTIONS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
}
