/**
 * The better-sqlite3 driver (Node). The `Store` interface lives in db/driver.ts (the Workers
 * driver, D1, in db/d1.ts); it is re-exported here for existing imports. Everything else talks to `Store`:
 * `db` (a drizzle database; always `await` its queries, which works on both the synchronous
 * better-sqlite3 driver and async D1) and `batch` (atomic, ordered multi-statement write).
 *
 * D1-safe rules the rest of the code follows: atomic multi-row writes only through `batch`, at
 * most 100 bound parameters per statement, no transaction held across an `await`.
 */
import Database from "better-sqlite3";
import { drizzle as drizzleBetter } from "drizzle-orm/better-sqlite3";
import { migrate as migrateBetter } from "drizzle-orm/better-sqlite3/migrator";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Db, Store } from "./driver.js";
import * as schema from "./schema.js";

export { errorMentions, type Db, type Schema, type Stmt, type Store } from "./driver.js";

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "migrations");

/**
 * Open (or create) a SQLite file with better-sqlite3 in WAL mode, apply pending migrations, and
 * wrap it as a `Store`.
 *
 * @example
 * const store = openSqliteStore("./data/metalm.sqlite");
 * await store.db.select().from(runs).limit(1);
 */
export function openSqliteStore(file: string, opts: { busyTimeoutMs?: number } = {}): Store {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  cacheStatements(sqlite);
  const db = drizzleBetter(sqlite, { schema });
  migrateBetter(db, { migrationsFolder: MIGRATIONS_DIR });
  const ping = sqlite.prepare("SELECT 1 AS ok");
  return {
    db: db as unknown as Db,
    driver: "better-sqlite3",
    async batch(stmts) {
      if (stmts.length === 0) return;
      sqlite.transaction(() => {
        for (const s of stmts) (s as unknown as { run(): unknown }).run();
      })();
    },
    async ping() {
      try {
        return (ping.get() as { ok: number }).ok === 1;
      } catch {
        return false;
      }
    },
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}

/**
 * Reuse compiled statements: drizzle asks better-sqlite3 to `prepare` every query it runs, and
 * compiling SQL was the largest single cost of a request. Statements are keyed by SQL text (a
 * bounded LRU); a reused reader is reset to object rows, since drizzle toggles `raw()` per call.
 */
function cacheStatements(sqlite: Database.Database, max = 512): void {
  const cache = new Map<string, Database.Statement>();
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((source: string) => {
    let st = cache.get(source);
    if (st) {
      cache.delete(source);
      cache.set(source, st);
      if (st.reader) st.raw(false);
      return st;
    }
    st = prepare(source);
    cache.set(source, st);
    if (cache.size > max) cache.delete(cache.keys().next().value!);
    return st;
  }) as typeof sqlite.prepare;
}
