/**
 * Real processes for the fault tests: the edge (`edge/node.ts`, SQLite under a temp DATA_DIR,
 * webhook dispatcher inside) and gpu-workers (`gpu-worker/worker.ts` on the tiny fixture), each
 * its own Node process that a test can SIGKILL; plus a read-only look at the SQLite file (WAL:
 * readers never block the edge) for the invariants the API does not show directly.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURE = join(REPO, "gpu-worker/fixtures/tiny");
export const MODEL = "metalm-tiny-fixture";
const TSX = import.meta.resolve("tsx");

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(sig?: NodeJS.Signals): Promise<void>;
}

function run(entry: string, env: Record<string, string>, tag: string): Proc {
  const child = spawn(process.execPath, ["--import", TSX, join(REPO, entry)], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
    if (process.env.FAULTS_VERBOSE) process.stderr.write(`[${tag}] ${b}`);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    async kill(sig = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      await exited;
    },
  };
}

export interface Edge extends Proc {
  url: string;
}

export const POOL_TOKEN = "faults-pool-token";
export const ADMIN_KEY = "mla_faults-admin";
export const DEV_KEY = "mlk_faults-dev-key-000000000000000000000000000000";

export async function startEdge(dataDir: string, port: number, env: Record<string, string> = {}): Promise<Edge> {
  const p = run(
    "edge/node.ts",
    {
      PORT: String(port),
      DATA_DIR: dataDir,
      POOL_TOKEN,
      ADMIN_KEY,
      DEV_API_KEY: DEV_KEY,
      WORKERS: "0",
      LEASE_MS: "2000",
      RATE_LIMIT_RPS: "0",
      WEBHOOK_ALLOW_PRIVATE: "1",
      WEBHOOK_BACKOFF_MS: "200",
      WEBHOOK_BACKOFF_MAX_MS: "1000",
      WEBHOOK_MAX_ATTEMPTS: "100",
      WEBHOOK_TIMEOUT_MS: "2000",
      ...env,
    },
    "edge",
  );
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (p.child.exitCode !== null) throw new Error(`edge exited early:\n${p.output()}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() - t0 > 60_000) throw new Error(`edge not up after 60 s:\n${p.output()}`);
    await sleep(100);
  }
  return { ...p, url };
}

export function startWorker(edgeUrl: string, id: string, env: Record<string, string> = {}): Proc {
  return run(
    "gpu-worker/worker.ts",
    {
      EDGE_URL: edgeUrl,
      POOL_TOKEN,
      MODELS_DIR: FIXTURE,
      WORKER_ID: id,
      LEASE_WAIT_MS: "1000",
      LOG_LEVEL: "warn",
      METRICS_PORT: "0",
      SHUTDOWN_GRACE_MS: "2000",
      ...env,
    },
    id,
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 60_000, every = 200): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** JSON API call with the development key. */
export async function api(base: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${DEV_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A read-only connection to the edge's SQLite file (WAL: never blocks the edge). */
export function peek<T>(dataDir: string, f: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, "metalm.sqlite"), { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    return f(db);
  } finally {
    db.close();
  }
}

/** A small VQA workflow on the fixture (encode → connect → decode). */
export function vqaSpec(maxTokens = 8) {
  return {
    name: "faults-vqa",
    inputs: { image: { type: "image" }, question: { type: "text", default: "what color is the circle?" } },
    steps: [
      { id: "see", op: "encode", model: MODEL, encoder: "vision", image: "{{inputs.image}}" },
      { id: "dock", op: "connect", from: "see" },
      { id: "answer", op: "decode", model: MODEL, segments: [{ span: "dock" }, { text: "question: {{inputs.question}} answer:" }], params: { maxTokens } },
    ],
    outputs: { answer: "{{steps.answer.text}}" },
  };
}
