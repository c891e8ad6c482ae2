/**
 * Node entrypoint (the embedded default): SQLite file under DATA_DIR, the app on PORT, a sweep
 * timer for expired leases, and a local pool of gpu-workers on loopback with a generated pool
 * token.
 *
 * Env: PORT (8787), HOST (127.0.0.1 — 0.0.0.0 to expose), DATA_DIR (./data), POOL_TOKEN
 * (generated when unset), WORKERS (local workers; default: gpu-worker's default pool size,
 * 0 = none), LEASE_MS (30000), RUN_TIMEOUT_MS (600000: a run's deadline unless its spec sets
 * `timeoutMs`); ADMIN_KEY and DEV_API_KEY (edge/auth/local.ts: generated and kept
 * under DATA_DIR when unset); limits, rate limit and webhook settings (edge/limits/env.ts).
 * A webhook dispatcher runs in this process (edge/webhooks/dispatcher.ts). MIN_FREE_DISK_BYTES
 * (32 MiB): free space kept under DATA_DIR (edge/storage/health.ts); memory budgets:
 * VIEW_CACHE_BYTES, VIEW_CACHE_ENTRY_BYTES, RATE_BUCKET_BYTES, MEMORY_LIMIT_MB (edge/limits/memory.ts).
 * SQLITE_CHECKPOINT_MS (250; 0 = SQLite's own, inside the commit that crosses 1000 WAL pages): how
 * often a background thread checkpoints the WAL (db/store.ts `checkpointMs`).
 */
import { serve } from "@hono/node-server";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "../db/store.js";
import { createApp } from "./app.js";
import { localKeys, type LocalKeys } from "./auth/local.js";
import { sweepExpired } from "./engine/results.js";
import { limitsFromEnv, memoryFromEnv, num, rateLimitFromEnv, webhooksFromEnv } from "./limits/env.js";
import { StorageHealth, storageErrorCode } from "./storage/health.js";
import { freeBytes } from "./storage/statfs.js";
import { newToken } from "./lib/ids.js";
import { checkDataDir, DataDirError } from "./storage/data-dir.js";
import { startDispatcher } from "./webhooks/dispatcher.js";
import { nodeTransport } from "./webhooks/transport-node.js";

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<LocalKeys> {
  const port = Number(env.PORT ?? 8787);
  const host = env.HOST ?? "127.0.0.1";
  const dataDir = env.DATA_DIR ?? "./data";
  const poolToken = env.POOL_TOKEN || newToken();
  checkDataDir(dataDir);
  // the WAL is checkpointed by a background thread, not inside a request's commit (db/store.ts)
  const store = openSqliteStore(join(dataDir, "metalm.sqlite"), { checkpointMs: num(env.SQLITE_CHECKPOINT_MS) ?? 250 });
  const storage = new StorageHealth({ freeBytes: () => freeBytes(dataDir), minFreeBytes: num(env.MIN_FREE_DISK_BYTES) });
  const keys = await localKeys(store, env, dataDir);
  const webhooks = { ...webhooksFromEnv(env), transport: nodeTransport };
  const app = createApp({
    store,
    poolToken,
    leaseMs: env.LEASE_MS ? Number(env.LEASE_MS) : undefined,
    runTimeoutMs: env.RUN_TIMEOUT_MS ? Number(env.RUN_TIMEOUT_MS) : undefined,
    adminKey: keys.adminKey,
    limits: limitsFromEnv(env),
    rateLimit: rateLimitFromEnv(env),
    webhooks,
    memory: memoryFromEnv(env),
    storage,
  });
  if (keys.adminKeyCreated || keys.devKeyCreated)
    console.log(
      JSON.stringify({
        msg: "generated keys (kept under DATA_DIR)",
        adminKey: keys.adminKeyCreated ? keys.adminKey : undefined,
        devApiKey: keys.devKeyCreated ? keys.devKey : undefined,
      }),
    );
  const stopDispatcher = startDispatcher({ store: app.engine.store, now: app.engine.now, storage }, webhooks);
  const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
    console.log(JSON.stringify({ msg: "edge listening", url: `http://${host}:${info.port}`, dataDir }));
  });
  // DB-driven, so any instance may run it; the lease long-poll also sweeps on every call.
  // a full disk fails every sweep: reported to the storage state (logged once), not once a second
  const sweep = setInterval(
    () =>
      void sweepExpired(app.engine).catch((e) => {
        const code = storageErrorCode(e);
        if (code) storage.writeFailed(code);
        else console.error("[edge] sweep", e);
      }),
    1000,
  );
  sweep.unref();

  let pool: { stop(): Promise<void> } | undefined;
  const nWorkers = env.WORKERS === undefined ? undefined : Number(env.WORKERS);
  if (nWorkers !== 0) {
    try {
      const { startSupervisor } = await import("../gpu-worker/src/worker/supervisor.js");
      pool = startSupervisor({
        ...(nWorkers !== undefined ? { workers: nWorkers } : {}),
        env: { EDGE_URL: `http://127.0.0.1:${port}`, POOL_TOKEN: poolToken },
      });
    } catch (e) {
      console.error(JSON.stringify({ msg: "local workers not started", error: String(e) }));
    }
  }
  const stop = async () => {
    clearInterval(sweep);
    await pool?.stop();
    await stopDispatcher();
    server.close();
    store.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
  return keys;
}

/** Start-up errors the operator can fix (a read-only DATA_DIR): one clear line, exit 1, no stack. */
export function exitOnStartupError(e: unknown): never {
  if (e instanceof DataDirError) console.error(JSON.stringify({ msg: "cannot start", error: e.message, dataDir: e.dir }));
  else console.error(e);
  process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main().catch(exitOnStartupError);
