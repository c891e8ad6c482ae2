/**
 * The supervisor: starts N gpu-worker processes (default max(1, cores / 2)) and restarts one that
 * exits unexpectedly (with backoff if it keeps crashing). SIGTERM is forwarded; it waits for the
 * workers' graceful stops. ("Pool" is the lease protocol the workers speak, /v1/pool/*: this is
 * the process side.)
 */
import { fork, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Log } from "./log.js";

export interface SupervisorOptions {
  workers?: number;
  /** Environment for every worker; WORKER_ID and METRICS_PORT are set per worker. */
  env?: Record<string, string | undefined>;
  /** First worker's metrics port (worker i gets base + i); 0 = ephemeral ports. */
  metricsPortBase?: number;
  idPrefix?: string;
  log?: Log;
  /** Entry script (defaults to gpu-worker/worker.ts, run with tsx). */
  entry?: string;
}

export interface Supervisor {
  readonly size: number;
  /** The running child of slot i (replaced on restart). */
  child(i: number): ChildProcess | undefined;
  restarts: number;
  stop(): Promise<void>;
}

const tsxLoader = import.meta.resolve("tsx");

export const defaultWorkerCount = (): number => Math.max(1, Math.floor(availableParallelism() / 2));

/**
 * @example const sup = startSupervisor({ env: { EDGE_URL: "http://127.0.0.1:8787", POOL_TOKEN: token } });
 */
export function startSupervisor(opts: SupervisorOptions = {}): Supervisor {
  const n = opts.workers ?? defaultWorkerCount();
  const entry = opts.entry ?? fileURLToPath(new URL("../../worker.ts", import.meta.url));
  const prefix = opts.idPrefix ?? `w${process.pid}`;
  const children: (ChildProcess | undefined)[] = new Array(n);
  const crashes: number[] = new Array(n).fill(0);
  let stopping = false;
  const pool: Supervisor = {
    size: n,
    child: (i) => children[i],
    restarts: 0,
    stop: async () => {
      stopping = true;
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once("exit", () => resolve());
              c.kill("SIGTERM");
            }),
        ),
      );
    },
  };
  const spawn = (i: number) => {
    const env = {
      ...process.env,
      ...opts.env,
      WORKER_ID: `${prefix}-${i}`,
      METRICS_PORT: String(opts.metricsPortBase ? opts.metricsPortBase + i : 0),
    };
    // tsx resolved from this file, so the pool works from any working directory; WORKER_CPU_PROF=<dir>
    // profiles each worker (`node --cpu-prof`, written there on a graceful stop: bench/e2e.ts)
    const profDir = (env as Record<string, string | undefined>).WORKER_CPU_PROF;
    const prof = profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
    const child = fork(entry, [], { env, execArgv: [...prof, "--import", tsxLoader], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const startedAt = Date.now();
    children[i] = child;
    child.once("exit", (code, signal) => {
      if (stopping) return;
      crashes[i] = Date.now() - startedAt < 10_000 ? crashes[i]! + 1 : 0;
      const delay = Math.min(10_000, 250 * 2 ** crashes[i]!);
      opts.log?.warn("worker exited; restarting", { slot: i, code, signal, delayMs: delay });
      pool.restarts++;
      setTimeout(() => !stopping && spawn(i), delay).unref();
    });
  };
  for (let i = 0; i < n; i++) spawn(i);
  return pool;
}
