/**
 * The GPU check of issue 14: the gpu-worker's own code on WebGPU against the CPU, one table.
 *
 * Per configuration (`webgpu`, `cpu` = 1 intra-op thread, `cpu@8` = 8) the worker's path —
 * `configFromEnv` → `loadRuntimes` → `ModelRuntime` / `generate` / `JobExecutor` /
 * `DynamicBatcher` — on bench/vqa.ts's workload: the execution provider each model actually runs
 * on (advert and receipt), greedy tokens of 64 VQA prompts at batch 1, 32 and 64, then median
 * timings. A configuration that asked for a GPU provider and got another (a fallback to CPU, even
 * for one graph) makes the run INVALID: no table, exit 3.
 *
 * Runs from the checkout (`npx tsx bench/gpu/bench.ts`) or bundled by bench/gpu/build.sh and run by
 * bench/gpu/run.sh on a machine with no Node.js of its own.
 *
 * Env: GPU_BENCH_CONFIGS (default "webgpu cpu cpu@8": EXECUTION_PROVIDERS values, "@n" = n intra-op
 * threads), GPU_BENCH_MODEL_DIR (default the checkout's gpu-worker/models/metalm-tiny),
 * GPU_BENCH_REPS (timed runs per median, default 20), GPU_BENCH_WARMUP (default 3),
 * GPU_BENCH_MAX_MEASURE_S (a median stops after 3 runs once it has used this; default 5),
 * GPU_BENCH_BATCHER_REPS (timed rounds of 64 jobs, default 3), GPU_BENCH_MD (also write the
 * result, markdown, to this file).
 * Exit: 0 table printed; 3 INVALID (a provider fell back); 4 tokens differ from the CPU's; 1 error.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import type { JobResult } from "../../workflows/index.js";
import { DynamicBatcher } from "../../gpu-worker/src/batcher/index.js";
import { decoderForward, newKvCache, type Embedded } from "../../gpu-worker/src/generate/forward.js";
import { generate } from "../../gpu-worker/src/generate/generate.js";
import type { KvCache } from "../../gpu-worker/src/generate/kv-cache.js";
import { JobExecutor, type JobItem } from "../../gpu-worker/src/job/execute.js";
import type { ModelPackage } from "../../gpu-worker/src/package/load.js";
import { checkedRun, ortVersion } from "../../gpu-worker/src/package/session.js";
import { configFromEnv, maxBatchFor } from "../../gpu-worker/src/worker/config.js";
import { advertOf, loadRuntimes } from "../../gpu-worker/src/worker/models.js";
import { greedy, sceneImages, vqaWorkload } from "../vqa.js";

const env = process.env;
const num = (v: string | undefined, def: number) => (v && Number.isFinite(Number(v)) ? Number(v) : def);
const REPS = Math.max(1, num(env.GPU_BENCH_REPS, 20));
const WARMUP = Math.max(0, num(env.GPU_BENCH_WARMUP, 3));
const BUDGET_MS = 1000 * num(env.GPU_BENCH_MAX_MEASURE_S, 5);
const BATCHER_REPS = Math.max(1, num(env.GPU_BENCH_BATCHER_REPS, 3));
const MODEL_DIR = env.GPU_BENCH_MODEL_DIR ?? fileURLToPath(new URL("../../gpu-worker/models/metalm-tiny", import.meta.url));
// `<providers>[@threads][/kvcopy]`: /kvcopy = KV_ON_DEVICE=0 (the KV cache copied through JS every step, as before it stayed on the device)
const CONFIGS = (env.GPU_BENCH_CONFIGS ?? "webgpu webgpu/kvcopy cpu cpu@8")
  .split(/\s+/)
  .filter(Boolean)
  .map((label) => {
    const [head, flag] = label.split("/");
    const [providers, threads] = head!.split("@");
    return { label, providers: providers!, threads: Number(threads ?? 1), kvOnDevice: flag !== "kvcopy" };
  });
const N = 64;
const BATCHES = [1, 32, 64];

interface Timing {
  ms: number;
  n: number;
}
interface Measured {
  label: string;
  /** What the worker would advertise and put in receipts. */
  provider: string;
  requested: string[];
  fallbacks: { provider: string; reason: string }[];
  tokens: Record<number, number[][]>;
  /** Prompt positions of the 64 VQA prompts (padded to the longest). */
  T?: number;
  t: Partial<Record<RowKey, Timing>>;
  jobsPerS?: number;
}
type RowKey = "vision" | "prefill" | "step1" | "step64" | "job" | "batcher";

const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/**
 * Median of up to REPS timed calls after up to WARMUP untimed ones; `prep` runs untimed before each.
 * A slow op (software Vulkan, say) stops warming up after one call past BUDGET_MS and timing after 3.
 */
async function timeIt<P>(fn: (p: P) => Promise<unknown>, prep: () => P | Promise<P> = () => undefined as P): Promise<Timing> {
  const warm = performance.now();
  for (let i = 0; i < WARMUP && !(i > 0 && performance.now() - warm > BUDGET_MS); i++) await fn(await prep());
  const xs: number[] = [];
  const start = performance.now();
  while (xs.length < REPS && !(xs.length >= 3 && performance.now() - start > BUDGET_MS)) {
    const p = await prep();
    const t0 = performance.now();
    await fn(p);
    xs.push(performance.now() - t0);
  }
  return { ms: med(xs), n: xs.length };
}
const log = (s: string) => console.log(s);

/** A deterministic float32 tensor in [-1, 1) (pixel values after normalization). */
function noise(dims: number[], seed: number): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    data[i] = a / 2 ** 31 - 1;
  }
  return new ort.Tensor("float32", data, dims);
}

async function measure(conf: (typeof CONFIGS)[number]): Promise<Measured> {
  const scenes = sceneImages();
  const cfg = configFromEnv({
    EXECUTION_PROVIDERS: conf.providers,
    INTRA_OP_THREADS: String(conf.threads),
    KV_ON_DEVICE: conf.kvOnDevice ? "1" : "0",
    MODELS_DIR: MODEL_DIR,
    MAX_BATCH: String(N),
    WORKER_ID: "gpu-bench",
  });
  const warnings: string[] = [];
  const t0 = performance.now();
  const runtimes = await loadRuntimes(
    cfg.modelsDir,
    {
      executionProviders: cfg.executionProviders,
      intraOpNumThreads: cfg.intraOpNumThreads,
      interOpNumThreads: cfg.interOpNumThreads,
      kvOnDevice: cfg.kvOnDevice,
    },
    { cacheBytes: cfg.encoderCacheBytes, maxImagePixels: cfg.maxImagePixels, getBlob: scenes.getBlob },
    (m) => warnings.push(m),
  );
  const rt = [...runtimes.values()][0]!;
  const pkg = rt.pkg;
  const m = pkg.manifest;
  const ad = advertOf(rt);
  const out: Measured = {
    label: conf.label,
    provider: ad.executionProvider ?? "?",
    requested: ad.requestedProviders ?? [],
    fallbacks: ad.providerFallbacks ?? [],
    tokens: {},
    t: {},
  };
  log(`\n== ${conf.label}: EXECUTION_PROVIDERS=${conf.providers} INTRA_OP_THREADS=${conf.threads} KV_ON_DEVICE=${conf.kvOnDevice ? 1 : 0}`);
  if (conf.kvOnDevice && conf.providers.startsWith("webgpu") && !pkg.kvDevice) log("   warning: KV cache NOT on the device");
  log(
    `   ${m.name} ${m.version} loaded in ${(performance.now() - t0).toFixed(0)} ms; advert: executionProvider "${out.provider}", requested ${out.requested.join(",")}`,
  );
  for (const f of out.fallbacks) log(`   FALLBACK from ${f.provider}: ${f.reason}`);
  for (const w of warnings) log(`   warning: ${w}`);
  const wanted = cfg.executionProviders[0] ?? "cpu";
  if (out.provider !== wanted || out.fallbacks.length) {
    await pkg.release();
    return out; // INVALID: the caller reports it
  }
  try {
    const w = vqaWorkload(m, scenes);
    const noEos: ModelPackage = { ...pkg, manifest: { ...m, decoder: { ...m.decoder, specialTokens: { ...m.decoder.specialTokens, eos: -1 } } } };
    const prompts: Embedded[] = [];
    for (let i = 0; i < N; i++) prompts.push((await rt.buildPrompt(w.segments(i))).prompt);

    // greedy tokens (exactly 8: eos off) of the 64 prompts, in batches of 1, 32 and 64
    for (const B of BATCHES) {
      const rows: number[][] = [];
      for (let i = 0; i < N; i += B) {
        const reqs = prompts.slice(i, i + B).map((prompt) => ({ prompt, params: greedy(8) }));
        rows.push(...(await generate(noEos, reqs)).map((r) => r.tokens));
      }
      out.tokens[B] = rows;
    }
    log(
      `   greedy tokens, prompts 0..3 at B=1: ${out.tokens[1]!.slice(0, 4)
        .map((t) => JSON.stringify(pkg.tokenizer.decode(t)))
        .join(" | ")}`,
    );

    // vision encoder, B=64: the package's session run directly (no runtime, no cache)
    const enc = pkg.encoders.get(w.visionEncoder)!;
    const spec = m.encoders.find((e) => e.name === w.visionEncoder)!;
    const S = spec.modality === "image" ? spec.image.size : 64;
    const pixels = { [enc.session.inputNames[0]!]: noise([N, 3, S, S], 1) };
    out.t.vision = await timeIt(() => checkedRun(enc.session, pixels, enc.spec.graph));

    // decoder prefill B=64, and one KV step (T=1 after the prompt) at B=1 and B=64
    out.T = Math.max(...prompts.map((p) => p.length));
    out.t.prefill = await timeIt(
      async (cache: KvCache) => {
        await decoderForward(pkg, prompts, cache);
        cache.dispose();
      },
      () => newKvCache(pkg, N),
    );
    const filled = newKvCache(pkg, N);
    await decoderForward(pkg, prompts, filled);
    const H = m.decoder.hiddenSize;
    for (const [B, key] of [
      [1, "step1"],
      [N, "step64"],
    ] as const) {
      const rows = prompts.slice(0, B).map((p) => ({ data: p.data.subarray(0, H), length: 1 }));
      out.t[key] = await timeIt(
        async (cache: KvCache) => {
          await decoderForward(pkg, rows, cache);
          cache.dispose();
        },
        () => filled.select(rows.map((_, b) => b)),
      );
    }
    filled.dispose();

    // one VQA job through the JobExecutor, encoder cache cleared before each (image decode + encode + connect + decode)
    const ex = new JobExecutor(runtimes, "gpu-bench");
    let receipt = "";
    out.t.job = await timeIt(async () => {
      rt.cache.clear();
      const r = await ex.executeJob(w.job(0));
      if (!r.ok) throw new Error(`job failed: ${JSON.stringify(r.error)}`);
      receipt = r.receipt.executionProvider;
    });
    log(`   receipt of a job: executionProvider "${receipt}"`);

    // 64 concurrent VQA jobs through the DynamicBatcher (encoder cache warm: the 64 prompts above filled it)
    const maxBatch = maxBatchFor(cfg, pkg.executionProvider);
    const walls: number[] = [];
    let sizes: number[] = [];
    for (let rep = 0; rep <= BATCHER_REPS; rep++) {
      sizes = [];
      const b = new DynamicBatcher<JobItem, JobResult>({
        maxBatchSize: maxBatch,
        maxQueueDelayMs: 2,
        keyOf: ({ job }) => `${job.model}:${job.op}`,
        run: (items) => ex.executeBatch(items),
        onBatch: (s) => sizes.push(s),
      });
      const s0 = performance.now();
      const rs = await Promise.all(Array.from({ length: N }, (_, i) => b.submit({ job: w.job(i) })));
      if (rep > 0) walls.push(performance.now() - s0); // round 0 warms up
      const bad = rs.find((r) => !r.ok || r.receipt.executionProvider !== pkg.executionProvider);
      if (bad) throw new Error(`batcher: ${JSON.stringify(bad).slice(0, 300)}`);
    }
    out.t.batcher = { ms: med(walls), n: walls.length };
    out.jobsPerS = (N * 1000) / med(walls);
    log(`   DynamicBatcher(maxBatch ${maxBatch}): batches of ${sizes.join(",")}; ${out.jobsPerS.toFixed(0)} jobs/s`);
  } finally {
    await pkg.release();
  }
  return out;
}

// ---------------------------------------------------------------- run
const md: string[] = [];
const emit = (s = "") => {
  console.log(s);
  md.push(s);
};
function finish(code: number): never {
  if (env.GPU_BENCH_MD) writeFileSync(env.GPU_BENCH_MD, `${md.join("\n")}\n`);
  process.exit(code);
}

log(`gpu-bench: node ${process.version} ${process.platform}-${process.arch}, ${cpus().length} CPUs, onnxruntime-node ${ortVersion}`);
log(
  `model ${MODEL_DIR}; configs ${CONFIGS.map((c) => c.label).join(", ")}; medians of ≤ ${REPS} after ${WARMUP} warm-up; VK_DRIVER_FILES=${env.VK_DRIVER_FILES ?? ""}`,
);
const results: Measured[] = [];
for (const conf of CONFIGS) {
  let r: Measured;
  try {
    r = await measure(conf);
  } catch (e) {
    emit(`\n**ERROR** in ${conf.label}: ${(e as Error).stack ?? e}`);
    finish(1);
  }
  results.push(r);
  const wanted = conf.providers.split(",")[0]!.trim().toLowerCase();
  if (r.provider !== wanted || r.fallbacks.length) {
    emit(`\n**INVALID**: ${conf.label} asked for \`${wanted}\` and runs on \`${r.provider}\` (requested ${r.requested.join(",")}).`);
    for (const f of r.fallbacks) emit(`- fallback from ${f.provider}: ${f.reason}`);
    emit(`No table: its numbers would be the CPU's under the GPU's name. Check the Vulkan loader and ICD (VK_DRIVER_FILES=${env.VK_DRIVER_FILES ?? ""}).`);
    finish(3);
  }
}

const byLabel = new Map(results.map((r) => [r.label, r]));
const ms = (t: Timing | undefined) => (t ? `${t.ms < 10 ? t.ms.toFixed(2) : t.ms.toFixed(1)}${t.n < REPS && t.n < 10 ? ` (n=${t.n})` : ""}` : "");
const rows: [string, (r: Measured) => string][] = [
  [`vision encoder, B=${N} (plain ORT session)`, (r) => ms(r.t.vision)],
  [`decoder prefill T=${results[0]?.T ?? "?"}, B=${N}`, (r) => ms(r.t.prefill)],
  ["decoder one KV step, B=1", (r) => ms(r.t.step1)],
  [`decoder one KV step, B=${N}`, (r) => ms(r.t.step64)],
  ["one VQA job via JobExecutor, encoder miss", (r) => ms(r.t.job)],
  [`${N} VQA jobs via DynamicBatcher (max ${N}), jobs/s`, (r) => (r.jobsPerS ? r.jobsPerS.toFixed(0) : "")],
];
emit(`\n| median ms | ${results.map((r) => `${r.label} (${r.provider})`).join(" | ")} |`);
emit(`|---|${results.map(() => "---|").join("")}`);
for (const [name, cell] of rows) emit(`| ${name} | ${results.map(cell).join(" | ")} |`);

// verdicts (issue 14's "done when")
const gpu = results.find((r) => r.provider !== "cpu");
const cpu = byLabel.get("cpu") ?? results.find((r) => r.provider === "cpu");
const cpu8 = byLabel.get("cpu@8");
emit("");
let tokensOk = true;
if (gpu && cpu) {
  for (const g of results.filter((r) => r.provider !== "cpu")) {
    let ok = true;
    const same = BATCHES.map((B) => {
      const a = g.tokens[B] ?? [];
      const b = cpu.tokens[B] ?? [];
      const n = a.filter((t, i) => t.join() === b[i]?.join()).length;
      if (n !== N) ok = false;
      return `B=${B} ${n}/${N}`;
    });
    if (!ok) tokensOk = false;
    emit(`- greedy tokens, ${g.label} vs ${cpu.label}, ${N} VQA prompts × 8 tokens: ${same.join(", ")} identical — **${ok ? "PASS" : "FAIL"}**`);
  }
  const step = gpu.t.step1?.ms;
  emit(`- ${gpu.label} one KV step at B=1 ≤ 2 ms: ${step?.toFixed(2)} ms — **${step !== undefined && step <= 2 ? "PASS" : "FAIL"}**`);
  if (cpu8?.jobsPerS && gpu.jobsPerS) {
    const x = gpu.jobsPerS / cpu8.jobsPerS;
    emit(
      `- ${gpu.label} ≥ 2× cpu@8 on ${N} jobs through the batcher: ${gpu.jobsPerS.toFixed(0)} vs ${cpu8.jobsPerS.toFixed(0)} jobs/s = ${x.toFixed(2)}× — **${x >= 2 ? "PASS" : "FAIL"}**`,
    );
  }
} else emit("- verdicts need a GPU configuration and `cpu` (GPU_BENCH_CONFIGS)");
finish(tokensOk ? 0 : 4);
