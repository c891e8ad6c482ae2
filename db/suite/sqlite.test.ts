/** The DB suite (db/suite/store-suite.ts) on better-sqlite3: a fresh in-memory database per test. */
import { afterEach } from "vitest";
import type { Store } from "../driver.js";
import { openSqliteStore } from "../store.js";
import { defineStoreSuite } from "./store-suite.js";

/** Test name → why it does not apply to better-sqlite3. */
export const SQLITE_SKIPS: Record<string, string> = {
  "a statement with 101 bound parameters is refused (the engine stays at ≤ 100)":
    "better-sqlite3's SQLite allows 32,766 variables; D1 allows 100, so this limit is only enforced (and the engine's paths checked against it) in the D1 run",
  "wrangler recorded the applied migrations in d1_migrations":
    "on Node drizzle's migrator applies db/migrations (tracked in __drizzle_migrations); wrangler is not involved",
};

const open: Store[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

defineStoreSuite("better-sqlite3", {
  fresh: async () => {
    const s = openSqliteStore(":memory:");
    open.push(s);
    return s;
  },
  skip: SQLITE_SKIPS,
});
