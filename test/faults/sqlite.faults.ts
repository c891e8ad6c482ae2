/**
 * SQLite busy: another PROCESS holds the database's write lock (BEGIN EXCLUSIVE) for far longer
 * than the edge's busy_timeout while runs are created, results posted and workers register. Every
 * request waits and succeeds (the store retries SQLITE_BUSY): nothing is lost, no 5xx.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../db/driver.js";
import { openSqliteStore } from "../../db/store.js";
import { createApp, type EdgeApp } from "../../edge/app.js";
import { call, lease, okResult, pngDataUrl, POOL_TOKEN, postResults, register, vqa } from "../../edge/testing/harness.js";
import { createTenantKeySync, defaultKey } from "../../edge/testing/tenants.js";
import { REPO } from "./procs.js";

let dir: string;
let store: Store;
let app: EdgeApp;
const LOCK_MS = 1_500;

/** A separate process that takes the write lock, says "locked", and releases it after `ms`. */
function holdLock(file: string, ms: number): Promise<{ released: Promise<void> }> {
  const script = `
    const Database = require("better-sqlite3");
    const db = new Database(${JSON.stringify(file)});
    db.pragma("busy_timeout = 5000");
    db.exec("BEGIN EXCLUSIVE");
    db.prepare("UPDATE workers SET last_seen_at = last_seen_at").run();
    process.stdout.write("locked\\n");
    setTimeout(() => { db.exec("COMMIT"); db.close(); process.stdout.write("released\\n"); }, ${ms});
  `;
  const child = spawn(process.execPath, ["-e", script], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const released = new Promise<void>((r) => child.once("exit", () => r()));
  return new Promise((resolve) =>
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("locked")) resolve({ released });
    }),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "faults-sqlite-"));
  // busy_timeout far below the lock: SQLite's own wait gives up, the store's retry must not
  store = openSqliteStore(join(dir, "metalm.sqlite"), { busyTimeoutMs: 20 });
  app = defaultKey(createApp({ store, poolToken: POOL_TOKEN, rateLimit: false }), createTenantKeySync(store, "local").key);
  await register(app);
});
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SQLite busy / locked", () => {
  it("requests during another process's long write lock wait and succeed; nothing is lost", async () => {
    const lock = await holdLock(join(dir, "metalm.sqlite"), LOCK_MS);
    const t0 = Date.now();
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: `q${i}` } } })),
    );
    const waited = Date.now() - t0;
    await lock.released;
    expect(created.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(waited).toBeGreaterThanOrEqual(LOCK_MS - 300);
    // results posted while locked again are applied once
    const jobs = await lease(app, "w1", 64, 0);
    expect(jobs.length).toBeGreaterThan(0);
    const again = await holdLock(join(dir, "metalm.sqlite"), LOCK_MS);
    const res = await postResults(
      app,
      "w1",
      jobs.map((j) => okResult(j)),
    );
    await again.released;
    expect(res.status).toBe(200);
    expect(res.body.accepted).toHaveLength(jobs.length);
    const list = await call(app, "/v1/runs?limit=100");
    expect(list.body.runs).toHaveLength(20);
    console.log(
      `[faults] sqlite busy: ${created.length} creates waited ${waited} ms behind a ${LOCK_MS} ms lock (busy_timeout 20 ms), ${jobs.length} results applied, 0 lost`,
    );
  }, 60_000);
});
