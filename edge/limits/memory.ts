/**
 * Edge memory, bounded in bytes (issue 15). Every in-memory cache and queue of the edge has a byte
 * budget (config below, exported on /metrics with its current size):
 *
 * - run views (`GET /v1/runs/:id` answers, by rev): `VIEW_CACHE_BYTES` (32 MiB); a view over
 *   `VIEW_CACHE_ENTRY_BYTES` (1 MiB) — a run with a large spec or outputs — is never cached, it is
 *   rebuilt from the database on each read (the database is the truth anyway);
 * - rate-limit buckets: `RATE_BUCKET_BYTES` (4 MiB, ~26,000 keys);
 * - checked specs (`POST /v1/runs`: a spec that passed validation against a catalog, by its JSON
 *   text, edge/lib/spec-cache.ts): 4 MiB; a spec over 64 KiB of JSON is validated anew each time;
 * - fixed small maps elsewhere: API-key hashes (1,024 entries of ≤ 200 + 64 chars, edge/auth/keys.ts),
 *   compiled statements (512, SQL text only, db/store.ts), notifier waiters (one per open request).
 *
 * And a backstop: while the process's resident memory is over `MEMORY_LIMIT_MB` (512 in the Node
 * entry point; off for an app embedded elsewhere), requests
 * that carry a body (uploads, new runs) are answered `503 memory_pressure` before they are read,
 * so a burst of large requests cannot push the edge further; reads are still served.
 *
 * @example
 * const mem = memoryConfig({ viewCacheBytes: 8 << 20 }); // the rest default
 */
import type { Ctx } from "../context.js";
import { ByteLru } from "../lib/byte-lru.js";
import { apiError } from "../lib/errors.js";
import { newSpecCache, type SpecCache } from "../lib/spec-cache.js";

export interface MemoryConfig {
  viewCacheBytes: number;
  viewCacheEntryBytes: number;
  rateBucketBytes: number;
  /** Resident-set bound (bytes) above which body-carrying requests get 503; 0 = off. */
  rssLimitBytes: number;
}

export const DEFAULT_MEMORY: MemoryConfig = {
  viewCacheBytes: 32 << 20,
  viewCacheEntryBytes: 1 << 20,
  rateBucketBytes: 4 << 20,
  // off in the library default (an app inside a test runner shares its process); the Node entry
  // point turns it on: MEMORY_LIMIT_MB, default 512 (edge/limits/env.ts)
  rssLimitBytes: 0,
};

/** The RSS bound `edge/node.ts` applies unless MEMORY_LIMIT_MB says otherwise. */
export const DEFAULT_NODE_RSS_LIMIT_BYTES = 512 << 20;

export const memoryConfig = (m: Partial<MemoryConfig> = {}): MemoryConfig => ({ ...DEFAULT_MEMORY, ...m });

/** The edge's caches (one set per app). */
export interface EdgeCaches {
  /** Serialized run views keyed by run id, valid for one `rev` (edge/routes/runs.ts). */
  runViews: ByteLru<{ rev: number; json: string }>;
  /** Specs that passed validation, by tenant + catalog + spec JSON (edge/lib/spec-cache.ts). */
  specs: SpecCache;
}

export function edgeCaches(m: MemoryConfig): EdgeCaches {
  // a JS string costs up to 2 bytes a character (two-byte representation): count the upper bound
  return { runViews: new ByteLru(m.viewCacheBytes, (v) => 2 * v.json.length + 64, m.viewCacheEntryBytes), specs: newSpecCache() };
}

/** This process's resident set in bytes, or undefined where there is no process (Workers). */
export function rssBytes(): number | undefined {
  try {
    return typeof process !== "undefined" && typeof process.memoryUsage?.rss === "function" ? process.memoryUsage.rss() : undefined;
  } catch {
    return undefined;
  }
}

/** 503 before reading a request body while the process is over its memory bound. */
export function checkMemory(c: Ctx, m: MemoryConfig): void {
  if (!m.rssLimitBytes) return;
  const rss = rssBytes();
  if (rss === undefined || rss <= m.rssLimitBytes) return;
  throw apiError(
    503,
    "memory_pressure",
    `the edge is over its memory bound (${Math.round(rss / 2 ** 20)} of ${Math.round(m.rssLimitBytes / 2 ** 20)} MiB); try again shortly`,
    { rssBytes: rss, limitBytes: m.rssLimitBytes, path: c.req.path },
    {
      "Retry-After": "5",
    },
  );
}
