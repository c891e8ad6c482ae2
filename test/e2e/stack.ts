/**
 * Starts the whole service the way a newcomer does — `npm start` (start.ts: edge + local worker
 * pool) as real processes — on a free port with a temporary DATA_DIR, and waits for its
 * "ready" banner. Used by the end-to-end test and bench/e2e.ts.
 *
 * @example
 * const stack = await startStack();
 * const api = new MetalmClient(stack.url);
 * await stack.stop();
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/net.js";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Stack {
  url: string;
  /** The development API key the stack was started with (DEV_API_KEY). */
  apiKey: string;
  /** Process group of npm start (npm, tsx, the edge and every worker). */
  pgid: number;
  dataDir: string;
  /** Milliseconds from spawn to the ready banner (after /readyz said ready). */
  readyMs: number;
  /** Everything the processes printed so far (stdout + stderr). */
  output(): string;
  /** Each local worker's /metrics URL, from its "health server listening" log line (needs LOG_LEVEL=info). */
  workerMetricsUrls(): string[];
  stop(): Promise<void>;
}

export async function startStack(opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Stack> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "metalm-e2e-"));
  const apiKey = `mlk_${randomBytes(24).toString("base64url")}`;
  const t0 = performance.now();
  // detached: its own process group, so stop() reaches npm, tsx, the edge and every worker
  // BENCH_CPU_PROF=<dir>: start.ts under `node --cpu-prof` instead of npm (the edge's profile is
  // written there when it stops; npm would refuse the flag in NODE_OPTIONS), and each worker's too
  // (WORKER_CPU_PROF, gpu-worker/src/worker/supervisor.ts)
  const prof = process.env.BENCH_CPU_PROF;
  const [cmd, args] = prof ? [process.execPath, ["--cpu-prof", `--cpu-prof-dir=${prof}`, "--import", "tsx", "start.ts"]] : ["npm", ["start", "--silent"]];
  const child = spawn(cmd, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...(prof ? { WORKER_CPU_PROF: prof } : {}),
      PORT: String(port),
      DATA_DIR: dataDir,
      DEV_API_KEY: apiKey,
      LOG_LEVEL: "warn",
      EXIT_ON_STDIN_EOF: "1",
      ...opts.env,
    },
    // our end of its stdin closes when this process dies, however it dies: the stack then stops
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const timeoutMs = opts.timeoutMs ?? 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`stack not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const check = () => {
        if (/ready in [\d.]+ s/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", check);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (${code}) before ready:\n${out}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const workerMetricsUrls = () => {
    const urls = new Map<string, string>(); // a restarted worker logs again: the last line per worker wins
    for (const m of out.matchAll(/"msg":"health server listening".*?"workerId":"([^"]+)".*?"url":"([^"]+)"/g)) urls.set(m[1]!, `${m[2]!}/metrics`);
    return [...urls.values()];
  };
  return { url: `http://127.0.0.1:${port}`, apiKey, pgid: child.pid!, dataDir, readyMs: performance.now() - t0, output: () => out, workerMetricsUrls, stop };
}
