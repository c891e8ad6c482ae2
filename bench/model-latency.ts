/**
 * One VQA run in process (batch 1: PNG decode + resize → vision encoder → connector → greedy decode
 * with the KV cache, 1 intra-op thread), for two model packages side by side, interleaved in random
 * order on the same fresh images, so the ratio survives a noisy machine. Used to check that a new
 * metalm-tiny serves at the speed of the one it replaces:
 *
 *   git archive 488db85 gpu-worker/models/metalm-tiny | tar -x -C /tmp/old   # metalm-tiny 0.2.0
 *   npx tsx bench/model-latency.ts /tmp/old/gpu-worker/models/metalm-tiny gpu-worker/models/metalm-tiny [runs]
 */
import { Evaluator } from "../gpu-worker/eval/run.js";
import { randomScene, renderPng, rng } from "../gpu-worker/eval/shapes.js";

const [a, b, n = "200"] = process.argv.slice(2);
if (!a || !b) throw new Error("usage: npx tsx bench/model-latency.ts <package A> <package B> [runs]");
const runs = Number(n);
const evs = [await Evaluator.open(a, 1, 1), await Evaluator.open(b, 1, 1)];
const rand = rng(31_337);
const times: number[][] = [[], []];
const cpu: number[][] = [[], []];
for (let i = 0; i < runs + 10; i++) {
  const png = renderPng(randomScene(rand), { size: 128, seed: 31_337 + i, placement: "full" });
  const order = rand() < 0.5 ? [0, 1] : [1, 0];
  for (const k of order) {
    const t = await evs[k]!.timeVqa(png);
    if (i >= 10) {
      times[k]!.push(t.ms);
      cpu[k]!.push(t.cpuMs);
    }
  }
}
const p = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.floor(q * (xs.length - 1))]!;
for (const k of [0, 1]) {
  const ev = evs[k]!;
  console.log(
    `${ev.rt.name} ${ev.rt.pkg.manifest.version}: wall p50 ${p(times[k]!, 0.5).toFixed(2)} ms, p90 ${p(times[k]!, 0.9).toFixed(2)} ms; CPU p50 ${p(cpu[k]!, 0.5).toFixed(2)} ms (${runs} runs, 1 thread)`,
  );
}
console.log(`B / A: wall p50 ${(p(times[1]!, 0.5) / p(times[0]!, 0.5)).toFixed(2)}×, CPU p50 ${(p(cpu[1]!, 0.5) / p(cpu[0]!, 0.5)).toFixed(2)}×`);
for (const ev of evs) await ev.release();
