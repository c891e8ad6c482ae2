/**
 * The slice of `cloudflare:test` (@cloudflare/vitest-pool-workers) these tests use. Declared here
 * rather than by loading @cloudflare/workers-types globally, whose globals clash with the DOM and
 * Node types the rest of the repo is checked with.
 */
declare module "cloudflare:test" {
  import type { D1Database, DurableObjectNamespace, Fetcher } from "@cloudflare/workers-types";
  export interface D1Migration {
    name: string;
    queries: string[];
  }
  export const env: {
    DB: D1Database;
    POOL_HUB: DurableObjectNamespace;
    POOL_TOKEN: string;
    ADMIN_KEY: string;
    /** test/workers/hook-sink.ts: what the Worker's outbound fetches delivered. */
    HOOKS: Fetcher;
    TEST_MIGRATIONS: D1Migration[];
  };
  /** The `main` Worker of wrangler.toml (edge/cloudflare/main.ts), called through its real fetch handler. */
  export const SELF: Fetcher;
  export function applyD1Migrations(db: D1Database, migrations: D1Migration[], migrationsTableName?: string): Promise<void>;
}
