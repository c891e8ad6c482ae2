/**
 * End to end through the real edge: 64 concurrent VQA runs (encode → connect → decode, distinct
 * images) served by ONE worker process, dynamic batching off (MAX_BATCH=1) vs on (MAX_BATCH=16),
 * side by side in one run (`npx tsx bench/worker-pool.ts`). Each mode gets a fresh edge database
 * (no memoized steps carry over). Latency = POST /v1/runs → run finished (Prefer: wait).
 * Uses gpu-worker/models/metalm-tiny when present, else the fixture (or BENCH_MODEL=<dir>).
 */
import { serve } from "@hono/node-server";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import { openSqliteStore } from "../db/store.js";
import { createApp } from "../edge/app.js";
import { sweepExpired } from "../edge/engine/results.js";
import { SCENE_COLORS } from "./vqa.js";
import { createTenantKeySync, defaultKey } from "../edge/testing/tenants.js";
import { startSupervisor } from "../gpu-worker/src/worker/supervisor.js";

const N = Number(process.env.BENCH_RUNS ?? 64);
const real = fileURLToPath(new URL("../gpu-worker/models/metalm-tiny", import.meta.url));
const fixture = fileURLToPath(new URL("../gpu-worker/fixtures/tiny", import.meta.url));
const dir = process.env.BENCH_MODEL ?? (existsSync(`${real}/manifest.json`) ? real : fixture);
const model = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).name as string;
console.log(
  `package: ${model} (${dir === real ? "the real metalm-tiny" : dir === fixture ? "the tiny random-weight FIXTURE: gpu-worker/models/metalm-tiny not present" : dir})`,
);

function scene(i: number): string {
  const size = 64;
  const png = new PNG({ width: size, height: size });
  const c = SCENE_COLORS[i % SCENE_COLORS.length]!;
  const cx = (Math.floor(i / 8) % 3) * (size / 3) + size / 6;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const inside = Math.hypot(x - cx, y - size / 2) < 8;
      const p = (y * size + x) * 4;
      png.data.set(inside ? [c[0]!, c[1]!, c[2]!, 255] : [20 + i, 30, 30, 255], p); // background varies: every image distinct
    }
  return `data:image/png;base64,${PNG.sync.write(png).toString("base64")}`;
}
const spec = {
  inputs: { image: { type: "image" }, question: { type: "text" } },
  steps: [
    { id: "see", op: "encode", model, encoder: "vision", image: "{{inputs.image}}" },
    { id: "dock", op: "connect", from: "see" },
    { id: "answer", op: "decode", model, segments: [{ span: "dock" }, { text: "question: {{inputs.question}} answer:" }], params: { maxTokens: 8 } },
  ],
  outputs: { answer: "{{steps.answer.text}}" },
};
const questions = ["what color is the circle?", "where is the circle?", "how many objects are there?", "what shape is in the middle?"];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

async function runMode(maxBatch: number) {
  const tmp = mkdtempSync(join(tmpdir(), "bench-pool-"));
  const store = openSqliteStore(join(tmp, "metalm.sqlite"));
  const token = "bench-pool-token";
  const app = defaultKey(createApp({ store, poolToken: token, rateLimit: false }), createTenantKeySync(store).key);
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((r) => server.once("listening", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sweep = setInterval(() => void sweepExpired(app.engine).catch(() => {}), 500);
  const pool = startSupervisor({
    workers: 1,
    idPrefix: `b${maxBatch}`,
    env: {
      EDGE_URL: url,
      POOL_TOKEN: token,
      MODELS_DIR: dir,
      MAX_BATCH: String(maxBatch),
      LEASE_MAX: "64",
      MAX_QUEUE_DELAY_MS: "5",
      LOG_LEVEL: "error",
      PROGRESS: "0",
    },
  });
  let metricsPort = 0;
  pool.child(0)!.on("message", (m: { type?: string; port?: number }) => m.type === "listening" && (metricsPort = m.port!));
  /** The worker's own account: total compute seconds and batches, from its /metrics. */
  const computeSeconds = async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const sum = (name: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith(name))
        .reduce((a, l) => a + Number(l.split(" ").pop()), 0);
    return { compute: sum("metalm_worker_compute_seconds_sum"), batches: sum("metalm_worker_batch_size_count"), jobs: sum("metalm_worker_batch_size_sum") };
  };
  const post = (i: number) =>
    fetch(`${url}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "wait=120" },
      body: JSON.stringify({ spec, inputs: { image: scene(i), question: questions[i % 4] } }),
    });
  for (;;) {
    // wait until the worker has registered its model (the edge validates models against live workers)
    const r = await fetch(`${url}/v1/models`);
    const j = (await r.json()) as { models?: { name: string }[] } | { name: string }[];
    const names = JSON.stringify(j);
    if (names.includes(model)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // warm-up run (session first-use costs)
  await (await post(1000)).json();
  const t0 = performance.now();
  const lat: number[] = [];
  const runs = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const res = await post(i);
      const body = (await res.json()) as { status: string; outputs?: { answer?: string } };
      lat.push(performance.now() - t0);
      return body;
    }),
  );
  const wall = performance.now() - t0;
  const ok = runs.filter((r) => r.status === "succeeded").length;
  const worker = await computeSeconds();
  await pool.stop();
  clearInterval(sweep);
  server.close();
  store.close();
  rmSync(tmp, { recursive: true, force: true });
  return { wall, lat, ok, answers: runs.map((r) => r.outputs?.answer), worker };
}

const one = await runMode(1);
const batched = await runMode(16);
const line = (name: string, x: typeof one) =>
  `   ${name}: ${x.ok}/${N} succeeded in ${x.wall.toFixed(0)} ms, ${((N / x.wall) * 1000).toFixed(1)} runs/s, latency p50 ${pct(x.lat, 50).toFixed(0)} ms, p99 ${pct(x.lat, 99).toFixed(0)} ms\n      worker compute ${(x.worker.compute * 1000).toFixed(0)} ms in ${x.worker.batches} batches (${(x.worker.jobs / Math.max(1, x.worker.batches)).toFixed(1)} jobs/batch; warm-up run included): the rest is the edge and HTTP`;
console.log(`${N} concurrent VQA runs (encode → connect → decode 8 tokens) through the edge, one worker process:`);
console.log(line("MAX_BATCH=1 ", one));
console.log(line("MAX_BATCH=16", batched));
console.log(`   → ${(one.wall / batched.wall).toFixed(1)}× throughput; answers identical: ${JSON.stringify(one.answers) === JSON.stringify(batched.answers)}`);
process.exit(0);
