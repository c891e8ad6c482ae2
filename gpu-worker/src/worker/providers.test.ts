/**
 * The execution provider a real worker process actually uses, end to end: its registration advert
 * (what /v1/models shows), every receipt, /healthz and /metrics — and a configured provider that
 * cannot load (WebGPU with no Vulkan driver, CUDA absent from this onnxruntime-node build) falls
 * back to the CPU loudly: a warning naming the provider and the reason, and the fallback recorded
 * in the advert, the receipts and a metric. Runs in every `npm test` (no GPU needed: the WebGPU
 * case is made to fail by pointing the Vulkan loader at a driver file that does not exist).
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Job, JobResult, ModelAdvert } from "../../../workflows/index.js";
import { sha256Hex } from "../../../workflows/index.js";
import { FakeEdge } from "../testing/fake-edge.js";
import { FIXTURE_DIR, referencePngs } from "../testing/fixture.js";

const MODEL = "metalm-tiny-fixture";
const ENTRY = fileURLToPath(new URL("../../worker.ts", import.meta.url));
const imageA = sha256Hex(referencePngs.a!);
let edge: FakeEdge;
let child: ChildProcess | undefined;
let n = 0;

interface Started {
  id: string;
  advert: ModelAdvert & { executionProvider?: string };
  logs: { level: string; msg: string }[];
  port: number;
}

const until = async (cond: () => boolean, ms: number, what: string) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what} (${ms} ms)`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** One worker process (the real entry point), its JSON log lines collected from stderr. */
async function startWorker(env: Record<string, string>): Promise<Started> {
  const id = `wp-${++n}`;
  const logs: { level: string; msg: string }[] = [];
  let port = 0;
  const c = fork(ENTRY, [], {
    env: {
      ...process.env,
      EDGE_URL: edge.url,
      POOL_TOKEN: edge.token,
      MODELS_DIR: FIXTURE_DIR,
      WORKER_ID: id,
      LEASE_WAIT_MS: "300",
      LOG_LEVEL: "info",
      ...env,
    },
    execArgv: ["--import", import.meta.resolve("tsx")],
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  child = c;
  let buf = "";
  c.stderr!.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith("{")) logs.push(JSON.parse(line));
    }
  });
  c.on("message", (m: { type?: string; port?: number }) => {
    if (m.type === "listening") port = m.port!;
  });
  await until(() => edge.workers.has(id) && port > 0, 60_000, `worker ${id} to register`);
  const reg = edge.workers.get(id) as { models: Started["advert"][] };
  return { id, advert: reg.models[0]!, logs, port };
}

/** One greedy VQA decode job through the pool protocol; its result. */
async function decodeOnce(): Promise<Extract<JobResult, { ok: true }>> {
  const job = {
    jobId: `pj-${++n}`,
    runId: "run-p",
    stepId: "answer",
    attempt: 1,
    deadlineAt: Date.now() + 60_000,
    model: MODEL,
    op: "decode",
    segments: [
      { kind: "span", recipe: { connector: "vision", source: { model: MODEL, encoder: "vision", image: { sha256: imageA } } } },
      { kind: "text", text: "question: what color is the circle? answer:" },
    ],
    params: { maxTokens: 4, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] },
  } as Omit<Job, "leaseId">;
  edge.enqueue(job);
  await edge.allDone(60_000);
  const r = edge.jobs.get(job.jobId)!.done!;
  if (!r.ok) throw new Error(`decode failed: ${JSON.stringify(r.error)}`);
  return r;
}

const metricsOf = async (port: number) => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());

beforeAll(async () => {
  edge = await new FakeEdge(900).start();
  edge.blobs.set(imageA, referencePngs.a!);
});
afterEach(async () => {
  const c = child;
  child = undefined;
  if (c && c.exitCode === null && c.signalCode === null) {
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGTERM");
    });
  }
});
afterAll(async () => {
  await edge?.stop();
});

describe("the execution provider a worker actually uses", () => {
  it("EXECUTION_PROVIDERS=cpu: advert, receipts, /healthz and /metrics say cpu, with no fallback and no warning", async () => {
    const w = await startWorker({ EXECUTION_PROVIDERS: "cpu" });
    expect(w.advert).toMatchObject({ name: MODEL, executionProvider: "cpu", requestedProviders: ["cpu"], providerFallbacks: [] });
    const r = await decodeOnce();
    expect(r.receipt).toMatchObject({ model: MODEL, executionProvider: "cpu", requestedProviders: ["cpu"], providerFallbacks: [] });
    const health = await fetch(`http://127.0.0.1:${w.port}/healthz`).then((x) => x.json());
    expect(health.providers).toEqual({ [MODEL]: { executionProvider: "cpu", providerFallbacks: [] } });
    const metrics = await metricsOf(w.port);
    expect(metrics).toContain(`metalm_worker_execution_provider{model="${MODEL}",provider="cpu"} 1`);
    expect(metrics).not.toMatch(/^metalm_worker_provider_fallback\{/m);
    expect(w.logs.filter((l) => l.level === "warn")).toEqual([]);
  }, 90_000);

  it("EXECUTION_PROVIDERS=cuda,webgpu where neither can load: runs on cpu, and says so loudly everywhere", async () => {
    // no Vulkan driver for Dawn to find: the WebGPU EP fails to get an adapter (as on a machine without a GPU)
    const w = await startWorker({ EXECUTION_PROVIDERS: "cuda,webgpu", VK_DRIVER_FILES: "/nonexistent/icd.json", VK_ICD_FILENAMES: "/nonexistent/icd.json" });
    const warns = w.logs.filter((l) => l.level === "warn").map((l) => l.msg);
    // one warning per provider where it failed, with the reason...
    // (this build lists cuda as a backend that needs separately installed libraries: it fails to load them)
    expect(
      warns.some((m) => /execution provider "cuda" (failed for .*\.onnx \(.*shared library.*\)|not supported by this onnxruntime-node build)/.test(m)),
    ).toBe(true);
    expect(warns.some((m) => /execution provider "webgpu" failed for .*\.onnx \(.*adapter.*\); falling back/i.test(m))).toBe(true);
    // ...and one per model: what was asked, what it runs on, why
    expect(warns).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^model ${MODEL}: execution providers requested cuda,webgpu,cpu, running on cpu — fallback from cuda \\(.+\\); webgpu \\(.*adapter.*\\)$`,
          "i",
        ),
      ),
    );
    const fallbacks = [
      { provider: "cuda", reason: expect.stringMatching(/shared library|not supported by this onnxruntime-node build/) },
      { provider: "webgpu", reason: expect.stringMatching(/adapter/i) },
    ];
    expect(w.advert).toMatchObject({ executionProvider: "cpu", requestedProviders: ["cuda", "webgpu", "cpu"], providerFallbacks: fallbacks });
    const r = await decodeOnce();
    expect(r.receipt).toMatchObject({ executionProvider: "cpu", requestedProviders: ["cuda", "webgpu", "cpu"], providerFallbacks: fallbacks });
    expect(r.output).toMatchObject({ op: "decode", tokens: [54, 53, 53, 89] }); // reference.json "vqa": the CPU answer
    const metrics = await metricsOf(w.port);
    expect(metrics).toContain(`metalm_worker_execution_provider{model="${MODEL}",provider="cpu"} 1`);
    expect(metrics).toContain(`metalm_worker_provider_fallback{model="${MODEL}",provider="webgpu"} 1`);
    expect(metrics).toContain(`metalm_worker_provider_fallback{model="${MODEL}",provider="cuda"} 1`);
  }, 90_000);
});
