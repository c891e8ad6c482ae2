/**
 * The Cloudflare D1 driver (Workers). Same schema, same `Store` contract as better-sqlite3:
 * `batch` maps onto `D1Database.batch`, which D1 runs as one implicit transaction (all or
 * nothing). Migrations are NOT applied here: on D1 they are applied ahead of time by
 * `wrangler d1 migrations apply` from the same generated SQL in db/migrations/ (see wrangler.toml).
 *
 * @example
 * // in a Worker: env.DB is the D1 binding from wrangler.toml
 * const store = openD1Store(env.DB);
 * await store.db.select().from(runs).limit(1);
 */
import type { D1Database } from "@cloudflare/workers-types";
import { drizzle } from "drizzle-orm/d1";
import type { Db, Stmt, Store } from "./driver.js";
import { isRawStmt } from "./driver.js";
import * as schema from "./schema.js";

export function openD1Store(d1: D1Database): Store {
  const db = drizzle(d1, { schema });
  return {
    db: db as unknown as Db,
    driver: "d1",
    async batch(stmts) {
      if (stmts.length === 0) return;
      // drizzle's D1 batch is typed as a non-empty tuple
      if (!stmts.some(isRawStmt)) return void (await db.batch(stmts as unknown as [Stmt, ...Stmt[]] as never));
      // raw statements: the whole batch as D1 statements (drizzle queries through their SQL), one
      // implicit transaction as before
      await d1.batch(
        stmts.map((s) => {
          const q = isRawStmt(s) ? s : (s as unknown as { toSQL(): { sql: string; params: unknown[] } }).toSQL();
          return d1.prepare(q.sql).bind(...q.params);
        }),
      );
    },
    async ping() {
      try {
        const row = await d1.prepare("SELECT 1 AS ok").first<{ ok: number }>();
        return row?.ok === 1;
      } catch {
        return false;
      }
    },
    close() {
      // a D1 binding has no connection to close
    },
  };
}
