/**
 * Sustained load, two configurations side by side in one run (`npx tsx bench/sustained.ts`): two
 * stacks as `npm start` starts them (edge + 1 worker each), A with the env in BENCH_A_ENV and B with
 * BENCH_B_ENV (default: A = `WORKER_HEAP_GROWING_PERCENT=0`, V8's own old-generation sizing; B = the
 * shipped defaults), driven in alternating blocks of VQA runs (fresh image each, `Prefer: wait`),
 * so a load change on the machine hits both alike. Unlike bench/e2e.ts (≈ 200 runs per stack) it
 * runs long enough for V8's steady state: after ~700 runs a worker's old-generation limit settles,
 * and what its garbage collector then does per run shows. Per configuration it prints runs/s, the
 * CPU per run of the edge and the worker (Linux /proc, split into each process's main thread and
 * its other threads: V8's GC and compiler helpers, the SQLite checkpoint thread), and the worker's
 * GC counts by kind from its /metrics (prom-client's `nodejs_gc_duration_seconds`).
 * Env: BENCH_RUNS (runs per configuration after warm-up, default 2000), BENCH_BLOCK (runs per
 * block, 250), BENCH_CONCURRENCY (runs in flight, default 1), BENCH_WARMUP (runs per stack first,
 * 500), BENCH_A_ENV / BENCH_B_ENV ("K=V K2=V2").
 */
import { loadavg } from "node:os";
import { MetalmClient } from "../cli/client.js";
import { randomScene, renderPng, rng } from "../gpu-worker/eval/shapes.js";
import { type Stack, startStack } from "../test/e2e/stack.js";
import { loadExample, withModel } from "../workflows/examples/index.js";
import { groupProcesses, threadTicks } from "./proc.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 2000);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 250);
const C = Number(process.env.BENCH_CONCURRENCY ?? 1);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500);
const parseEnv = (s: string) =>
  Object.fromEntries(
    s
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
const configs = [
  { name: "A", env: parseEnv(process.env.BENCH_A_ENV ?? "WORKER_HEAP_GROWING_PERCENT=0") },
  { name: "B", env: parseEnv(process.env.BENCH_B_ENV ?? "") },
];
const f = (x: number, d = 2) => x.toFixed(d);

/** CPU ticks (10 ms) of a stack's edge and worker processes, each as main thread vs the other threads. */
function stackTicks(pgid: number): Record<"edge" | "worker", { main: number; other: number }> {
  const out = { edge: { main: 0, other: 0 }, worker: { main: 0, other: 0 } };
  for (const p of groupProcesses(pgid)) {
    if (!p.cmd.includes("/node")) continue;
    const who = p.cmd.includes("worker.ts") ? out.worker : p.cmd.includes("start.ts") ? out.edge : undefined;
    if (!who) continue;
    try {
      const t = threadTicks(p.pid);
      who.main += t.main;
      who.other += t.other;
    } catch {
      /* a process that ended */
    }
  }
  return out;
}

/** The worker's GC counts and seconds by kind (major, minor, incremental, weakcb) from its /metrics. */
async function gcStats(stack: Stack): Promise<Record<string, { n: number; s: number }>> {
  const r: Record<string, { n: number; s: number }> = {};
  for (const url of stack.workerMetricsUrls()) {
    const text = await (await fetch(url)).text();
    for (const m of text.matchAll(/^metalm_worker_nodejs_gc_duration_seconds_(count|sum)\{kind="(\w+)"\} ([\d.e+-]+)$/gm)) {
      const k = (r[m[2]!] ??= { n: 0, s: 0 });
      if (m[1] === "count") k.n += Number(m[3]);
      else k.s += Number(m[3]);
    }
  }
  return r;
}

console.log(
  `bench/sustained: ${new Date().toISOString()}, load average ${loadavg()
    .map((x) => f(x))
    .join(" ")}; ${RUNS} runs per configuration in blocks of ${BLOCK}, ${C} in flight, after ${WARMUP} warm-up runs each`,
);
for (const c of configs)
  console.log(
    `  ${c.name}: ${
      Object.entries(c.env)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ") || "(the defaults)"
    }`,
  );
let seed = 20_000;
const total = 2 * (RUNS + WARMUP) + 2 * C;
const images = Array.from({ length: total }, () => {
  const s = seed++;
  return new Uint8Array(renderPng(randomScene(rng(s)), { size: 128, seed: s }));
});
let next = 0;
const stacks = await Promise.all(configs.map((c) => startStack({ env: { LOG_LEVEL: "info", WORKERS: "1", EXAMPLES: "0", RATE_LIMIT_RPS: "0", ...c.env } })));
try {
  const sides = await Promise.all(
    stacks.map(async (stack, i) => {
      const api = new MetalmClient(stack.url, { validate: false, apiKey: stack.apiKey });
      const model = (await api.readyz()).models[0]!;
      const spec = withModel((await loadExample("vqa")).spec, model);
      const one = async () => {
        const { run, finished } = await api.createRun(
          { spec: spec as never, inputs: { question: "how many objects are there?" }, files: { image: images[next++]! } },
          { wait: 60 },
        );
        if (!finished || run.status !== "succeeded") throw new Error(`run ${run.id} ${run.status}`);
      };
      const block = async (n: number) => {
        let left = n;
        await Promise.all(
          Array.from({ length: C }, async () => {
            while (left-- > 0) await one();
          }),
        );
      };
      return { name: configs[i]!.name, stack, block, wall: 0, runs: 0, gc: {} as Record<string, { n: number; s: number }> };
    }),
  );
  for (const s of sides) await s.block(WARMUP); // one after the other: the idle stack waits
  for (const s of sides) s.gc = await gcStats(s.stack);
  const after = sides.map(() => ({ edge: { main: 0, other: 0 }, worker: { main: 0, other: 0 } }));
  for (let done = 0; done < RUNS; done += BLOCK) {
    const n = Math.min(BLOCK, RUNS - done);
    // alternate which side goes first
    const order = (done / BLOCK) % 2 ? [1, 0] : [0, 1];
    for (const i of order) {
      const s = sides[i]!;
      const t0 = stackTicks(s.stack.pgid);
      const w0 = performance.now();
      await s.block(n);
      s.wall += performance.now() - w0;
      s.runs += n;
      const t1 = stackTicks(s.stack.pgid);
      for (const p of ["edge", "worker"] as const) for (const k of ["main", "other"] as const) after[i]![p][k] += t1[p][k] - t0[p][k];
    }
  }
  console.log(
    "\n              runs/s   edge CPU per run (main + other threads)   worker CPU per run (main + other)   worker GC per 1000 runs: count (ms) by kind",
  );
  for (const [i, s] of sides.entries()) {
    const gc1 = await gcStats(s.stack);
    const per = (ticks: number) => (ticks * 10) / s.runs;
    const a = after[i]!;
    const gcLine = Object.keys(gc1)
      .sort()
      .map((k) => {
        const n = gc1[k]!.n - (s.gc[k]?.n ?? 0);
        const ms = (gc1[k]!.s - (s.gc[k]?.s ?? 0)) * 1000;
        return `${k} ${f((n * 1000) / s.runs, 1)} (${f((ms * 1000) / s.runs, 0)})`;
      })
      .join(", ");
    console.log(
      `  ${s.name}  ${f((s.runs * 1000) / s.wall, 1).padStart(12)}   ${f(per(a.edge.main + a.edge.other))} ms (${f(per(a.edge.main))} + ${f(per(a.edge.other))})`.padEnd(
        75,
      ) +
        `${f(per(a.worker.main + a.worker.other))} ms (${f(per(a.worker.main))} + ${f(per(a.worker.other))})`.padEnd(36) +
        gcLine,
    );
  }
  console.log(
    `\nload average at the end ${loadavg()
      .map((x) => f(x))
      .join(" ")}`,
  );
} catch (e) {
  for (const [i, s] of stacks.entries()) console.error(`--- stack ${configs[i]!.name} output (tail):\n${s.output().slice(-3000)}`);
  throw e;
} finally {
  await Promise.all(stacks.map((s) => s.stop()));
}
