/**
 * End-to-end benchmarks, every ratio measured side by side in one run (`npx tsx bench/e2e.ts`):
 *  1. One VQA run over HTTP (`POST /v1/runs` multipart + `Prefer: wait`, the stack started by
 *     `npm start`: edge + 1 local worker) vs the same encode → connect → decode in this process on
 *     onnxruntime-node through the gpu-worker runtime library: ratio at batch 1 and the absolute
 *     overhead per run (p50/p99), with a breakdown of where the HTTP run's time goes.
 *  2. VQA → explain on one image: the encoder runs exactly once (the worker's /metrics).
 *  3. 64 concurrent VQA runs vs the same number one at a time: throughput, p50/p99.
 *  4. After the stack stopped: bench/edge.ts (POST /v1/runs p99) and bench/worker.ts sections 1–2
 *     (KV cache, batching) as child processes, one after the other (BENCH_SUBS=0 skips them).
 * At the end, issue #12's table: every target beside the value measured in this run.
 * Every run uses a freshly rendered image, so nothing is served from the memo table or the
 * encoder cache (both paths compute everything). Pairs in 1 alternate A/B in random order, so a
 * load change on the machine hits both sides alike.
 * Env: BENCH_N (pairs in 1, default 60), BENCH_WARMUP (runs each side before 1, default 5), BENCH_CONCURRENCY (64), BENCH_WORKERS (the stack's WORKERS; default 1),
 * MODELS_DIR (a package folder to use instead of the shipped model, on both sides).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { Segment } from "../workflows/index.js";
import { MetalmClient, type Run } from "../cli/client.js";
import { randomScene, renderPng, rng } from "../gpu-worker/eval/shapes.js";
import { ModelRuntime } from "../gpu-worker/src/ops/runtime.js";
import { loadPackage } from "../gpu-worker/src/package/load.js";
import { startStack } from "../test/e2e/stack.js";
import { groupProcesses } from "./proc.js";
import { benchSessionConfig, providerLine } from "./providers.js";
import { shippedOrFixture } from "../gpu-worker/src/package/shipped.js";
import { loadExample, withModel } from "../workflows/examples/index.js";

const N = Number(process.env.BENCH_N ?? 60);
const C = Number(process.env.BENCH_CONCURRENCY ?? 64);
const WORKERS = process.env.BENCH_WORKERS ?? "1";
const QUESTION = "how many objects are there?";

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!;
const f = (x: number, d = 2) => x.toFixed(d);
/** What issue #12's table reports, filled in as the sections run. */
const judge: {
  httpP50?: number;
  inP50?: number;
  addedP50?: number;
  requests?: number;
  requestsDetail?: string;
  edgeCpu?: number;
  workerCpu?: number;
  inCpu?: number;
  leasedToDone?: number;
  compute?: number;
  seqTput?: number;
  conTput?: number;
  decodeBatch?: string;
  postP99?: number;
  postCpuUs?: number;
  kv?: number;
  batching?: number;
  loadStart: string;
} = {
  loadStart: loadavg()
    .map((x) => f(x))
    .join(" "),
};
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * CPU time (ms) used so far by the stack's processes (Linux /proc, clock ticks of 10 ms): the
 * workers (gpu-worker/worker.ts) and the rest (the edge, plus the idle npm/tsx wrappers).
 * It depends much less than wall time on what else the machine runs (not at all: shared caches and cores still slow it).
 */
function stackCpu(pgid: number): { edge: number; workers: number } | null {
  try {
    let edge = 0;
    let workers = 0;
    for (const p of groupProcesses(pgid)) {
      if (p.cmd.includes("worker.ts")) workers += p.ticks * 10;
      else edge += p.ticks * 10;
    }
    return { edge, workers };
  } catch {
    return null;
  }
}
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// ------------------------------------------------------------------------------------ setup
// MODELS_DIR (one package folder) benchmarks another package on both sides
const { dir, fixture } = process.env.MODELS_DIR ? { dir: process.env.MODELS_DIR, fixture: false } : shippedOrFixture();
let seed = 1000;
/** A new scene image every call (distinct bytes → no memo or encoder-cache hits). */
const freshImage = (): Uint8Array => {
  const s = seed++;
  return new Uint8Array(renderPng(randomScene(rng(s)), { size: 128, seed: s }));
};
const images = Array.from({ length: 2 * N + 2 * C + 30 }, freshImage); // rendered before any timing
let next = 0;
const take = () => images[next++] ?? freshImage();

console.log(
  `bench/e2e: ${new Date().toISOString()}, load average ${loadavg()
    .map((x) => f(x))
    .join(" ")} (${process.env.HOSTNAME ?? "this machine"})`,
);
const sessionCfg = benchSessionConfig();
// the workers get the same provider order and thread count as the in-process baseline
const stack = await startStack({
  env: {
    LOG_LEVEL: "info",
    WORKERS,
    EXAMPLES: "0",
    EXECUTION_PROVIDERS: sessionCfg.executionProviders.join(","),
    INTRA_OP_THREADS: String(sessionCfg.intraOpNumThreads),
  },
});
try {
  const api = new MetalmClient(stack.url, { validate: false, apiKey: stack.apiKey });
  // /metrics is admin-only (issue 15): the admin key npm start wrote next to its database
  const admin = new MetalmClient(stack.url, { validate: false, apiKey: readFileSync(join(stack.dataDir, "admin.key"), "utf8").trim() });
  const ready = await api.readyz();
  const model = ready.models[0]!;
  console.log(
    `stack: npm start ready in ${f(stack.readyMs / 1000, 1)} s, ${ready.workers} worker(s), model ${model}${fixture ? " (the random-weight FIXTURE: gpu-worker/models/metalm-tiny missing)" : ""}`,
  );
  const vqaSpec = withModel((await loadExample("vqa")).spec, model) as { steps: Array<{ params?: Record<string, unknown> }> };
  const explainSpec = withModel((await loadExample("vqa-then-explain")).spec, model);

  // in-process baseline: the same package and session settings as the workers (EXECUTION_PROVIDERS, CPU_THREADS)
  const pkg = await loadPackage(dir, sessionCfg);
  const placements = ((await api.models()) as unknown as { name: string; placements?: { workerId: string; executionProvider: string }[] }[]).find(
    (x) => x.name === model,
  )?.placements;
  console.log(
    `providers: workers ${placements?.map((p) => `${p.workerId} on ${p.executionProvider}`).join(", ") ?? "unknown"}; in-process ${providerLine(pkg, sessionCfg)}`,
  );
  const blobs = new Map<string, Uint8Array>();
  const rt = new ModelRuntime(pkg, { getBlob: async (s) => blobs.get(s)!, cacheBytes: 64 * 2 ** 20 });
  const m = pkg.manifest;
  const vision = m.encoders.find((e) => e.modality === "image")!.name;
  const connector = m.connectors.find((c) => c.encoder === vision)!.name;
  const params = { maxTokens: 8, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] as string[] };

  /** encode → connect → decode, as the worker's three jobs do it, in this process. */
  async function inProcess(bytes: Uint8Array): Promise<{ ms: number; text: string }> {
    const t0 = performance.now();
    const sha = sha256(bytes);
    blobs.set(sha, bytes);
    const source = { model: m.name, encoder: vision, image: { sha256: sha } };
    await rt.encode(source);
    await rt.connect({ connector, source });
    const segs: Segment[] = [
      { kind: "span", recipe: { connector, source } },
      { kind: "text", text: `question: ${QUESTION} answer:` },
    ];
    const { prompt } = await rt.buildPrompt(segs);
    const [r] = await rt.decode([{ prompt, params }]);
    const ms = performance.now() - t0;
    blobs.delete(sha);
    return { ms, text: r!.text };
  }

  interface HttpSample {
    ms: number;
    run: Run;
    sentAt: number;
    gotAt: number;
  }
  async function overHttp(bytes: Uint8Array, spec: unknown = vqaSpec, inputs: Record<string, string> = { question: QUESTION }): Promise<HttpSample> {
    const sentAt = Date.now();
    const t0 = performance.now();
    const { run, finished } = await api.createRun({ spec: spec as never, inputs, files: { image: bytes } }, { wait: 60 });
    const ms = performance.now() - t0;
    if (!finished || run.status !== "succeeded") throw new Error(`run ${run.id} ${run.status}: ${JSON.stringify(run.error)}`);
    return { ms, run, sentAt, gotAt: Date.now() };
  }

  // ---------------------------------------------------------------- 1. batch 1: HTTP vs in-process
  for (let i = 0; i < Number(process.env.BENCH_WARMUP ?? 5); i++) {
    await overHttp(take());
    await inProcess(take());
  }
  const httpMs: number[] = [];
  const inMs: number[] = [];
  const diff: number[] = [];
  const parts = {
    toCreated: [] as number[],
    createdToLeased: [] as number[],
    leasedToDone: [] as number[],
    compute: [] as number[],
    doneToFinished: [] as number[],
    finishedToClient: [] as number[],
  };
  const shuffle = rng(7);
  /** Requests the edge served so far, by method and route (its metalm_http_request_duration_seconds histogram). */
  const edgeRequests = async () => {
    const out = new Map<string, number>();
    try {
      for (const mm of (await admin.metrics()).matchAll(/^metalm_http_request_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
        const labels = Object.fromEntries([...mm[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
        const k = `${labels.method} ${labels.route}`;
        out.set(k, (out.get(k) ?? 0) + Number(mm[2]));
      }
    } catch {
      /* an edge without the metric */
    }
    return out;
  };
  const req0 = await edgeRequests();
  const cpu0 = stackCpu(stack.pgid);
  let clientCpu = 0;
  let inCpu = 0;
  const timedHttp = async (img: Uint8Array) => {
    const c = cpuMs();
    const r = await overHttp(img);
    clientCpu += cpuMs() - c;
    return r;
  };
  const timedIn = async (img: Uint8Array) => {
    const c = cpuMs();
    const r = await inProcess(img);
    inCpu += cpuMs() - c;
    return r;
  };
  for (let i = 0; i < N; i++) {
    const a = take();
    const b = take();
    let h: HttpSample;
    let p: { ms: number };
    if (shuffle() < 0.5) {
      h = await timedHttp(a);
      p = await timedIn(b);
    } else {
      p = await timedIn(b);
      h = await timedHttp(a);
    }
    httpMs.push(h.ms);
    inMs.push(p.ms);
    diff.push(h.ms - p.ms);
    const st = h.run.steps;
    const leased = Math.min(...st.map((s) => s.startedAt ?? Infinity));
    const done = Math.max(...st.map((s) => s.finishedAt ?? 0));
    parts.toCreated.push(h.run.createdAt - h.sentAt);
    parts.createdToLeased.push(leased - h.run.createdAt);
    parts.leasedToDone.push(done - leased);
    parts.compute.push(st.reduce((acc, s) => acc + (s.computeMs ?? 0), 0));
    parts.doneToFinished.push((h.run.finishedAt ?? done) - done);
    parts.finishedToClient.push(h.gotAt - (h.run.finishedAt ?? done));
  }
  const cpu1 = stackCpu(stack.pgid);
  const req1 = await edgeRequests();
  const ratio = pct(httpMs, 50) / pct(inMs, 50);
  judge.httpP50 = pct(httpMs, 50);
  judge.inP50 = pct(inMs, 50);
  judge.addedP50 = pct(diff, 50);
  judge.leasedToDone = pct(parts.leasedToDone, 50);
  judge.compute = pct(parts.compute, 50);
  console.log(`\n1. one VQA run (encode → connect → decode, ≤ 8 tokens, fresh image each), ${N} interleaved pairs:`);
  console.log(`                         p50 ms    p99 ms`);
  console.log(`   HTTP (post + wait)  ${f(pct(httpMs, 50)).padStart(8)}  ${f(pct(httpMs, 99)).padStart(8)}`);
  console.log(`   in-process (ORT)    ${f(pct(inMs, 50)).padStart(8)}  ${f(pct(inMs, 99)).padStart(8)}`);
  console.log(`   ratio p50 ${f(ratio)}× (target ≤ 1.5×)   added per run: p50 ${f(pct(diff, 50))} ms, p99 ${f(pct(diff, 99))} ms (target ≤ 5 ms p50)`);
  console.log(`   where the HTTP run's time goes (p50, ms; server clock, 1 ms resolution):`);
  console.log(`     client send → run stored (upload, multipart, sha256, validate, plan, insert)  ${f(pct(parts.toCreated, 50), 0)}`);
  console.log(`     run stored → first step leased (lease long-poll wake-up, claim)               ${f(pct(parts.createdToLeased, 50), 0)}`);
  console.log(`     first leased → last step result applied (worker: blob fetch, batcher, compute, results)  ${f(pct(parts.leasedToDone, 50), 0)}`);
  console.log(
    `       of which in the batch compute slot (sum of computeMs; the worker prefetches images and encoder outputs outside it)  ${f(pct(parts.compute, 50), 1)}`,
  );
  console.log(`     last result → run finished                                                   ${f(pct(parts.doneToFinished, 50), 0)}`);
  console.log(`     run finished → client has the answer (wait wake-up, read run, respond)       ${f(pct(parts.finishedToClient, 50), 0)}`);
  const hops = [...req1]
    .map(([k, n]) => [k, (n - (req0.get(k) ?? 0)) / N] as const)
    .filter(([k, n]) => n > 0 && !k.includes("/metrics"))
    .sort((a, b) => b[1] - a[1]);
  if (hops.length) {
    judge.requests = hops.reduce((acc, [, n]) => acc + n, 0);
    judge.requestsDetail = hops.map(([k, n]) => `${k.replace(/^(\w+) \/v1\/(pool\/)?/, "")} ${f(n, 2)}`).join(", ");
    console.log(
      `   requests the edge served per run: ${f(
        hops.reduce((acc, [, n]) => acc + n, 0),
        1,
      )} — ${hops.map(([k, n]) => `${k} ${f(n, 2)}`).join(", ")}`,
    );
  }
  if (cpu0 && cpu1) {
    const per = (x: number) => f(x / N, 1);
    judge.edgeCpu = (cpu1.edge - cpu0.edge) / N;
    judge.workerCpu = (cpu1.workers - cpu0.workers) / N;
    judge.inCpu = inCpu / N;
    console.log(
      `   CPU time per run (ms; depends less on the load than wall time): edge ${per(cpu1.edge - cpu0.edge)} + worker ${per(cpu1.workers - cpu0.workers)} + client ${per(clientCpu)}  vs  in-process ${per(inCpu)}`,
    );
  }

  // ---------------------------------------------------------------- 2. VQA → explain: encoder once
  const scrape = async () => {
    let enc = 0;
    let conn = 0;
    for (const url of stack.workerMetricsUrls()) {
      const text = await (await fetch(url)).text();
      for (const mm of text.matchAll(/^metalm_worker_encoder_runs\{[^}]*encoder="vision"[^}]*\} (\d+)/gm)) enc += Number(mm[1]);
      for (const mm of text.matchAll(/^metalm_worker_connector_runs\{[^}]*connector="vision"[^}]*\} (\d+)/gm)) conn += Number(mm[1]);
    }
    return { enc, conn };
  };
  {
    const before = await scrape();
    const h = await overHttp(take(), explainSpec, { question: "what is on the left?" });
    const after = await scrape();
    const enc = after.enc - before.enc;
    const conn = after.conn - before.conn;
    console.log(
      `\n2. VQA → explain on one image (run ${h.run.id}, ${f(h.ms, 1)} ms): vision encoder ran ${enc}×, vision connector ${conn}× (worker /metrics: metalm_worker_encoder_runs, metalm_worker_connector_runs) — ${enc === 1 && conn === 1 ? "exactly once ✓" : "NOT once ✗"}`,
    );
    console.log(`   steps: ${h.run.steps.map((s) => `${s.id} ${s.status}${s.cacheHit ? " (encoder cache hit)" : ""}`).join(", ")}`);
    if (stack.workerMetricsUrls().length === 0) console.log("   (no worker metrics URL found in the logs)");
  }

  // ---------------------------------------------------------------- 3. 64 concurrent vs one at a time
  /** Jobs and batches per op so far, from the workers' metalm_worker_batch_size histograms. */
  const batches = async () => {
    const out = new Map<string, { jobs: number; batches: number }>();
    for (const url of stack.workerMetricsUrls()) {
      const text = await (await fetch(url)).text();
      for (const mm of text.matchAll(/^metalm_worker_batch_size_(sum|count)\{op="(\w+)"\} (\d+)/gm)) {
        const e = out.get(mm[2]!) ?? { jobs: 0, batches: 0 };
        if (mm[1] === "sum") e.jobs += Number(mm[3]);
        else e.batches += Number(mm[3]);
        out.set(mm[2]!, e);
      }
    }
    return out;
  };
  const meanBatch = (a: Map<string, { jobs: number; batches: number }>, b: Map<string, { jobs: number; batches: number }>) =>
    [...b]
      .map(([op, e]) => {
        const j = e.jobs - (a.get(op)?.jobs ?? 0);
        const n = e.batches - (a.get(op)?.batches ?? 0);
        return n ? `${op} ${f(j / n, 1)}` : "";
      })
      .filter(Boolean)
      .join(", ");
  {
    const seqImgs = Array.from({ length: C }, take);
    const conImgs = Array.from({ length: C }, take);
    const b0 = await batches();
    const k0 = stackCpu(stack.pgid);
    const u0 = cpuMs();
    const t0 = performance.now();
    const seq: number[] = [];
    for (const img of seqImgs) seq.push((await overHttp(img)).ms);
    const seqWall = performance.now() - t0;
    const u1 = cpuMs();
    const k1 = stackCpu(stack.pgid);
    const b1 = await batches();
    const k2 = stackCpu(stack.pgid);
    const u2 = cpuMs();
    const t1 = performance.now();
    const con = await Promise.all(conImgs.map(async (img) => (await overHttp(img)).ms));
    const conWall = performance.now() - t1;
    const u3 = cpuMs();
    const k3 = stackCpu(stack.pgid);
    const b2 = await batches();
    const seqTput = (C / seqWall) * 1000;
    const conTput = (C / conWall) * 1000;
    judge.seqTput = seqTput;
    judge.conTput = conTput;
    judge.decodeBatch = meanBatch(b1, b2).match(/decode ([\d.]+)/)?.[1];
    console.log(`\n3. ${C} VQA runs over HTTP, fresh images:`);
    console.log(`                      runs/s    p50 ms    p99 ms`);
    console.log(`   one at a time    ${f(seqTput, 1).padStart(7)}  ${f(pct(seq, 50)).padStart(8)}  ${f(pct(seq, 99)).padStart(8)}`);
    console.log(`   ${String(C).padStart(2)} concurrent    ${f(conTput, 1).padStart(7)}  ${f(pct(con, 50)).padStart(8)}  ${f(pct(con, 99)).padStart(8)}`);
    console.log(
      `   throughput ${f(conTput / seqTput)}× one at a time; mean worker batch size one at a time: ${meanBatch(b0, b1)}; concurrent: ${meanBatch(b1, b2)}`,
    );
    // at C concurrent runs the 2 cores are the limit: throughput ≈ cores / (CPU per run, all processes)
    if (k0 && k1 && k2 && k3) {
      const per = (a: { edge: number; workers: number }, b: { edge: number; workers: number }, client: number) =>
        `edge ${f((b.edge - a.edge) / C, 1)} + worker ${f((b.workers - a.workers) / C, 1)} + client ${f(client / C, 1)}`;
      console.log(`   CPU per run (ms, 10 ms ticks over ${C} runs): one at a time ${per(k0, k1, u1 - u0)}; concurrent ${per(k2, k3, u3 - u2)}`);
    }
  }
  console.log(
    `\nload average at the end of the stack's sections: ${loadavg()
      .map((x) => f(x))
      .join(" ")}`,
  );
} finally {
  await stack.stop();
}

// ---------------------------------------------------------------- 4. the edge and worker benches
if (process.env.BENCH_SUBS !== "0") {
  const sub = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync("npx", ["tsx", ...args], { cwd: new URL("..", import.meta.url), env: { ...process.env, ...env }, encoding: "utf8", timeout: 600_000 });
    return `${r.stdout ?? ""}${r.stderr ?? ""}`;
  };
  const edgeOut = sub(["bench/edge.ts", "--seconds", "2", "--posts", "500"]);
  judge.postP99 = Number(/"POST \/v1\/runs p99 ms": ([\d.]+)/.exec(edgeOut)?.[1] ?? NaN);
  judge.postCpuUs = Number(/"edge CPU µs per POST": ([\d.]+)/.exec(edgeOut)?.[1] ?? NaN);
  console.log(`\n4. bench/edge.ts: POST /v1/runs p99 ${f(judge.postP99)} ms, ${f(judge.postCpuUs / 1000)} ms edge CPU per POST`);
  const workerOut = sub(["bench/worker.ts"], { BENCH_ONLY: "1,2" });
  judge.kv = Number(/→\s+([\d.]+)× faster with the cache/.exec(workerOut)?.[1] ?? NaN);
  judge.batching = Math.max(...[...workerOut.matchAll(/→\s+([\d.]+)× throughput/g)].map((m) => Number(m[1])));
  console.log(`   bench/worker.ts: KV cache vs recompute ${f(judge.kv, 1)}×; best batching ${f(judge.batching, 1)}×`);
}

// ---------------------------------------------------------------- issue #12's table
{
  const j = judge;
  const ok = (b: boolean | undefined) => (b === undefined ? "?" : b ? "✓" : "✗");
  const num = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? "—" : f(x, d));
  const ratio = j.httpP50 !== undefined && j.inP50 ? j.httpP50 / j.inP50 : undefined;
  const tput = j.seqTput && j.conTput ? j.conTput / j.seqTput : undefined;
  const rows: [string, string, string, string][] = [
    [
      "VQA run over HTTP vs the same encode → connect → decode in-process, p50",
      `${num(j.httpP50)} vs ${num(j.inP50)} ms = ${num(ratio, 2)}×, +${num(j.addedP50)} ms`,
      "≤ 1.5×, ≤ 5 ms added",
      ok(ratio !== undefined && j.addedP50 !== undefined ? ratio <= 1.5 && j.addedP50 <= 5 : undefined),
    ],
    [
      "requests the edge serves per run",
      `${num(j.requests)} (${j.requestsDetail ?? "?"})`,
      "≤ 3",
      ok(j.requests !== undefined ? j.requests <= 3.05 : undefined),
    ],
    [
      "CPU per run: edge + worker vs in-process",
      `${num(j.edgeCpu)} + ${num(j.workerCpu)} ms vs ${num(j.inCpu)} ms`,
      "edge ≤ 4 ms, worker ≤ in-process + 2 ms",
      ok(j.edgeCpu !== undefined && j.workerCpu !== undefined && j.inCpu !== undefined ? j.edgeCpu <= 4 && j.workerCpu <= j.inCpu + 2 : undefined),
    ],
    ["first lease → last result (of which batch compute)", `${num(j.leasedToDone, 0)} ms (${num(j.compute)} ms)`, "", ""],
    [
      `${C} concurrent runs vs one at a time`,
      `${num(j.conTput)} vs ${num(j.seqTput)} runs/s = ${num(tput, 2)}×; decode batches of ${j.decodeBatch ?? "?"}`,
      "≥ 3×",
      ok(tput !== undefined ? tput >= 3 : undefined),
    ],
    [
      "`bench/edge.ts`: POST /v1/runs p99",
      `${num(j.postP99)} ms (${num(j.postCpuUs === undefined ? undefined : j.postCpuUs / 1000, 2)} ms edge CPU per POST)`,
      "< 10 ms",
      ok(j.postP99 !== undefined && !Number.isNaN(j.postP99) ? j.postP99 < 10 : undefined),
    ],
    [
      "`bench/worker.ts`: KV cache vs recompute (32 tokens after the VQA prompt); best batching",
      `${num(j.kv)}×; ${num(j.batching)}×`,
      "≥ 4×; ≥ 3×",
      `${ok(j.kv !== undefined && !Number.isNaN(j.kv) ? j.kv >= 4 : undefined)}; ${ok(j.batching !== undefined && Number.isFinite(j.batching) ? j.batching >= 3 : undefined)}`,
    ],
  ];
  console.log(
    `\nissue #12 — measured in this run (load average at start ${j.loadStart}, at end ${loadavg()
      .map((x) => f(x))
      .join(" ")}; ${process.env.HOSTNAME ?? "this machine"}, 2 vCPUs shared):\n`,
  );
  console.log("| | measured | target | |\n|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}
