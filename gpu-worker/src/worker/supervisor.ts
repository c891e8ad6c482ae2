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

/**
 * V8 flags every worker starts with. `--max-semi-space-size` (MB; WORKER_SEMI_SPACE_MB, default 4,
 * 0 = V8's own): with V8's default young generation (growing to 16 MB) a busy worker ran a full
 * mark-compact every ~11 VQA jobs — 15–22 per 200 jobs after warm-up, ~5–12 ms of main-thread pause
 * each plus concurrent marking on V8's helper threads — although its old generation did not grow;
 * capped at 4 MB it runs cheap scavenges instead and no mark-compact after start-up (`node
 * --trace-gc`, bench/e2e.ts; README "Performance"). A flag V8 reads only at start, hence here.
 */
export function workerNodeFlags(env: Record<string, string | undefined>): string[] {
  const mb = env.WORKER_SEMI_SPACE_MB === undefined || env.WORKER_SEMI_SPACE_MB === "" ? 4 : Number(env.WORKER_SEMI_SPACE_MB);
  if (!Number.isInteger(mb) || mb < 0 || mb > 1024)
    throw new RangeError(`WORKER_SEMI_SPACE_MB must be an integer from 0 to 1024 (MB), not "${env.WORKER_SEMI_SPACE_MB}"`);
  return mb > 0 ? [`--max-semi-space-size=${mb}`] : [];
}

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
  const flags = workerNodeFlags({ ...process.env, ...opts.env }); // a bad value fails here, once, not in every restart
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
    const child = fork(entry, [], { env, execArgv: [...flags, ...prof, "--import", tsxLoader], stdio: ["ignore", "inherit", "inherit", "ipc"] });
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
