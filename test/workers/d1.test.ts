/**
 * The DB suite (db/suite/store-suite.ts) on Cloudflare D1, inside workerd
 * (`npm run test:workers`, project "d1"). Migrations: the same db/migrations/*.sql that
 * `wrangler d1 migrations apply` uses, applied the same way (tracked in `d1_migrations`).
 */
import { applyD1Migrations, env } from "cloudflare:test";
import { beforeAll } from "vitest";
import { openD1Store } from "../../db/d1.js";
import { defineStoreSuite, wipe } from "../../db/suite/store-suite.js";

/** Test name → why it does not apply to D1. */
export const D1_SKIPS: Record<string, string> = {
  "the database runs in WAL mode with a busy timeout":
    "D1 owns journaling and locking (a single writer per database); PRAGMA journal_mode/busy_timeout are not settable from a Worker",
};

const store = openD1Store(env.DB);
beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
});

defineStoreSuite("d1", {
  fresh: async () => {
    await wipe(store); // one D1 database per test file: every test starts from empty tables
    return store;
  },
  skip: D1_SKIPS,
});
