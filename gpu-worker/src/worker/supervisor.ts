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
 * V8 flags every worker starts with (V8 reads them only at start, hence here):
 * - `--max-semi-space-size` (MB; WORKER_SEMI_SPACE_MB, default 4, 0 = V8's own): with V8's default
 *   young generation (growing to 16 MB) a busy worker ran a full mark-compact every ~11 VQA jobs —
 *   15–22 per 200 jobs after warm-up, ~5–12 ms of main-thread pause each plus concurrent marking on
 *   V8's helper threads — although its old generation did not grow; capped at 4 MB it runs cheap
 *   scavenges instead (`node --trace-gc`, bench/e2e.ts; README "Performance").
 * - `--heap-growing-percent` (WORKER_HEAP_GROWING_PERCENT, default 100, 0 = V8's own): under
 *   sustained load (after ~700 runs) V8 set the old generation's next limit ≈ 15% above its live
 *   ≈ 16 MB, so a worker ran a mark-compact every ~25 VQA runs, each with concurrent marking on the
 *   helper threads; with the limit at twice the live size, `npx tsx bench/sustained.ts` (2000 runs
 *   each, alternating blocks): 39.5 → 5.5 mark-compacts per 1000 runs, worker CPU 8.19 → 6.87 ms
 *   per run (helper threads 1.83 → 0.79 ms). The price: up to ≈ one live heap more of RSS per
 *   worker (≈ 16 MB for metalm-tiny).
 */
export function workerNodeFlags(env: Record<string, string | undefined>): string[] {
  const num = (name: string, dflt: number, max: number): number => {
    const v = env[name];
    const n = v === undefined || v === "" ? dflt : Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${name} must be an integer from 0 to ${max}, not "${v}"`);
    return n;
  };
  const mb = num("WORKER_SEMI_SPACE_MB", 4, 1024);
  const growing = num("WORKER_HEAP_GROWING_PERCENT", 100, 1000);
  return [...(mb > 0 ? [`--max-semi-space-size=${mb}`] : []), ...(growing > 0 ? [`--heap-growing-percent=${growing}`] : [])];
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
