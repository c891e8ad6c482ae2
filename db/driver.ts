/**
 * The driver-neutral half of the storage seam: the `Store` interface the engine talks to, and
 * helpers that work on every driver. Nothing here imports a driver, so the Workers bundle
 * (edge/cloudflare/main.ts → db/d1.ts) never pulls in better-sqlite3 or node:fs.
 *
 * Drivers: `openSqliteStore` (db/store.ts, better-sqlite3, Node) and `openD1Store` (db/d1.ts,
 * Cloudflare D1). Both pass the same suite (db/suite/).
 *
 * D1-safe rules the rest of the code follows: atomic multi-row writes only through `batch`, at
 * most 100 bound parameters per statement, no transaction held across an `await`.
 */
import type { BatchItem } from "drizzle-orm/batch";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema.js";

export type Schema = typeof schema;
// biome-ignore lint/suspicious/noExplicitAny: drizzle's result kind differs per driver (better-sqlite3 vs D1)
export type Db = BaseSQLiteDatabase<"sync" | "async", any, Schema>;
/**
 * A statement as SQL text + bound parameters (already in driver form: JSON as text, booleans as
 * 0/1). The engine's per-commit writes are built this way (db/rows.ts, db/queries.ts) because
 * building a drizzle query costs more than SQLite takes to run it; the text is fixed per shape, so
 * better-sqlite3 compiles it once (db/store.ts keeps compiled statements) and D1 binds it.
 */
export interface RawStmt {
  readonly raw: true;
  readonly sql: string;
  readonly params: readonly unknown[];
}
/** One write of an atomic batch: a drizzle query or a raw statement. */
export type Stmt = BatchItem<"sqlite"> | RawStmt;

export const rawStmt = (sql: string, params: readonly unknown[]): RawStmt => ({ raw: true, sql, params });
export const isRawStmt = (s: Stmt): s is RawStmt => (s as Partial<RawStmt>).raw === true;

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

/** Walk an error and its `cause` chain for a message fragment (drizzle wraps driver errors). */
export function errorMentions(err: unknown, fragment: string): boolean {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if (String((e as { message?: unknown }).message ?? e).includes(fragment)) return true;
  }
  return false;
}
