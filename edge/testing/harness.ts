/**
 * Test harness: a real SQLite file in a fresh temp dir, the real app, and helpers that speak
 * the pool protocol through `app.request` (or real HTTP, see pool-client.ts). Not a fake worker:
 * tests decide what each "worker" answers, since the protocol is what they test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TENANT } from "../../db/schema.js";
import type { Store } from "../../db/driver.js";
import { openSqliteStore } from "../../db/store.js";
import { tinyAdvert, vqaSpec } from "../../workflows/src/fixtures.js";
import type { Job, JobResult, StepOutput } from "../../workflows/index.js";
import { createApp, type EdgeApp } from "../app.js";
import type { AppDeps } from "../context.js";
import { createTenantKeySync, defaultKey, type TenantKey } from "./tenants.js";

export const POOL_TOKEN = "test-pool-token";
export const AUTH = { authorization: `Bearer ${POOL_TOKEN}` };
/** The harness tenant and its API key: requests without a credential act as this key. */
export const TEST_TENANT = DEFAULT_TENANT; // rows tests insert directly default to it
export const TEST_API_KEY = "mlk_test-harness-key-0000000000000000000000000";
/** Admin key for harnesses that pass `adminKey: TEST_ADMIN_KEY` (the admin API and /metrics). */
export const TEST_ADMIN_KEY = "mla_test-harness-admin-key";
export const ADMIN_AUTH = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

/** A 1×1 PNG. */
export const PNG_1PX = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==", "base64");
/** JPEG magic + filler (the edge checks magic bytes only; workers decode). */
export const JPEG_BYTES = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);

export interface Harness {
  dir: string;
  file: string;
  store: Store;
  app: EdgeApp;
  /** The harness tenant's key (also used for requests that send no credential). */
  key: TenantKey;
  /** Reopen: a new store and app on the same SQLite file (the old store is closed). */
  restart(deps?: Partial<AppDeps>): Harness;
  close(): void;
}

export function makeHarness(deps: Partial<AppDeps> = {}, dir = mkdtempSync(join(tmpdir(), "edge-test-"))): Harness {
  const file = join(dir, "metalm.sqlite");
  const store = openSqliteStore(file);
  const key = createTenantKeySync(store, TEST_TENANT, TEST_API_KEY);
  const app = defaultKey(createApp({ store, poolToken: POOL_TOKEN, rateLimit: false, ...deps }), TEST_API_KEY);
  const h: Harness = {
    dir,
    file,
    store,
    app,
    key,
    restart(more = {}) {
      store.close();
      return makeHarness({ ...deps, ...more }, dir);
    },
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export type Req = { method?: string; body?: unknown; headers?: Record<string, string> };

/** JSON request through `app.request`; returns status, headers and parsed body. */
export async function call(app: EdgeApp, path: string, r: Req = {}) {
  const init: RequestInit = { method: r.method ?? (r.body === undefined ? "GET" : "POST"), headers: { ...r.headers } };
  if (r.body !== undefined) {
    init.body = typeof r.body === "string" || r.body instanceof FormData ? (r.body as BodyInit) : JSON.stringify(r.body);
    if (!(r.body instanceof FormData) && !(init.headers as Record<string, string>)["content-type"])
      (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await app.request(path, init);
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

export async function register(app: EdgeApp, workerId = "w1", models = [tinyAdvert]) {
  return call(app, "/v1/pool/register", {
    body: { workerId, executionProvider: "cpu", ortVersion: "1.30.0", models },
    headers: AUTH,
  });
}

export async function lease(app: EdgeApp, workerId = "w1", max = 16, waitMs = 0): Promise<Job[]> {
  const r = await call(app, "/v1/pool/lease", { body: { workerId, max, waitMs }, headers: AUTH });
  if (r.status !== 200) throw new Error(`lease ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.jobs;
}

export async function postResults(app: EdgeApp, workerId: string, results: JobResult[]) {
  return call(app, "/v1/pool/results", { body: { workerId, results }, headers: AUTH });
}

const tensor = { shape: [1, 16, 128], dtype: "float32" as const, norm: 1, mean: 0, std: 1 };

/** A plausible output for a job (what a worker would compute), text chosen by the test. */
export function outputFor(job: Job, text = "red"): StepOutput {
  switch (job.op) {
    case "encode":
    case "connect":
      return { op: job.op, tensor };
    case "decode":
      return { op: "decode", text, tokens: [5], tokenTexts: [text], logprobs: [-0.1], finishReason: "eos" };
    case "explain":
      return {
        op: "explain",
        label: "entailment",
        scores: { entailment: -0.1, contradiction: -3, neutral: -2 },
        explanation: "because it is " + text,
        text: `entailment because it is ${text}`,
        tokens: [7],
        logprobs: [-0.2],
      };
  }
}

export function okResult(job: Job, workerId = "w1", text = "red"): JobResult {
  return {
    jobId: job.jobId,
    leaseId: job.leaseId,
    ok: true,
    output: outputFor(job, text),
    receipt: {
      workerId,
      model: job.model,
      modelVersion: "0.1.0",
      modelSha256: tinyAdvert.sha256,
      tokenizerSha256: "b".repeat(64),
      ortVersion: "1.30.0",
      executionProvider: "cpu",
      seed: 0,
      params: {},
    },
    timings: { computeMs: 3 },
    cacheHit: false,
  };
}

/** Complete every job the worker can lease until the run is terminal (bounded rounds). */
export async function drive(app: EdgeApp, workerId = "w1", rounds = 10, text = "red") {
  for (let i = 0; i < rounds; i++) {
    const jobs = await lease(app, workerId, 64, 0);
    if (!jobs.length) return;
    await postResults(
      app,
      workerId,
      jobs.map((j) => okResult(j, workerId, text)),
    );
  }
}

export const vqa = vqaSpec;
export const pngB64 = () => PNG_1PX.toString("base64");
export const pngDataUrl = () => `data:image/png;base64,${pngB64()}`;
