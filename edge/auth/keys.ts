/**
 * API keys: `mlk_` + 256 random bits (base64url). Only the key's sha256 is stored (a
 * high-entropy key needs no slow hash); a key acts for exactly one tenant. Web Crypto only, so
 * the same code runs on Node and Workers.
 *
 * @example
 * const { key, row } = await createApiKey(store, { tenantId: "acme", name: "ci" });
 * (await findApiKey(store, key))?.tenantId; // "acme"
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import { queries } from "../../db/queries.js";
import type { Store } from "../../db/driver.js";
import { apiKeys, type ApiKeyRow } from "../../db/schema.js";
import { sha256Hex } from "../../workflows/index.js";

export const KEY_PREFIX = "mlk_";
export const TENANT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

export function generateKey(): string {
  return KEY_PREFIX + b64url(crypto.getRandomValues(new Uint8Array(32)));
}

export function newId(prefix: string, bytes = 12): string {
  return `${prefix}_${Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex")}`;
}

/** The key as listed: never the hash, never the key. */
export function presentKey(r: ApiKeyRow) {
  return { id: r.id, tenantId: r.tenantId, name: r.name, prefix: r.prefix, createdAt: r.createdAt, revokedAt: r.revokedAt };
}

/**
 * Store a key for `tenantId` (a new random key, or `key` when given — e.g. a development key
 * from the environment; storing the same key twice is a no-op that returns the existing row).
 */
export async function createApiKey(
  store: Store,
  opts: { tenantId: string; name?: string | null; key?: string; now?: number },
): Promise<{ key: string; row: ApiKeyRow }> {
  const key = opts.key ?? generateKey();
  const hash = sha256Hex(key);
  const row: ApiKeyRow = {
    id: newId("key", 8),
    tenantId: opts.tenantId,
    name: opts.name ?? null,
    prefix: key.slice(0, 12),
    hash,
    createdAt: opts.now ?? Date.now(),
    revokedAt: null,
  };
  await store.batch([store.db.insert(apiKeys).values(row).onConflictDoNothing()]);
  const [stored] = await store.db.select().from(apiKeys).where(eq(apiKeys.hash, hash));
  return { key, row: stored ?? row };
}

/** The live (not revoked) key row for a presented key, or undefined. */
export async function findApiKey(store: Store, key: string): Promise<ApiKeyRow | undefined> {
  if (!key.startsWith(KEY_PREFIX) || key.length > 200) return undefined;
  let hash = keyHashes.get(key);
  if (hash === undefined) {
    hash = sha256Hex(key);
    if (keyHashes.size >= 1024) keyHashes.delete(keyHashes.keys().next().value!);
    keyHashes.set(key, hash);
  }
  // prepared once per store (db/queries.ts): building the query cost more than running it
  const [row] = await queries(store).apiKeyByHash.all({ hash });
  return row;
}

/**
 * key text → its sha256 (a pure function, so caching it keeps no state the DB does not have:
 * revocation is still read from the DB on every request).
 */
const keyHashes = new Map<string, string>();

export async function listApiKeys(store: Store, tenantId?: string): Promise<ApiKeyRow[]> {
  return store.db
    .select()
    .from(apiKeys)
    .where(tenantId ? eq(apiKeys.tenantId, tenantId) : undefined)
    .orderBy(desc(apiKeys.createdAt))
    .limit(1000);
}

/** Revoke a key (idempotent). Undefined when there is no such key. */
export async function revokeApiKey(store: Store, id: string, now = Date.now()): Promise<ApiKeyRow | undefined> {
  await store.batch([
    store.db
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))),
  ]);
  const [row] = await store.db.select().from(apiKeys).where(eq(apiKeys.id, id));
  return row;
}

/** Constant-time string comparison (for the admin key). */
export function safeEqual(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(a.length, 1)] ?? 0) ^ b[i]!;
  return diff === 0;
}
