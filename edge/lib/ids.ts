/**
 * Ids. Run ids sort by creation time (`run_` + 10 chars of ms time in Crockford base32 + 16 random),
 * so `ORDER BY id` is creation order and cursors stay short.
 */
const B32 = "0123456789abcdefghjkmnpqrstvwxyz";

function randomB32(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (const b of bytes) s += B32[b & 31];
  return s;
}

function timeB32(ms: number): string {
  let s = "";
  for (let i = 0; i < 10; i++) {
    s = B32[ms % 32] + s;
    ms = Math.floor(ms / 32);
  }
  return s;
}

/** @example newRunId() // "run_01hx…" */
export function newRunId(now = Date.now()): string {
  return `run_${timeB32(now)}${randomB32(16)}`;
}

export function newToken(bytes = 24): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

/** A job is one per (run, step): its id is derived, so enqueueing twice is a no-op. */
export function jobIdOf(runId: string, stepId: string): string {
  return `${runId}.${stepId}`;
}
