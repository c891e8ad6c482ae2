/**
 * Where one VQA run's wall time goes, hop by hop, across the client, the edge and the worker:
 * `npx tsx bench/critical-path.ts [runs=200]`. Starts the stack as `npm start` does (1 worker) with
 * METALM_TRACE_DIR set, so the edge and the worker write timestamps of fixed points of a run
 * (`traceRun`, workflows/src/trace.ts: one clock for all processes on this machine); runs VQA runs
 * one at a time (multipart POST + `Prefer: wait`, a fresh image each, after 100 unmeasured ones)
 * and prints, for each step from one point to the next, the median over the runs.
 * Points: client.send / client.got (this process), edge.post (the create handler starts: the
 * request's headers are parsed and its middleware ran), edge.created (the run is committed),
 * edge.leased.<step> (a lease answer is built for the job), worker.leased.<step> (the worker has
 * the parsed answer), worker.prefetched.<step> (images decoded, encoder and connector run),
 * worker.finished.<step>, worker.post / worker.posted (the results post), edge.results.<step>
 * (the results request is parsed and its jobs read), edge.applied.<step> (committed),
 * edge.waitWoke / edge.answer (the POST's wait ends; its answer is built).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { MetalmClient } from "../cli/client.js";
import { randomScene, renderPng, rng } from "../gpu-worker/eval/shapes.js";
import { startStack } from "../test/e2e/stack.js";
import { traceNow } from "../workflows/index.js";
import { loadExample, withModel } from "../workflows/examples/index.js";

const N = Number(process.argv[2] ?? 200);
const WARMUP = 100;
const dir = mkdtempSync(join(tmpdir(), "metalm-trace-"));
console.log(
  `bench/critical-path: ${new Date().toISOString()}, ${N} runs, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
const stack = await startStack({ env: { WORKERS: "1", EXAMPLES: "0", METALM_TRACE_DIR: dir } });
const clientLines: string[] = [];
try {
  const api = new MetalmClient(stack.url, { validate: false, apiKey: stack.apiKey });
  const model = (await api.readyz()).models[0]!;
  const spec = withModel((await loadExample("vqa")).spec, model);
  let seed = 5000;
  const images = Array.from({ length: N + WARMUP }, () => {
    const s = seed++;
    return new Uint8Array(renderPng(randomScene(rng(s)), { size: 128, seed: s }));
  });
  for (let i = 0; i < N + WARMUP; i++) {
    const t0 = traceNow();
    const { run } = await api.createRun(
      { spec: spec as never, inputs: { question: "how many objects are there?" }, files: { image: images[i]! } },
      { wait: 60 },
    );
    const t1 = traceNow();
    if (run.status !== "succeeded") throw new Error(`run ${run.id} ${run.status}`);
    if (i >= WARMUP) clientLines.push(`${run.id} client.send ${t0}`, `${run.id} client.got ${t1}`);
  }
} finally {
  await stack.stop(); // the processes write what they buffered at exit
}
const events = new Map<string, [string, number][]>();
const lines = [...clientLines, ...readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), "utf8").trim().split("\n"))];
rmSync(dir, { recursive: true, force: true });
for (const line of lines) {
  const [id, label, at] = line.split(" ");
  if (!id || !label || !at) continue;
  let list = events.get(id);
  if (!list) events.set(id, (list = []));
  list.push([label, Number(at)]);
}
const hops = new Map<string, number[]>();
const totals: number[] = [];
for (const list of events.values()) {
  if (!list.some(([l]) => l === "client.send")) continue; // a warm-up run
  list.sort((a, b) => a[1] - b[1]);
  totals.push(list.at(-1)![1] - list[0]![1]);
  for (let i = 1; i < list.length; i++) {
    const k = `${list[i - 1]![0]} → ${list[i]![0]}`;
    hops.set(k, [...(hops.get(k) ?? []), list[i]![1] - list[i - 1]![1]]);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`median ms  runs  from → to (consecutive points of one run, in time order)`);
let sum = 0;
for (const [k, v] of hops) {
  if (v.length < totals.length / 2) continue; // an order that only some runs took
  sum += median(v);
  console.log(`${median(v).toFixed(2).padStart(9)}  ${String(v.length).padStart(4)}  ${k}`);
}
console.log(
  `${median(totals).toFixed(2).padStart(9)}  ${String(totals.length).padStart(4)}  client.send → client.got (sum of the medians above: ${sum.toFixed(2)})`,
);
console.log(`load average at end ${loadavg()[0]!.toFixed(2)}`);
