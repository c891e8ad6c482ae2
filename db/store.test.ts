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

  it("checkpoints the WAL from a background thread (checkpointMs), not in the commits, and stops it on close", async () => {
    store.close();
    const file = join(dir, "bg.sqlite");
    const bg = openSqliteStore(file, { checkpointMs: 20 });
    try {
      expect(await autocheckpoint(bg)).toBe(10_000); // the commits' own checkpoint is only the safety net
      for (let i = 0; i < 50; i++) await bg.batch([bg.db.insert(runs).values(run(`r${i}`))]);
      const deadline = Date.now() + 5_000;
      while (bg.checkpoints!().frames === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const after = bg.checkpoints!();
      expect(after.frames).toBeGreaterThan(0);
      expect(after.errors).toBe(0);
      // everything in the WAL is in the database file already: a checkpoint here copies nothing new
      const [c] = (await bg.db.all(sql`PRAGMA wal_checkpoint(PASSIVE)`)) as { log: number; checkpointed: number }[];
      expect(c!.checkpointed).toBe(c!.log);
      expect(await bg.db.select().from(runs)).toHaveLength(50);
    } finally {
      bg.close();
    }
    const runsAtClose = bg.checkpoints!().runs;
    await new Promise((r) => setTimeout(r, 150));
    expect(bg.checkpoints!().runs - runsAtClose).toBeLessThanOrEqual(1); // one tick may have been under way
    store = openSqliteStore(join(dir, "x.sqlite"));
    expect(await autocheckpoint(store)).toBe(1000); // without checkpointMs: SQLite's default, in the commits
    expect((store as { checkpoints?: unknown }).checkpoints).toBeUndefined();
  });
});

/** The connection's `wal_autocheckpoint` (pages). */
const autocheckpoint = async (s: Store) => Object.values(((await s.db.all(sql`PRAGMA wal_autocheckpoint`)) as Record<string, number>[])[0]!)[0];
