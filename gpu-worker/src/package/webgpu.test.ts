/**
 * The shipped model on the WebGPU execution provider (Dawn → Vulkan) gives the CPU's answers.
 * Runs only with WEBGPU_TEST=1 and a Vulkan driver Dawn accepts: CI installs Mesa 25's lavapipe
 * (bookworm-backports `mesa-vulkan-drivers`; Debian 12's Mesa 22 is refused by Dawn) and points
 * VK_DRIVER_FILES at it, so the WebGPU path is exercised on every CI run without a GPU (software
 * speed: this proves correctness, not speed). On a GPU machine the same test runs on the real device.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sha256Hex, type Job } from "../../../workflows/index.js";
import { Evaluator } from "../../eval/run.js";
import { decoderForward, newKvCache } from "../generate/forward.js";
import { loadPackage } from "./load.js";
import { formatPlacement, packagePlacement, placementProblems } from "./placement.js";
import { JobExecutor } from "../job/execute.js";
import { advertOf, loadRuntimes } from "../worker/models.js";
import { configFromEnv } from "../worker/config.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const PKG = join(ROOT, "gpu-worker/models/metalm-tiny");
const TESTSETS = join(ROOT, "gpu-worker/training/testsets");
const enabled = process.env.WEBGPU_TEST === "1";

describe.skipIf(!enabled)("metalm-tiny on WebGPU (WEBGPU_TEST=1; CI: Mesa lavapipe)", () => {
  it("places every node of the decoder on webgpu (no CPU island, no host copy inside a step) and reports the other graphs", async () => {
    for (const dir of [PKG, join(ROOT, "gpu-worker/fixtures/tiny")]) {
      const rows = await packagePlacement(dir, "webgpu");
      console.log(`node placement of ${dir} on webgpu:\n${formatPlacement(rows)}`);
      expect(placementProblems(rows, "decoder.onnx")).toEqual([]);
      const decoder = rows.find((r) => r.graph === "decoder.onnx")!;
      expect(decoder.counts.WebGpuExecutionProvider).toBeGreaterThan(0);
      expect(decoder.cpuNodes).toEqual([]);
      expect(decoder.memcpyNodes).toBe(0);
    }
  }, 120_000);

  it("loads every graph on webgpu (no silent CPU fallback) and answers VQA, captions and explanations as the CPU does, at batch 1 and 16", async () => {
    const cpu = await Evaluator.open(PKG, 16, 1, ["cpu"]);
    const gpu = await Evaluator.open(PKG, 16, 1, ["webgpu"]);
    try {
      // the loader tries webgpu then falls back to cpu per graph: every graph must have stayed on webgpu
      expect(gpu.rt.pkg.executionProvider).toBe("webgpu");
      expect(gpu.rt.pkg.kvDevice?.provider).toBe("webgpu"); // generate/explain below keep the KV cache on the device
      const vqa = readFileSync(join(TESTSETS, "vqa.jsonl"), "utf8")
        .split("\n")
        .filter(Boolean)
        .slice(0, 16)
        .map((l) => JSON.parse(l) as { image: string; question: string; answer: string });
      const prompts = (ev: Evaluator) =>
        vqa.map((r) => [ev.image(readFileSync(join(TESTSETS, "images", r.image))), { kind: "text" as const, text: `question: ${r.question} answer:` }]);
      const want = await cpu.generate(prompts(cpu), 8);
      expect(want.filter((a, i) => a === vqa[i]!.answer).length).toBeGreaterThanOrEqual(15); // the CPU side is the trained model
      expect(await gpu.generate(prompts(gpu), 8)).toEqual(want); // batch 16
      const single = [];
      for (const p of prompts(gpu).slice(0, 4)) single.push(...(await gpu.generate([p], 8))); // batch 1
      expect(single).toEqual(want.slice(0, 4));
      const caption = (ev: Evaluator) =>
        vqa.slice(0, 4).map((r) => [ev.image(readFileSync(join(TESTSETS, "images", r.image))), { kind: "text" as const, text: "caption:" }]);
      expect(await gpu.generate(caption(gpu), 32)).toEqual(await cpu.generate(caption(cpu), 32));
      const labels = ["entailment", "contradiction", "neutral"];
      const hyp = (ev: Evaluator) =>
        vqa
          .slice(0, 4)
          .map((r) => [ev.image(readFileSync(join(TESTSETS, "images", r.image))), { kind: "text" as const, text: "hypothesis: there is a red circle it is" }]);
      expect(await gpu.explain(hyp(gpu), labels, 24)).toEqual(await cpu.explain(hyp(cpu), labels, 24));
    } finally {
      await cpu.release();
      await gpu.release();
    }
  }, 300_000);

  it("keeps the KV cache on the device between decoder calls (gpu-buffer), moves rows there (select) and gives the CPU's logits", async () => {
    const cpu = await loadPackage(PKG, { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1 });
    const gpu = await loadPackage(PKG, { executionProviders: ["webgpu"], intraOpNumThreads: 1, interOpNumThreads: 1 });
    const off = await loadPackage(PKG, { executionProviders: ["webgpu"], intraOpNumThreads: 1, interOpNumThreads: 1, kvOnDevice: false });
    try {
      expect(gpu.kvDevice?.provider).toBe("webgpu");
      expect(off.kvDevice).toBeUndefined(); // KV_ON_DEVICE=0: the copy through JS, as before
      const H = cpu.manifest.decoder.hiddenSize;
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
      const seq = (n: number) => ({ data: Float32Array.from({ length: n * H }, rnd), length: n });
      const prompts = [seq(5), seq(3), seq(4)];
      const steps = [seq(1), seq(1), seq(1)];
      const run = async (pkg: typeof cpu) => {
        const c = newKvCache(pkg, 3);
        await decoderForward(pkg, prompts, c);
        const where = [c.location];
        const s = await c.select([2, 0, 0]); // drop row 1, repeat row 0
        c.dispose();
        where.push(s.location);
        const r = await decoderForward(pkg, [steps[2]!, steps[0]!, steps[1]!], s);
        where.push(s.location);
        s.dispose();
        return { logits: r.logits, where };
      };
      const want = await run(cpu);
      expect(want.where).toEqual(["cpu", "cpu", "cpu"]);
      for (const pkg of [gpu, off]) {
        const got = await run(pkg);
        expect(got.where).toEqual(pkg === gpu ? ["gpu-buffer", "gpu-buffer", "gpu-buffer"] : ["cpu", "cpu", "cpu"]);
        const maxDiff = got.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - want.logits[i]!)), 0);
        expect(maxDiff).toBeLessThan(1e-3);
      }
    } finally {
      await Promise.all([cpu.release(), gpu.release(), off.release()]);
    }
  }, 300_000);

  it("EXECUTION_PROVIDERS=webgpu through the worker's own config and loader: the advert and every receipt say webgpu, no fallback", async () => {
    const cfg = configFromEnv({ EXECUTION_PROVIDERS: "webgpu", MODELS_DIR: PKG });
    const warnings: string[] = [];
    const images = new Map<string, Uint8Array>();
    const rts = await loadRuntimes(
      cfg.modelsDir,
      { executionProviders: cfg.executionProviders, intraOpNumThreads: 1, interOpNumThreads: 1 },
      { getBlob: async (sha) => images.get(sha)! },
      (m) => warnings.push(m),
    );
    const rt = [...rts.values()][0]!;
    try {
      expect(warnings).toEqual([]);
      expect(advertOf(rt)).toMatchObject({ executionProvider: "webgpu", requestedProviders: ["webgpu", "cpu"], providerFallbacks: [] });
      const row = JSON.parse(readFileSync(join(TESTSETS, "vqa.jsonl"), "utf8").split("\n")[0]!) as { image: string; question: string; answer: string };
      const bytes = readFileSync(join(TESTSETS, "images", row.image));
      images.set(sha256Hex(bytes), bytes);
      const ex = new JobExecutor(rts, "w-webgpu");
      const r = await ex.executeJob({
        jobId: "j1",
        leaseId: "l1",
        runId: "r1",
        stepId: "answer",
        attempt: 1,
        deadlineAt: Date.now() + 120_000,
        model: rt.name,
        op: "decode",
        segments: [
          { kind: "span", recipe: { connector: "vision", source: { model: rt.name, encoder: "vision", image: { sha256: sha256Hex(bytes) } } } },
          { kind: "text", text: `question: ${row.question} answer:` },
        ],
        params: { maxTokens: 8, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] },
      } as Job);
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      expect(r.receipt).toMatchObject({ workerId: "w-webgpu", executionProvider: "webgpu", requestedProviders: ["webgpu", "cpu"], providerFallbacks: [] });
      expect(r.output.op === "decode" && r.output.text.trim()).toBe(row.answer);
    } finally {
      await rt.pkg.release();
    }
  }, 300_000);
});
