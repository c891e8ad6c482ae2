/**
 * Starts N gpu-worker processes under a supervisor: `npx tsx gpu-worker/supervisor.ts [N]`
 * (default max(1, cores / 2)), restarting any that crash. Worker configuration comes from the
 * environment (src/worker/config.ts).
 */
import { jsonLog } from "./src/worker/log.js";
import { defaultWorkerCount, startSupervisor } from "./src/worker/supervisor.js";

const n = Number(process.argv[2] ?? process.env.POOL_SIZE ?? defaultWorkerCount());
const log = jsonLog({ component: "supervisor" });
const pool = startSupervisor({ workers: n, log, metricsPortBase: process.env.METRICS_PORT_BASE ? Number(process.env.METRICS_PORT_BASE) : 0 });
log.info("supervisor started", { workers: pool.size });
let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void pool.stop().then(() => process.exit(0));
  });
}
