/**
 * Row writes as raw statements (`RawStmt`), from drizzle's own table metadata: column names and
 * each column's `mapToDriverValue` (JSON → text, boolean → 0/1), so a row is written exactly as a
 * drizzle insert/update would write it. Why not the drizzle builder: an engine commit is 10–20
 * writes, and building them through drizzle's query tree cost more CPU than SQLite spent running
 * them (bench/e2e.ts, docs/CONTRACTS.md §4). The SQL text depends only on the table and the set of
 * columns written, so better-sqlite3 compiles each shape once (db/store.ts) and D1 just binds it.
 *
 * @example
 * await store.batch([updateRow(steps, { status: "running" }, { runId, stepId })]);
 */
import { getTableColumns, getTableName, type Table } from "drizzle-orm";
import { rawStmt, type RawStmt } from "./driver.js";

interface Column {
  /** The quoted SQL column name. */
  sql: string;
  encode(v: unknown): unknown;
}

const metaCache = new WeakMap<Table, { name: string; cols: Map<string, Column> }>();

function meta(table: Table) {
  let m = metaCache.get(table);
  if (!m) {
    const cols = new Map<string, Column>();
    for (const [key, col] of Object.entries(getTableColumns(table))) {
      cols.set(key, { sql: `"${col.name}"`, encode: (v) => (v === null || v === undefined ? null : col.mapToDriverValue(v)) });
    }
    metaCache.set(table, (m = { name: `"${getTableName(table)}"`, cols }));
  }
  return m;
}

function column(table: Table, key: string): Column {
  const c = meta(table).cols.get(key);
  if (!c) throw new Error(`table ${getTableName(table)} has no column ${key}`);
  return c;
}

/**
 * `UPDATE table SET … WHERE k = ? AND …`: the keys of `patch` that are not `undefined`, matched on
 * every key of `where` (typically the primary key).
 */
export function updateRow<T extends Table>(table: T, patch: Partial<T["$inferInsert"]>, where: Partial<T["$inferSelect"]>): RawStmt {
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const c = column(table, k);
    sets.push(`${c.sql} = ?`);
    params.push(c.encode(v));
  }
  if (!sets.length) throw new Error(`empty update of ${getTableName(table)}`);
  const conds: string[] = [];
  for (const [k, v] of Object.entries(where)) {
    const c = column(table, k);
    conds.push(`${c.sql} = ?`);
    params.push(c.encode(v));
  }
  return rawStmt(`UPDATE ${meta(table).name} SET ${sets.join(", ")} WHERE ${conds.join(" AND ")}`, params);
}

/**
 * `INSERT INTO table (…) VALUES (…), (…)`, the columns of the first row (every row must set the
 * same keys; `undefined` is written as NULL). Callers keep rows × columns ≤ 100 (D1's bound).
 */
export function insertRows<T extends Table>(table: T, rows: readonly T["$inferInsert"][], opts: { onConflictDoNothing?: boolean } = {}): RawStmt {
  if (!rows.length) throw new Error(`empty insert into ${getTableName(table)}`);
  const keys = Object.keys(rows[0]!).filter((k) => (rows[0] as Record<string, unknown>)[k] !== undefined);
  const cols = keys.map((k) => column(table, k));
  const params: unknown[] = [];
  for (const r of rows) cols.forEach((c, i) => params.push(c.encode((r as Record<string, unknown>)[keys[i]!])));
  const one = `(${cols.map(() => "?").join(", ")})`;
  return rawStmt(
    `INSERT INTO ${meta(table).name} (${cols.map((c) => c.sql).join(", ")}) VALUES ${rows.map(() => one).join(", ")}${opts.onConflictDoNothing ? " ON CONFLICT DO NOTHING" : ""}`,
    params,
  );
}

/** The driver form of one value of a column (what `updateRow` binds). */
export function encodeValue<T extends Table>(table: T, key: keyof T["$inferSelect"] & string, v: unknown): unknown {
  return column(table, key).encode(v);
}
