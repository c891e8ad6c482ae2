/**
 * Worker process entry: config from the environment, start, serve /healthz + /metrics, stop
 * gracefully on SIGTERM/SIGINT (a repeated signal exits at once).
 */
import { configFromEnv } from "./config.js";
import { jsonLog } from "./log.js";
import { startHealthServer } from "./server.js";
import { Worker } from "./worker.js";

export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  const cfg = configFromEnv(env);
  const log = jsonLog({ workerId: cfg.workerId }, cfg.logLevel);
  const worker = new Worker(cfg, log);
  let firstSignalAt = 0;
  const onSignal = (sig: string) => {
    // a terminal's Ctrl-C reaches the pool and its workers at once, and the pool forwards it:
    // only a repeated signal (more than 1 s later) means "exit now"
    if (firstSignalAt) {
      if (Date.now() - firstSignalAt > 1000) process.exit(1);
      return;
    }
    firstSignalAt = Date.now();
    log.info("signal", { sig });
    void worker.stop().then(
      () => {
        server?.close();
        process.exit(0);
      },
      (e) => {
        log.error("stop failed", { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  let server: import("node:http").Server | undefined;
  const health = await startHealthServer(worker, cfg.metricsPort, cfg.metricsHost);
  server = health.server;
  log.info("health server listening", { url: `http://${cfg.metricsHost}:${health.port}` });
  // tell a launcher where our metrics are (the port may be ephemeral)
  process.send?.({ type: "listening", port: health.port, workerId: cfg.workerId });
  try {
    await worker.start();
  } catch (e) {
    log.error("worker failed to start", { error: (e as Error).stack ?? String(e) });
    process.exit(1);
  }
}
