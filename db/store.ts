/**
 * The one place that knows which SQLite driver is underneath. Everything else talks to `Store`:
 * `db` (a drizzle database; always `await` its queries, which works on both the synchronous
 * better-sqlite3 driver and async D1) and `batch` (atomic, ordered multi-statement write).
 *
 * D1-safe rules the rest of the code follows: atomic multi-row writes only through `batch`, at
 * most 100 bound parameters per statement, no transaction held across an `await`.
 */
import Database from "better-sqlite3";
import { drizzle as drizzleBetter } from "drizzle-orm/better-sqlite3";
import { migrate as migrateBetter } from "drizzle-orm/better-sqlite3/migrator";
import type { BatchItem } from "drizzle-orm/batch";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as schema from "./schema.js";

export type Schema = typeof schema;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = BaseSQLiteDatabase<"sync" | "async", any, Schema>;
export type Stmt = BatchItem<"sqlite">;

export interface Store {
  readonly db: Db;
  readonly driver: "better-sqlite3" | "d1";
  /**
   * Run `stmts` in order as one atomic unit (better-sqlite3: a synchronous transaction; D1:
   * `db.batch`). If any statement throws, none takes effect, and the error propagates.
   */
  batch(stmts: readonly Stmt[]): Promise<void>;
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<boolean>;
  close(): void;
}

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

/** Walk an error and its `cause` chain for a message fragment (drizzle wraps driver errors). */
export function errorMentions(err: unknown, fragment: string): boolean {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if (String((e as { message?: unknown }).message ?? e).includes(fragment)) return true;
  }
  return false;
}
