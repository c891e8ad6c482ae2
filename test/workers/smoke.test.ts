/**
 * CI smoke test of the Workers deployment, offline (`npm run test:workers`, project "smoke"):
 *
 * 1. bundle the edge exactly as `wrangler deploy` would (`wrangler deploy --dry-run --outdir`);
 * 2. apply db/migrations to a fresh local D1 (`wrangler d1 migrations apply DB --local`);
 * 3. serve that bundle with `wrangler dev --local` (workerd + local D1 + PoolHub Durable Object);
 * 4. start a real Node gpu-worker (`gpu-worker/worker.ts`) with EDGE_URL pointing at it, serving
 *    gpu-worker/models/metalm-tiny when present, else the fixture package gpu-worker/fixtures/tiny;
 * 5. post one VQA run, wait for it, and read it back: run, steps + receipts, history list, SSE.
 *
 * Serving the pre-built bundle (not the sources) keeps wrangler's file watcher from reloading
 * mid-test when the working tree changes, and tests the artifact that would be uploaded.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/net.js";
import { isRunTerminal } from "../../workflows/index.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const TOKEN = `smoke-${process.pid}-pool-token`;
const ADMIN_KEY = `smoke-${process.pid}-admin-key`;
const REAL_MODEL = join(ROOT, "gpu-worker/models/metalm-tiny");
const FIXTURE = join(ROOT, "gpu-worker/fixtures/tiny");
const MODELS_DIR = existsSync(join(REAL_MODEL, "manifest.json")) ? REAL_MODEL : FIXTURE;
const MODEL = (JSON.parse(readFileSync(join(MODELS_DIR, "manifest.json"), "utf8")) as { name: string }).name;

/** No account, no telemetry, no prompts: what CI has. */
const wranglerEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" };
  for (const k of Object.keys(env)) if (k.startsWith("CLOUDFLARE_")) delete env[k];
  return env;
};

function wrangler(args: string[], cwd = ROOT): string {
  const r = spawnSync(WRANGLER, args, { cwd, env: wranglerEnv(), encoding: "utf8", timeout: 120_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} exited ${r.status}:\n${out}`);
  return out;
}

class Fatal extends Error {}
const until = async <T>(what: string, f: () => Promise<T | undefined>, ms: number, log?: () => string): Promise<T> => {
  const t0 = Date.now();
  for (;;) {
    const v = await f().catch((e: unknown) => {
      if (e instanceof Fatal) throw e;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}${log ? `\n${log()}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

let dir = "";
let url = "";
let dev: ChildProcess | undefined;
let worker: ChildProcess | undefined;
let devLog = "";
let workerLog = "";

/** A VQA workflow (encode → connect → decode) on `model`. */
const vqaSpecFor = (model: string) => ({
  name: "vqa",
  inputs: { image: { type: "image" }, question: { type: "text", default: "what color is the circle?" } },
  steps: [
    { id: "see", op: "encode", model, encoder: "vision", image: "{{inputs.image}}" },
    { id: "dock", op: "connect", from: "see" },
    { id: "answer", op: "decode", model, segments: [{ span: "dock" }, { text: "question: {{inputs.question}} answer:" }], params: { maxTokens: 8 } },
  ],
  outputs: { answer: "{{steps.answer.text}}" },
});

/** A pixel-exact PNG the fixture reference was computed on (reference.json images.a). */
async function referenceImage(): Promise<string> {
  const { referencePngs } = await import("../../gpu-worker/src/testing/fixture.js");
  return `data:image/png;base64,${referencePngs.a!.toString("base64")}`;
}

const stop = (p: ChildProcess | undefined) =>
  new Promise<void>((resolve) => {
    if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      try {
        process.kill(-p.pid!, "SIGKILL");
      } catch {
        p.kill("SIGKILL");
      }
    }, 5000);
    p.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    try {
      process.kill(-p.pid!, "SIGTERM"); // the whole group: wrangler → workerd
    } catch {
      p.kill("SIGTERM");
    }
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "workers-smoke-"));
  const bundle = join(dir, "bundle");
  const state = join(dir, "state");
  wrangler(["deploy", "--dry-run", "--outdir", bundle, "--metafile", join(bundle, "meta.json")]);
  // the Workers bundle must never pull in the Node driver, the Node server or the model runtime
  const inputs = Object.keys((JSON.parse(readFileSync(join(bundle, "meta.json"), "utf8")) as { inputs: object }).inputs);
  expect(inputs).toContain("edge/cloudflare/main.ts");
  expect(inputs).toContain("db/d1.ts");
  const forbidden = inputs.filter((f) => /better-sqlite3|onnxruntime|@hono\/node-server|^db\/store\.ts$|^edge\/node\.ts$|gpu-worker\//.test(f));
  expect(forbidden).toEqual([]);
  const applied = wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
  expect(applied).toMatch(/0000_init\.sql/);
  writeFileSync(join(dir, "smoke.env"), `POOL_TOKEN=${TOKEN}\nADMIN_KEY=${ADMIN_KEY}\n`);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  dev = spawn(
    WRANGLER,
    [
      "dev",
      join(bundle, "main.js"),
      "--config",
      join(ROOT, "wrangler.toml"),
      "--no-bundle",
      "--local",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      state,
      "--env-file",
      join(dir, "smoke.env"),
      "--log-level",
      "info",
      "--show-interactive-dev-session=false",
    ],
    { cwd: ROOT, env: wranglerEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  dev.stdout!.on("data", (d) => (devLog += d));
  dev.stderr!.on("data", (d) => (devLog += d));
  await until(
    "wrangler dev /healthz",
    async () => {
      if (dev!.exitCode !== null) throw new Fatal(`wrangler dev exited ${dev!.exitCode}:\n${devLog.slice(-4000)}`);
      return (await fetch(`${url}/healthz`)).ok ? true : undefined;
    },
    90_000,
    () => devLog.slice(-4000),
  );

  worker = spawn(process.execPath, ["--import", "tsx", join(ROOT, "gpu-worker/worker.ts")], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, EDGE_URL: url, POOL_TOKEN: TOKEN, MODELS_DIR, WORKER_ID: "smoke-gpu-0", LEASE_WAIT_MS: "5000", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  worker.stdout!.on("data", (d) => (workerLog += d));
  worker.stderr!.on("data", (d) => (workerLog += d));
}, 180_000);

afterAll(async () => {
  await stop(worker);
  await stop(dev);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The API key the client calls use (made through the admin API), if the edge has API keys. */
let apiKey: string | undefined;
const api = async (path: string, body?: unknown, extra: Record<string, string> = {}) => {
  const headers: Record<string, string> = { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...extra };
  const res = await fetch(
    `${url}${path}`,
    body === undefined ? { headers } : { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) },
  );
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, body: json };
};

describe(`the edge on wrangler dev --local (workerd + D1), a Node gpu-worker serving ${MODEL}`, () => {
  let runId = "";

  it("the worker registers over HTTP and the edge is ready", async () => {
    const ready = await until(
      "a registered worker",
      async () => {
        const r = await api("/readyz");
        return r.status === 200 ? r.body : undefined;
      },
      120_000,
      () => `--- worker ---\n${workerLog.slice(-3000)}\n--- wrangler ---\n${devLog.slice(-3000)}`,
    );
    expect(JSON.stringify(ready)).toContain(MODEL);
  });

  it("the admin key (a wrangler secret) makes an API key for the client", async () => {
    const r = await api("/v1/admin/keys", { name: "workers-smoke" }, { authorization: `Bearer ${ADMIN_KEY}` });
    if (r.status === 404) return; // an edge without API keys: client routes are open
    expect(r.status, r.text).toBe(201);
    apiKey = r.body.key;
    expect(apiKey).toMatch(/^mlk_/);
  });

  it("one VQA run end to end", async () => {
    const spec = vqaSpecFor(MODEL);
    const created = await api("/v1/runs", { spec, inputs: { image: await referenceImage() }, tags: ["workers-smoke"] }, { prefer: "wait=30" });
    expect(created.status, created.text).toBeLessThan(300);
    runId = created.body.id;
    const run = await until(
      "the run to finish",
      async () => {
        const r = await api(`/v1/runs/${runId}`);
        return r.body && isRunTerminal(r.body.status) ? r.body : undefined;
      },
      90_000,
      () => `--- worker ---\n${workerLog.slice(-3000)}\n--- wrangler ---\n${devLog.slice(-3000)}`,
    );
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    expect(typeof run.outputs.answer).toBe("string");
    if (MODELS_DIR === FIXTURE) expect(run.outputs.answer).toBe("objects object object teacher teacher shape how red"); // reference.json "vqa"
    const answer = run.steps.find((s: { id: string }) => s.id === "answer");
    expect(answer.workerId).toBe("smoke-gpu-0");
    expect(answer.receipt.executionProvider).toBeTruthy();
  });

  it("history reads the run back from D1: list, detail, SSE replay", async () => {
    const list = await api("/v1/runs?tag=workers-smoke");
    expect(list.status, list.text).toBe(200);
    expect(list.body.runs.map((r: { id: string }) => r.id)).toContain(runId);
    expect(list.body.counts.succeeded).toBeGreaterThanOrEqual(1);
    const sse = await fetch(`${url}/v1/runs/${runId}/events`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    const text = await sse.text(); // the stream ends after run.completed
    for (const e of ["run.created", "step.started", "step.completed", "run.completed"]) expect(text).toContain(`event: ${e}`);
    const metrics = await api("/metrics", undefined, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(metrics.text).toContain("metalm_runs");
  });

  it("SSE streams a run live from the Worker (token events from the worker's progress calls)", async () => {
    // the gpu-worker is paused until the stream is open, so the run cannot finish before it
    process.kill(worker!.pid!, "SIGSTOP");
    let text: string;
    const t0 = Date.now();
    try {
      const created = await api("/v1/runs", { spec: vqaSpecFor(MODEL), inputs: { image: await referenceImage(), question: "what shape is on the left?" } });
      expect(created.status, created.text).toBeLessThan(300);
      const res = await fetch(`${url}/v1/runs/${created.body.id}/events`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
      expect(res.status).toBe(200);
      process.kill(worker!.pid!, "SIGCONT");
      text = await res.text(); // returns when the stream ends, after run.completed
    } finally {
      process.kill(worker!.pid!, "SIGCONT");
    }
    expect(Date.now() - t0).toBeLessThan(60_000);
    const types = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(types[0]).toBe("run.created");
    expect(types.at(-1)).toBe("run.completed");
    expect(types).toContain("token");
    expect(types.filter((t) => t === "step.completed")).toHaveLength(3);
    // live, not a replay: the run completed after the stream was opened (same host clock)
    const datas = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!) as { type: string; at: number });
    expect(datas.at(-1)!.type).toBe("run.completed");
    expect(datas.at(-1)!.at).toBeGreaterThanOrEqual(t0);
  });

  it("the notebook UI renders the run from the Worker", async () => {
    for (const path of ["/ui/runs", `/ui/runs/${runId}`, "/ui/new"]) {
      const page = await api(path);
      expect(page.status, `${path}: ${page.text.slice(0, 300)}`).toBe(200);
      expect(page.text).toContain("<html");
    }
    expect((await api(`/ui/runs/${runId}`)).text).toContain(runId);
  });
});
