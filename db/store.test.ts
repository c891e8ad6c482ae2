/**
 * The storage adapter on better-sqlite3: migrations, WAL, atomic batches, and the optimistic
 * rev guard the engine relies on (a stale commit rolls back entirely).
 */
import { eq, sql } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isRevConflict, revGuard, jobGuard, isJobConflict } from "../edge/engine/commit.js";
import { jobs, runEvents, runs } from "./schema.js";
import { openSqliteStore, type Store } from "./store.js";

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

  it("batch is all or nothing", async () => {
    await expect(
      store.batch([store.db.insert(runs).values(run("r1")), store.db.insert(runs).values(run("r1"))]),
    ).rejects.toThrow();
    expect(await store.db.select().from(runs)).toHaveLength(0);
  });

  it("the rev guard rolls back a commit computed from a stale snapshot", async () => {
    await store.batch([store.db.insert(runs).values(run("r1"))]);
    const ev = (type: string) => store.db.insert(runEvents).values({ runId: "r1", type, data: {}, createdAt: 1 });
    await store.batch([revGuard(store, "r1", 0, 2), ev("first")]);
    const stale = store.batch([revGuard(store, "r1", 0, 3), ev("stale")]);
    await expect(stale).rejects.toSatisfy(isRevConflict);
    const [r] = await store.db.select().from(runs).where(eq(runs.id, "r1"));
    expect(r!.rev).toBe(1);
    expect((await store.db.select().from(runEvents)).map((e) => e.type)).toEqual(["first"]);
  });

  it("the job guard applies an outcome only under the current lease", async () => {
    await store.batch([
      store.db.insert(jobs).values({
        id: "j1", runId: "r1", stepId: "s", stepIdx: 0, model: "m", op: "encode", payload: {} as never, status: "leased", leaseId: "L1",
        maxAttempts: 3, backoffMs: 0, timeoutMs: 1000, availableAt: 0, createdAt: 0, updatedAt: 0,
      }),
    ]);
    await expect(store.batch([jobGuard(store, "j1", "L0", { status: "done" })])).rejects.toSatisfy(isJobConflict);
    await store.batch([jobGuard(store, "j1", "L1", { status: "done" })]);
    const [j] = await store.db.select().from(jobs);
    expect(j!.status).toBe("done");
    await expect(store.batch([jobGuard(store, "j1", "L1", { status: "done" })])).rejects.toSatisfy(isJobConflict);
  });
});
