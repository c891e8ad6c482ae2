/**
 * Test helpers for API keys: make a tenant with a key (synchronously, for harnesses that are
 * built synchronously), and let an app treat credential-less requests as one tenant's key (the
 * tests written before API keys existed call the API without one).
 *
 * @example
 * const { key, headers } = createTenantKeySync(store, "acme");
 * await app.request("/v1/runs", { headers });
 */
import type { Store } from "../../db/driver.js";
import { sha256Hex } from "../../workflows/index.js";
import { apiKeys } from "../../db/schema.js";
import { generateKey, newId } from "../auth/keys.js";

export interface TenantKey {
  tenantId: string;
  key: string;
  keyId: string;
  headers: { authorization: string };
}

/** Store a key for `tenantId` now (better-sqlite3 only: its writes are synchronous). Idempotent per key. */
export function createTenantKeySync(store: Store, tenantId = newId("t", 6), key = generateKey()): TenantKey {
  if (store.driver !== "better-sqlite3") throw new Error("createTenantKeySync needs better-sqlite3; use createApiKey (async) elsewhere");
  const hash = sha256Hex(key);
  const id = newId("key", 8);
  // drizzle's better-sqlite3 builders run synchronously with .run()
  (
    store.db
      .insert(apiKeys)
      .values({ id, tenantId, name: "test", prefix: key.slice(0, 12), hash, createdAt: Date.now() })
      .onConflictDoNothing() as unknown as { run(): void }
  ).run();
  return { tenantId, key, keyId: id, headers: { authorization: `Bearer ${key}` } };
}

const hasCredential = (h: Headers) => h.has("authorization") || h.has("x-api-key") || /(?:^|;\s*)metalm_key=/.test(h.get("cookie") ?? "");

/**
 * Requests to `app` that carry no credential get `key` (Authorization: Bearer). Wraps `app.fetch`,
 * which `app.request` and real servers (`serve({ fetch: app.fetch })`) both go through.
 */
export function defaultKey<A extends { fetch: (req: Request, ...rest: any[]) => Response | Promise<Response> }>(app: A, key: string): A {
  const inner = app.fetch.bind(app);
  app.fetch = ((req: Request, ...rest: any[]) => {
    if (!hasCredential(req.headers)) {
      const headers = new Headers(req.headers);
      headers.set("authorization", `Bearer ${key}`);
      req = new Request(req, { headers, duplex: "half" } as RequestInit);
    }
    return inner(req, ...rest);
  }) as A["fetch"];
  return app;
}
