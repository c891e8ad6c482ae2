/**
 * The storage adapter on a better-sqlite3 FILE: WAL, re-opening without re-migrating, tenant
 * defaults. Atomic batches and the rev / job guards are in the two-driver suite
 * (db/suite/store-suite.ts), which runs on better-sqlite3 in `npm test` and on D1 in workerd.
 */
import { sql } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runs } from "./schema.js";
import type { Store } from "./driver.js";
import { openSqliteStore } from "./store.js";

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "db-test-"));
  store = openSqliteStore(join(dir, "x.sqlite"));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (id: string) => ({
  id,
  spec: { inputs: {}, steps: [], outputs: {} } as never,
  inputs: {},
  catalog: {},
  status: "queued" as const,
  createdAt: 1,
  updatedAt: 1,
});

describe("openSqliteStore", () => {
  it("uses WAL with a busy timeout, and re-opening re-applies no migration", async () => {
    const mode = (await store.db.all(sql`PRAGMA journal_mode`)) as { journal_mode: string }[];
    expect(mode[0]!.journal_mode).toBe("wal");
    const bt = (await store.db.all(sql`PRAGMA busy_timeout`)) as Record<string, number>[];
    expect(Object.values(bt[0]!)[0]).toBeGreaterThan(0);
    await store.batch([store.db.insert(runs).values(run("r1"))]);
    store.close();
    store = openSqliteStore(join(dir, "x.sqlite"));
    expect(await store.db.select().from(runs)).toHaveLength(1);
    expect(await store.ping()).toBe(true);
  });

  it("defaults the tenant to 'local' on owned rows", async () => {
    await store.batch([store.db.insert(runs).values(run("r1"))]);
    const [r] = await store.db.select().from(runs);
    expect(r!.tenantId).toBe("local");
    expect(r!.tags).toEqual([]);
  });
});
