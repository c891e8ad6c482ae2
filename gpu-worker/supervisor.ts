/**
 * Starts a pool of gpu-worker processes: `npx tsx gpu-worker/pool.ts [N]` (default max(1, cores / 2)),
 * restarting any that crash. Worker configuration comes from the environment (src/worker/config.ts).
 */
import { jsonLog } from "./src/worker/log.js";
import { defaultPoolSize, startPool } from "./src/worker/pool.js";

const n = Number(process.argv[2] ?? process.env.POOL_SIZE ?? defaultPoolSize());
const log = jsonLog({ component: "pool" });
const pool = startPool({ workers: n, log, metricsPortBase: process.env.METRICS_PORT_BASE ? Number(process.env.METRICS_PORT_BASE) : 0 });
log.info("pool started", { workers: pool.size });
let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void pool.stop().then(() => process.exit(0));
  });
}
