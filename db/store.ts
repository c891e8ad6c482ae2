/**
 * The better-sqlite3 driver (Node). The `Store` interface lives in db/driver.ts (the Workers
 * driver, D1, in db/d1.ts); Everything else talks to `Store`:
 * `db` (a drizzle database; always `await` its queries, which works on both the synchronous
 * better-sqlite3 driver and async D1) and `batch` (atomic, ordered multi-statement write).
 *
 * SQLITE_BUSY / SQLITE_LOCKED (another process holds the write lock past `busy_timeout`) are
 * retried, not surfaced: `batch` reruns its rolled-back transaction (async backoff), a single
 * statement reruns itself (see `retryBusy`), for up to `busyRetryMs` (15 s).
 *
 * D1-safe rules the rest of the code follows: atomic multi-row writes only through `batch`, at
 * most 100 bound parameters per statement, no transaction held across an `await`.
 */
import Database from "better-sqlite3";
import { drizzle as drizzleBetter } from "drizzle-orm/better-sqlite3";
import { migrate as migrateBetter } from "drizzle-orm/better-sqlite3/migrator";
import { mkdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isRawStmt, type Db, type Store } from "./driver.js";
import * as schema from "./schema.js";

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "migrations");

/**
 * Open (or create) a SQLite file with better-sqlite3 in WAL mode, apply pending migrations, and
 * wrap it as a `Store`.
 *
 * @example
 * const store = openSqliteStore("./data/metalm.sqlite");
 * await store.db.select().from(runs).limit(1);
 */
export interface SqliteStoreOptions {
  busyTimeoutMs?: number;
  busyRetryMs?: number;
  /**
   * > 0: checkpoint the WAL from a background thread (db/checkpoint-thread.mjs, its own
   * connection) every this many ms, instead of inside the commit that crosses SQLite's 1000-page
   * threshold — that commit (one in ~35 VQA creates) paid for copying ~4 MB into the database
   * file and its fsync, which set the POST p99. The commits' own automatic checkpoint stays as a
   * safety net at 10,000 pages (the thread stuck or gone). Files only, not ":memory:".
   */
  checkpointMs?: number;
}

/** Counters of the background checkpointer (see `SqliteStoreOptions.checkpointMs`). */
export interface CheckpointStats {
  runs: number;
  frames: number;
  errors: number;
}

export function openSqliteStore(file: string, opts: SqliteStoreOptions = {}): Store & { checkpoints?(): CheckpointStats } {
  const retryMs = opts.busyRetryMs ?? 15_000;
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  cacheStatements(sqlite, retryMs);
  const db = drizzleBetter(sqlite, { schema });
  migrateBetter(db, { migrationsFolder: MIGRATIONS_DIR });
  const ping = sqlite.prepare("SELECT 1 AS ok");
  const bg = opts.checkpointMs && opts.checkpointMs > 0 && file !== ":memory:" ? startCheckpointer(sqlite, file, opts.checkpointMs) : undefined;
  return {
    db: db as unknown as Db,
    driver: "better-sqlite3",
    async batch(stmts) {
      if (stmts.length === 0) return;
      const tx = sqlite.transaction(() => {
        for (const s of stmts) {
          if (isRawStmt(s)) sqlite.prepare(s.sql).run(...(s.params as unknown[]));
          else (s as unknown as { run(): unknown }).run();
        }
      });
      // SQLITE_BUSY/LOCKED past busy_timeout (or raised without waiting, e.g. BUSY_SNAPSHOT): the
      // transaction rolled back as a whole, so run it again, with backoff, without blocking
      const t0 = Date.now();
      for (let i = 0; ; i++) {
        try {
          tx();
          return;
        } catch (e) {
          if (!isBusy(e) || Date.now() - t0 > retryMs) throw e;
          await new Promise((r) => setTimeout(r, Math.min(250, 5 * 2 ** i) * (0.5 + Math.random() / 2)));
        }
      }
    },
    async ping() {
      try {
        return (ping.get() as { ok: number }).ok === 1;
      } catch {
        return false;
      }
    },
    close() {
      bg?.stop();
      if (sqlite.open) sqlite.close();
    },
    ...(bg ? { checkpoints: bg.stats } : {}),
  };
}

const CHECKPOINT_THREAD = new URL("./checkpoint-thread.mjs", import.meta.url);

function startCheckpointer(sqlite: Database.Database, file: string, intervalMs: number): { stats(): CheckpointStats; stop(): void } {
  sqlite.pragma("wal_autocheckpoint = 10000");
  const shared = new SharedArrayBuffer(12);
  const counts = new Int32Array(shared);
  const thread = new Worker(CHECKPOINT_THREAD, { workerData: { file, intervalMs, stats: shared } });
  thread.unref(); // never what keeps a process alive
  thread.on("error", (e) => {
    // it could not start or died: the commits' own checkpoint (10,000 pages) takes over
    console.error(JSON.stringify({ msg: "sqlite: background checkpointer stopped; commits checkpoint again", error: e.message }));
    if (sqlite.open) sqlite.pragma("wal_autocheckpoint = 1000");
  });
  return {
    stats: () => ({ runs: Atomics.load(counts, 0), frames: Atomics.load(counts, 1), errors: Atomics.load(counts, 2) }),
    stop: () => thread.postMessage("stop"),
  };
}

/** SQLITE_BUSY* / SQLITE_LOCKED*: another connection holds the lock; trying again later is safe. */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * A single statement outside a transaction that meets a busy database did nothing: retry it (with
 * backoff, up to `retryMs`), as SQLite's own busy handler would — synchronously, like
 * better-sqlite3 itself. Inside a transaction the error propagates and `batch` retries the whole
 * transaction.
 */
function retryBusy(sqlite: Database.Database, st: Database.Statement, retryMs: number): void {
  for (const m of ["run", "get", "all"] as const) {
    const orig = (st[m] as (...a: unknown[]) => unknown).bind(st);
    (st as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
      const t0 = Date.now();
      for (let i = 0; ; i++) {
        try {
          return orig(...args);
        } catch (e) {
          if (!isBusy(e) || sqlite.inTransaction || Date.now() - t0 > retryMs) throw e;
          sleepSync(Math.min(100, 2 * 2 ** i));
        }
      }
    };
  }
}

/**
 * Reuse compiled statements: drizzle asks better-sqlite3 to `prepare` every query it runs, and
 * compiling SQL was the largest single cost of a request. Statements are keyed by SQL text (a
 * bounded LRU); a reused reader is reset to object rows, since drizzle toggles `raw()` per call.
 */
function cacheStatements(sqlite: Database.Database, retryMs: number, max = 512): void {
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
    retryBusy(sqlite, st, retryMs);
    cache.set(source, st);
    if (cache.size > max) cache.delete(cache.keys().next().value!);
    return st;
  }) as typeof sqlite.prepare;
}
