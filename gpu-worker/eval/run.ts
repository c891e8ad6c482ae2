/**
 * `npm run eval` — the five pieces of MetaLM evidence (../shared/METALM.md), measured through the
 * TypeScript runtime (gpu-worker/src: package loading, image preprocessing, encoder/connector
 * caches, batched greedy decoding with the KV cache) on the fixed test sets in
 * gpu-worker/training/testsets/, plus splits drawn by this folder's own renderer (shapes.ts): the
 * classic `ts-<size>px` splits at 64, 128 and 256 px, and the `full-placement` splits (objects
 * anywhere in SHAPES_WORLD.md's placement ranges, a size per scene from 64/128/256 px), on which
 * the eval also measures visual entailment with hypotheses generated here, the vqa-then-explain
 * consistency (the explain op's label for `there is <answer>` vs the truth of that sentence) and
 * accuracy per placement offset. Also the latency of one VQA run (batch 1, in process). Writes
 * gpu-worker/models/metalm-tiny/EVAL.md (the loader only reads the files manifest.json lists, so
 * an extra EVAL.md does not affect loading or the package's sha256).
 *
 * Env: EVAL_LIMIT (max items per task and split of the fixed test sets; default all),
 * EVAL_TS_SCENES (scenes per size of the classic TS-renderer split; default 40), EVAL_FULL_SCENES
 * (scenes of the full-placement split; default 150), EVAL_FULL_HELDOUT_SCENES (scenes of the
 * full-placement split that require a held-out combination; default 250; at 50, sampling noise was a point or more: metalm-tiny 1.0.0 read 84.3% on 50 scenes, 85.7% on 250), EVAL_LATENCY_RUNS (timed
 * batch-1 VQA runs; default 300, 0 = skip), EVAL_BATCH (decode batch; default 64), EVAL_THREADS
 * (onnxruntime intra-op threads; default 1), EVAL_OUT (output path; default the package's EVAL.md),
 * EVAL_JPEG_SCENES (scenes of each full-placement split re-encoded as JPEG q50; default 60),
 * EVAL_GPT_ICL (GPT package folder for the extra in-context column; default gpu-worker/models/gpt-baseline-lm when present).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { cpus, hostname } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Segment } from "../../workflows/index.js";
import type { Embedded } from "../src/generate/forward.js";
import { defaultParams } from "../src/generate/generate.js";
import { ModelRuntime } from "../src/ops/runtime.js";
import { loadPackage, type ModelPackage } from "../src/package/load.js";
import { sha256Hex } from "../../workflows/index.js";
import { corpusBleu } from "./bleu.js";
import { ciderD } from "./cider.js";
import { FULL, FULL_HELD_OUT, renderMarkdown } from "./report.js";
import {
  caption as sceneCaption,
  hypotheses,
  layoutOf,
  questions,
  randomScene,
  renderPng,
  rng,
  VE_LABELS,
  type ObjectLayout,
  type RenderOptions,
  type Scene,
  type VeLabel,
} from "./shapes.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface EvalOptions {
  testsetDir: string;
  /** Package folders: shipped MetaLM, GPT baseline, VE trained with / without explanations. */
  packages: { metalm: string; gpt: string; veExpl: string; veNoexpl: string; gptIcl?: string };
  /** Max items per task and split (deterministic: the first N in file order). */
  limit?: number;
  /** Scenes per image size for the TS-renderer split (0 = none). */
  tsScenes?: number;
  tsSizes?: number[];
  /** Scenes of the full-placement split (in-domain; default 150) and of its held-out variant (default 250 in `npm run eval`). */
  fullScenes?: number;
  fullHeldOutScenes?: number;
  /** Scenes of each full-placement split re-encoded as JPEG q50 (`jpegSplit`; default 60). */
  jpegScenes?: number;
  /** Timed batch-1 VQA runs for the latency figure (default 300; 0 = skip). */
  latencyRuns?: number;
  batch?: number;
  threads?: number;
  log?: (m: string) => void;
}

type Rec = Record<string, unknown>;
const readJsonl = <T = Rec>(p: string): T[] =>
  readFileSync(p, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

const mean = (xs: readonly boolean[]) => (xs.length ? xs.filter(Boolean).length / xs.length : 0);

/** A runtime plus an in-memory blob store, and batched greedy generation over segment lists. */
export class Evaluator {
  private readonly blobs = new Map<string, Uint8Array>();
  /** Prompts that could not be built (each counted as a wrong answer). */
  readonly errors: string[] = [];
  readonly rt: ModelRuntime;
  constructor(
    pkg: ModelPackage,
    private readonly batch: number,
  ) {
    this.rt = new ModelRuntime(pkg, {
      cacheBytes: 512 * 2 ** 20,
      getBlob: async (s) => {
        const b = this.blobs.get(s);
        if (!b) throw new Error(`no blob ${s}`);
        return b;
      },
    });
  }
  static async open(dir: string, batch: number, threads: number, executionProviders: string[] = ["cpu"], kvOnDevice = true): Promise<Evaluator> {
    const pkg = await loadPackage(dir, { executionProviders, intraOpNumThreads: threads, interOpNumThreads: 1, kvOnDevice }, { warn: () => {} });
    return new Evaluator(pkg, batch);
  }
  image(bytes: Uint8Array): Segment {
    const sha256 = sha256Hex(bytes);
    this.blobs.set(sha256, bytes);
    return { kind: "span", recipe: { connector: "vision", source: { model: this.rt.name, encoder: "vision", image: { sha256 } } } };
  }
  textSpan(text: string): Segment {
    return { kind: "span", recipe: { connector: "text", source: { model: this.rt.name, encoder: "text", text } } };
  }
  /** Builds each prompt's embeddings; a prompt the model cannot take (e.g. longer than
   * maxPositions) is recorded in `errors` and left undefined (the caller counts it wrong). */
  private async build(chunk: readonly Segment[][]): Promise<{ built: (Embedded | undefined)[]; ok: Embedded[] }> {
    const built: (Embedded | undefined)[] = [];
    for (const p of chunk) {
      try {
        built.push((await this.rt.buildPrompt(p)).prompt);
      } catch (e) {
        this.errors.push((e as Error).message);
        built.push(undefined);
      }
    }
    return { built, ok: built.filter((b): b is Embedded => b !== undefined) };
  }
  /**
   * One VQA run at batch 1, timed: buildPrompt (PNG decode, resize, vision encoder, connector,
   * prompt embedding) then greedy decode of up to 8 tokens. Wall and process CPU milliseconds.
   */
  async timeVqa(png: Uint8Array, question = "what is on the left?"): Promise<{ ms: number; cpuMs: number }> {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const { prompt } = await this.rt.buildPrompt([this.image(png), text(`question: ${question} answer:`)]);
    await this.rt.decode([{ prompt, params: { ...defaultParams, maxTokens: 8, temperature: 0 } }]);
    const c = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
  }
  /** Greedy generation (stop at eos) for every prompt, in batches; returns the texts. */
  async generate(prompts: readonly Segment[][], maxTokens: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < prompts.length; i += this.batch) {
      const { built, ok } = await this.build(prompts.slice(i, i + this.batch));
      const res = await this.rt.decode(ok.map((prompt) => ({ prompt, params: { ...defaultParams, maxTokens, temperature: 0 } })));
      let j = 0;
      for (const b of built) out.push(b ? res[j++]!.text.trim() : "");
    }
    return out;
  }
  /**
   * The service's `explain` op (ModelRuntime.explain: each label scored by the summed log-likelihood
   * of its tokens after the prompt, then `because` and a greedy explanation), in batches.
   */
  async explain(prompts: readonly Segment[][], labels: readonly string[], maxTokens: number): Promise<{ label: string; explanation: string }[]> {
    const out: { label: string; explanation: string }[] = [];
    for (let i = 0; i < prompts.length; i += this.batch) {
      const { built, ok } = await this.build(prompts.slice(i, i + this.batch));
      const res = await this.rt.explain(ok.map((prompt) => ({ prompt, labels, params: { ...defaultParams, maxTokens, temperature: 0 } })));
      let j = 0;
      for (const b of built) out.push(b ? { label: res[j]!.label, explanation: res[j++]!.explanation.trim() } : { label: "", explanation: "" });
    }
    return out;
  }
  release() {
    return this.rt.pkg.release();
  }
}

const text = (t: string): Segment => ({ kind: "text", text: t });

function limitPerSplit<T extends { split?: unknown }>(recs: T[], limit?: number): T[] {
  if (!limit) return recs;
  const n = new Map<unknown, number>();
  return recs.filter((r) => {
    const k = n.get(r.split) ?? 0;
    n.set(r.split, k + 1);
    return k < limit;
  });
}

export interface TsItem {
  split: string;
  png: Buffer;
  scene: Scene;
  /** Where each object was drawn (fractions of the image side); set on the full-placement splits. */
  layout?: (ObjectLayout | null)[];
  size?: number;
}

const FULL_SIZES = [64, 128, 256];

/**
 * The full-placement splits: `n` in-domain scenes (no held-out combination) and `nHeldOut` scenes
 * with at least one, each drawn with SHAPES_WORLD.md's full placement ranges at a size drawn from
 * 64/128/256 px. Seeded: the first k scenes do not depend on n.
 */
export function fullSplit(n: number, nHeldOut: number): TsItem[] {
  const items: TsItem[] = [];
  for (const [split, count, seed, heldOut] of [
    [FULL, n, 11_000, "exclude"],
    [FULL_HELD_OUT, nHeldOut, 12_000, "require"],
  ] as const) {
    const rand = rng(seed);
    for (let i = 0; i < count; i++) {
      const scene = randomScene(rand, heldOut);
      const size = FULL_SIZES[Math.floor(rand() * FULL_SIZES.length)]!;
      const opts: RenderOptions = { size, seed: 1_000 * seed + i, noise: 4 + Math.floor(rand() * 9), placement: "full" };
      items.push({ split, png: renderPng(scene, opts), scene, layout: layoutOf(scene, opts), size });
    }
  }
  return items;
}

/**
 * The first `n` scenes of each full-placement split again, as JPEG (quality 50, jpeg-js: 4:2:0
 * chroma subsampling) — SHAPES_WORLD.md says images reach the service as PNG or JPEG, and training
 * renders PNG-like pixels only. Same scenes and answers; split names end in ` jpeg`.
 */
export function jpegSplit(full: readonly TsItem[], n: number): TsItem[] {
  const out: TsItem[] = [];
  for (const split of [FULL, FULL_HELD_OUT]) {
    for (const t of full.filter((x) => x.split === split).slice(0, n)) {
      const p = PNG.sync.read(t.png);
      out.push({
        split: `${split} jpeg`,
        png: Buffer.from(jpeg.encode({ data: p.data, width: p.width, height: p.height }, 50).data),
        scene: t.scene,
        size: t.size,
      });
    }
  }
  return out;
}

/** Placement-offset buckets: largest vertical centre offset |cy − 0.5| and largest horizontal offset from the slot centre, over a scene's objects. */
const BUCKETS = {
  vertical: [
    ["centred (≤ 0.10)", 0.1],
    ["0.10–0.18", 0.18],
    ["0.18–0.25", Infinity],
  ],
  horizontal: [
    ["≤ 0.05", 0.05],
    ["0.05–0.10", Infinity],
  ],
} as const;
function bucketOf(layout: readonly (ObjectLayout | null)[], axis: keyof typeof BUCKETS): string {
  const objs = layout.filter((l): l is ObjectLayout => l !== null);
  const off = Math.max(...objs.map((l) => (axis === "vertical" ? Math.abs(l.cy - 0.5) : Math.abs(l.dx))));
  return BUCKETS[axis].find(([, hi]) => off <= hi)![0];
}

const PHRASES = ["on the left", "in the middle", "on the right"] as const;
const OBJECT_ANSWER = /^(a|an) (red|green|blue|yellow|orange|purple|cyan|white) (circle|square|triangle)$/;

/** The TS-renderer split: `n` scenes (some with held-out combinations) per size, seeded. */
export function tsSplit(n: number, sizes: number[]): TsItem[] {
  const items: TsItem[] = [];
  for (const size of sizes) {
    const rand = rng(7_000 + size);
    for (let i = 0; i < n; i++) {
      const scene = randomScene(rand, i % 4 === 3 ? "require" : "exclude");
      items.push({ split: `ts-${size}px`, png: renderPng(scene, { size, seed: 100_000 * size + i, noise: 6 + (i % 3) * 4 }), scene });
    }
  }
  return items;
}

export interface EvalResults {
  meta: Record<string, string | number>;
  timings: Record<string, number>;
  nli?: { metalm: number; gpt: number; n: number };
  icl?: { k: number; metalm: number; gpt: number; gptIcl?: number; n: number }[];
  /** An example of the GPT baseline's k = 4 output (model → expected). */
  gptIclExample?: string;
  iclPerTask?: Record<string, { metalm: number[]; gpt: number[]; n: number }>;
  caption?: { split: string; n: number; exact: number; cider: number; example?: [string, string] }[];
  vqa?: { split: string; n: number; overall: number; forms: Record<string, { n: number; acc: number }>; failures: string[] }[];
  /** VQA accuracy of each full-placement split's first `jpegScenes` scenes as PNG (the JPEG splits' twins). */
  vqaPrefix?: Record<string, number>;
  ve?: { model: string; split: string; n: number; label: number; explExact?: number; explBleu?: number }[];
  veExamples?: string[];
  /** VQA and caption accuracy of the full-placement splits per placement-offset bucket. */
  placement?: { split: string; axis: "vertical" | "horizontal"; bucket: string; scenes: number; questions: number; vqa: number; caption: number }[];
  /** Visual entailment on the full-placement splits, hypotheses generated by shapes.ts `hypotheses()`. */
  veFull?: {
    split: string;
    n: number;
    /** greedy, first generated word */
    label: number;
    /** the explain op's scored label */
    labelScored: number;
    explExact: number;
    perKind: Record<string, { n: number; label: number; labelScored: number }>;
    perLabel: Record<string, { n: number; label: number; labelScored: number }>;
    misses: string[];
  }[];
  /** vqa-then-explain: `what is {position}?`, then the explain op on `there is {answer}`, vs the truth of that sentence. */
  consistency?: {
    split: string;
    /** scenes × 3 positions */
    asked: number;
    scored: number;
    consistent: number;
    right: { n: number; consistent: number };
    wrong: { n: number; consistent: number };
    /** answered "nothing": n, how many of those slots really are empty, the first on an occupied slot */
    nothing: { n: number; empty: number; listed: string[] };
    unparsable: { n: number; listed: string[] };
    labels: Record<string, number>;
    misses: string[];
  }[];
  /** Batch-1 VQA runs in process (encode → connect → decode, fresh image each). */
  latency?: { runs: number; p50: number; p90: number; mean: number; cpuP50: number; threads: number; size: number };
}

export async function runEval(o: EvalOptions): Promise<EvalResults> {
  const log = o.log ?? (() => {});
  const batch = o.batch ?? 64;
  const threads = o.threads ?? 1;
  const tdir = o.testsetDir;
  const imgBytes = new Map<string, Buffer>();
  const img = (f: string) => {
    let b = imgBytes.get(f);
    if (!b) imgBytes.set(f, (b = readFileSync(join(tdir, "images", f))));
    return b;
  };
  const res: EvalResults = { meta: {}, timings: {} };
  const time = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const v = await f();
    res.timings[name] = (performance.now() - t0) / 1000;
    log(`${name}: ${res.timings[name]!.toFixed(1)} s`);
    return v;
  };

  const metalm = await Evaluator.open(o.packages.metalm, batch, threads);
  const gpt = await Evaluator.open(o.packages.gpt, batch, threads);
  res.meta.metalm = `${metalm.rt.name} ${metalm.rt.pkg.manifest.version} (manifest sha256 ${metalm.rt.pkg.sha256.slice(0, 12)})`;
  res.meta.gpt = `${gpt.rt.name} ${gpt.rt.pkg.manifest.version} (manifest sha256 ${gpt.rt.pkg.sha256.slice(0, 12)})`;

  // (1) text NLI
  await time("nli", async () => {
    const recs = readJsonl<{ premise: string; hypothesis: string; label: string }>(join(tdir, "nli.jsonl")).slice(0, o.limit ?? Infinity);
    const m = await metalm.generate(
      recs.map((r) => [metalm.textSpan(`premise: ${r.premise} hypothesis: ${r.hypothesis}`), text("label:")]),
      3,
    );
    const g = await gpt.generate(
      recs.map((r) => [text(`premise: ${r.premise} hypothesis: ${r.hypothesis} label:`)]),
      3,
    );
    res.nli = { n: recs.length, metalm: mean(m.map((x, i) => x === recs[i]!.label)), gpt: mean(g.map((x, i) => x === recs[i]!.label)) };
  });

  // (2) in-context learning
  await time("icl", async () => {
    type D = { image: string; caption: string; answer: string };
    const recs = readJsonl<{ task: string; demos: D[]; query: D }>(join(tdir, "icl.jsonl")).slice(0, o.limit ?? Infinity);
    res.icl = [];
    res.iclPerTask = {};
    const gptIclDir = o.packages.gptIcl;
    const gptIcl = gptIclDir ? await Evaluator.open(gptIclDir, batch, threads) : undefined;
    if (gptIcl && gptIclDir)
      res.meta.gptIcl = `${gptIcl.rt.name} ${gptIcl.rt.pkg.manifest.version} from ${relative(process.cwd(), gptIclDir) || "."} (manifest sha256 ${gptIcl.rt.pkg.sha256.slice(0, 12)})`;
    for (const k of [0, 1, 4]) {
      const m = await metalm.generate(
        recs.map((r) => [
          ...r.demos.slice(0, k).flatMap((d) => [metalm.image(img(d.image)), text(`answer: ${d.answer}`)]),
          metalm.image(img(r.query.image)),
          text("answer:"),
        ]),
        4,
      );
      const textPrompts = recs.map((r) => [
        text([...r.demos.slice(0, k).map((d) => `caption: ${d.caption} answer: ${d.answer}`), `caption: ${r.query.caption} answer:`].join(" ")),
      ]);
      const g = await gpt.generate(textPrompts, 4);
      const gi = gptIcl ? await gptIcl.generate(textPrompts, 4) : undefined;
      if (k === 4) res.gptIclExample = `"${g[0]}" (expected "${recs[0]!.query.answer}")`;
      const mo = m.map((x, i) => x === recs[i]!.query.answer);
      const go = g.map((x, i) => x === recs[i]!.query.answer);
      res.icl.push({ k, n: recs.length, metalm: mean(mo), gpt: mean(go), gptIcl: gi ? mean(gi.map((x, i) => x === recs[i]!.query.answer)) : undefined });
      const tasks = [...new Set(recs.map((r) => r.task))];
      for (const t of tasks) {
        const idx = recs.flatMap((r, i) => (r.task === t ? [i] : []));
        const e = (res.iclPerTask[t] ??= { metalm: [], gpt: [], n: idx.length });
        e.metalm.push(mean(idx.map((i) => mo[i]!)));
        e.gpt.push(mean(idx.map((i) => go[i]!)));
      }
    }
    await gptIcl?.release();
  });

  const full = fullSplit(o.fullScenes ?? 150, o.fullHeldOutScenes ?? 50);
  const ts = [...tsSplit(o.tsScenes ?? 40, o.tsSizes ?? [64, 128, 256]), ...full, ...jpegSplit(full, o.jpegScenes ?? 60)];
  /** Per full-placement scene: caption right, VQA questions asked and answered right. */
  const perScene = new Map<TsItem, { caption: boolean; asked: number; right: number }>(full.map((t) => [t, { caption: false, asked: 0, right: 0 }]));

  // (3) captioning
  await time("caption", async () => {
    const recs: { split: string; seg: Segment; ref: string; item?: TsItem }[] = [
      ...limitPerSplit(readJsonl<{ image: string; split: string; caption: string }>(join(tdir, "caption.jsonl")), o.limit).map((r) => ({
        split: r.split,
        seg: metalm.image(img(r.image)),
        ref: r.caption,
      })),
      ...ts.map((t) => ({ split: t.split, seg: metalm.image(t.png), ref: sceneCaption(t.scene), item: t })),
    ];
    const outs = await metalm.generate(
      recs.map((r) => [r.seg, text("caption:")]),
      32,
    );
    recs.forEach((r, i) => {
      const e = r.item && perScene.get(r.item);
      if (e) e.caption = outs[i] === r.ref;
    });
    res.caption = [];
    for (const split of [...new Set(recs.map((r) => r.split))]) {
      const idx = recs.flatMap((r, i) => (r.split === split ? [i] : []));
      const hyps = idx.map((i) => outs[i]!);
      const refs = idx.map((i) => [recs[i]!.ref]);
      const wrong = idx.find((i) => outs[i] !== recs[i]!.ref);
      res.caption.push({
        split,
        n: idx.length,
        exact: mean(idx.map((i) => outs[i] === recs[i]!.ref)),
        cider: ciderD(hyps, refs).score,
        example: wrong === undefined ? undefined : [outs[wrong]!, recs[wrong]!.ref],
      });
    }
  });

  // (4) VQA
  await time("vqa", async () => {
    const recs: { split: string; form: string; seg: Segment; question: string; answer: string; item?: TsItem }[] = [
      ...limitPerSplit(readJsonl<{ image: string; split: string; form: string; question: string; answer: string }>(join(tdir, "vqa.jsonl")), o.limit).map(
        (r) => ({
          ...r,
          seg: metalm.image(img(r.image)),
        }),
      ),
      ...ts.flatMap((t) =>
        questions(t.scene).map((q) => ({ split: t.split, form: q.form, question: q.question, answer: q.answer, seg: metalm.image(t.png), item: t })),
      ),
    ];
    const outs = await metalm.generate(
      recs.map((r) => [r.seg, text(`question: ${r.question} answer:`)]),
      6,
    );
    recs.forEach((r, i) => {
      const e = r.item && perScene.get(r.item);
      if (!e) return;
      e.asked++;
      if (outs[i] === r.answer) e.right++;
    });
    res.vqa = [];
    for (const split of [...new Set(recs.map((r) => r.split))]) {
      const idx = recs.flatMap((r, i) => (r.split === split ? [i] : []));
      const forms: Record<string, { n: number; acc: number }> = {};
      for (const f of [...new Set(idx.map((i) => recs[i]!.form))]) {
        const fi = idx.filter((i) => recs[i]!.form === f);
        forms[f] = { n: fi.length, acc: mean(fi.map((i) => outs[i] === recs[i]!.answer)) };
      }
      const failures = idx
        .filter((i) => outs[i] !== recs[i]!.answer)
        .slice(0, 4)
        .map((i) => `${recs[i]!.question} → "${outs[i]}" (expected "${recs[i]!.answer}")`);
      res.vqa.push({ split, n: idx.length, overall: mean(idx.map((i) => outs[i] === recs[i]!.answer)), forms, failures });
    }
  });

  res.vqaPrefix = {};
  for (const split of [FULL, FULL_HELD_OUT]) {
    const first = full.filter((t) => t.split === split).slice(0, o.jpegScenes ?? 60);
    const asked = first.reduce((a, t) => a + perScene.get(t)!.asked, 0);
    res.vqaPrefix[split] = asked ? first.reduce((a, t) => a + perScene.get(t)!.right, 0) / asked : 0;
  }

  // (4b) accuracy per placement offset on the full-placement splits
  res.placement = [];
  for (const split of [FULL, FULL_HELD_OUT]) {
    const items = full.filter((t) => t.split === split);
    if (!items.length) continue;
    for (const axis of ["vertical", "horizontal"] as const) {
      for (const [bucket] of BUCKETS[axis]) {
        const inB = items.filter((t) => bucketOf(t.layout!, axis) === bucket).map((t) => perScene.get(t)!);
        const asked = inB.reduce((a, e) => a + e.asked, 0);
        res.placement.push({
          split,
          axis,
          bucket,
          scenes: inB.length,
          questions: asked,
          vqa: asked ? inB.reduce((a, e) => a + e.right, 0) / asked : 0,
          caption: mean(inB.map((e) => e.caption)),
        });
      }
    }
  }

  // (5) visual entailment
  await time("ve", async () => {
    const recs = limitPerSplit(
      readJsonl<{ image: string; split: string; hypothesis: string; label: string; explanation: string }>(join(tdir, "ve.jsonl")),
      o.limit,
    );
    res.ve = [];
    res.veExamples = [];
    const veExpl = await Evaluator.open(o.packages.veExpl, batch, threads);
    const veNo = await Evaluator.open(o.packages.veNoexpl, batch, threads);
    for (const [name, ev, explains] of [
      ["with explanations", veExpl, true],
      ["without explanations", veNo, false],
      ["shipped", metalm, true],
    ] as const) {
      const outs = await ev.generate(
        recs.map((r) => [ev.image(img(r.image)), text(`hypothesis: ${r.hypothesis} it is`)]),
        explains ? 24 : 4,
      );
      const label = outs.map((x) => x.split(" ")[0] ?? "");
      const expl = outs.map((x) => (x.includes(" because ") ? x.slice(x.indexOf(" because ") + 9) : ""));
      for (const split of ["all", ...new Set(recs.map((r) => r.split))]) {
        const idx = recs.flatMap((r, i) => (split === "all" || r.split === split ? [i] : []));
        const row: NonNullable<EvalResults["ve"]>[number] = {
          model: `${name} (${ev.rt.name})`,
          split,
          n: idx.length,
          label: mean(idx.map((i) => label[i] === recs[i]!.label)),
        };
        if (explains) {
          row.explExact = mean(idx.map((i) => expl[i] === recs[i]!.explanation));
          row.explBleu = corpusBleu(
            idx.map((i) => expl[i]!),
            idx.map((i) => [recs[i]!.explanation]),
          ).bleu;
        }
        res.ve.push(row);
      }
      if (explains)
        res.veExamples.push(`${ev.rt.name}: "${recs[1]!.hypothesis}" → "${outs[1]}" (reference "${recs[1]!.label} because ${recs[1]!.explanation}")`);
    }
    res.meta.promptErrors = [veExpl, veNo].reduce((a, e) => a + e.errors.length, 0) + Number(res.meta.promptErrors ?? 0);
    await veExpl.release();
    await veNo.release();
  });
  // (6) visual entailment on the full-placement splits: hypotheses generated here, with their true labels
  await time("veFull", async () => {
    res.veFull = [];
    for (const split of [FULL, FULL_HELD_OUT]) {
      const items = full.filter((t) => t.split === split);
      if (!items.length) continue;
      const rand = rng(split === FULL ? 13_000 : 14_000);
      const recs = items.flatMap((t) => hypotheses(t.scene, rand, split === FULL_HELD_OUT).map((h) => ({ ...h, item: t })));
      const prompts = recs.map((r) => [metalm.image(r.item.png), text(`hypothesis: ${r.hypothesis} it is`)]);
      const outs = await metalm.generate(prompts, 24);
      const scored = await metalm.explain(prompts, VE_LABELS, 1);
      const greedy = outs.map((x) => x.split(" ")[0] ?? "");
      const expl = outs.map((x) => (x.includes(" because ") ? x.slice(x.indexOf(" because ") + 9) : ""));
      const group = (key: (i: number) => string) => {
        const g: Record<string, { n: number; label: number; labelScored: number }> = {};
        for (const k of [...new Set(recs.map((_, i) => key(i)))]) {
          const idx = recs.flatMap((_, i) => (key(i) === k ? [i] : []));
          g[k] = {
            n: idx.length,
            label: mean(idx.map((i) => greedy[i] === recs[i]!.label)),
            labelScored: mean(idx.map((i) => scored[i]!.label === recs[i]!.label)),
          };
        }
        return g;
      };
      res.veFull.push({
        split,
        n: recs.length,
        label: mean(recs.map((r, i) => greedy[i] === r.label)),
        labelScored: mean(recs.map((r, i) => scored[i]!.label === r.label)),
        explExact: mean(recs.map((r, i) => expl[i] === r.explanation)),
        perKind: group((i) => recs[i]!.kind),
        perLabel: group((i) => recs[i]!.label),
        misses: recs
          .flatMap((r, i) =>
            greedy[i] === r.label && scored[i]!.label === r.label
              ? []
              : [`[${sceneCaption(r.item.scene)}] "${r.hypothesis}" → greedy "${outs[i]}", explain op ${scored[i]!.label} (expected ${r.label})`],
          )
          .slice(0, 6),
      });
    }
  });

  // (7) vqa-then-explain consistency: the saved workflow's two steps for every scene and position
  await time("consistency", async () => {
    const scenes = readJsonl<{ file: string; split: string; scene: Scene }>(join(tdir, "images.jsonl"));
    const sources: { split: string; seg: () => Segment; scene: Scene }[] = [
      ...limitPerSplit(scenes, o.limit).map((r) => ({ split: r.split, seg: () => metalm.image(img(r.file)), scene: r.scene })),
      ...full.map((t) => ({ split: t.split, seg: () => metalm.image(t.png), scene: t.scene })),
    ];
    const asks = sources.flatMap((s) => PHRASES.map((where, slot) => ({ ...s, where, slot, seg: s.seg() })));
    // as workflows/examples/vqa-then-explain.json: answer (maxTokens 8), then explain `there is {answer}` (maxTokens 24)
    const answers = await metalm.generate(
      asks.map((a) => [a.seg, text(`question: what is ${a.where}? answer:`)]),
      8,
    );
    const parsed = answers.map((x) => OBJECT_ANSWER.exec(x));
    const toExplain = asks.flatMap((_, i) => (parsed[i] ? [i] : []));
    const verdicts = await metalm.explain(
      toExplain.map((i) => [asks[i]!.seg, text(`hypothesis: there is ${answers[i]} it is`)]),
      VE_LABELS,
      24,
    );
    const verdict = new Map(toExplain.map((i, j) => [i, verdicts[j]!]));
    res.consistency = [];
    for (const split of [...new Set(asks.map((a) => a.split))]) {
      const idx = asks.flatMap((a, i) => (a.split === split ? [i] : []));
      const row: NonNullable<EvalResults["consistency"]>[number] = {
        split,
        asked: idx.length,
        scored: 0,
        consistent: 0,
        right: { n: 0, consistent: 0 },
        wrong: { n: 0, consistent: 0 },
        nothing: { n: 0, empty: 0, listed: [] },
        unparsable: { n: 0, listed: [] },
        labels: {},
        misses: [],
      };
      let ok = 0;
      let rightOk = 0;
      let wrongOk = 0;
      for (const i of idx) {
        const a = asks[i]!;
        const truthAnswer = questions(a.scene).find((q) => q.question === `what is ${a.where}?`)!.answer;
        const desc = `[${sceneCaption(a.scene)}] what is ${a.where}? → "${answers[i]}"`;
        const m = parsed[i];
        if (!m) {
          if (answers[i] === "nothing") {
            row.nothing.n++;
            if (!a.scene[a.slot]) row.nothing.empty++;
            else if (row.nothing.listed.length < 6) row.nothing.listed.push(`${desc} (truth "${truthAnswer}")`);
          } else {
            row.unparsable.n++;
            if (row.unparsable.listed.length < 6) row.unparsable.listed.push(`${desc} (truth "${truthAnswer}")`);
          }
          continue;
        }
        const [color, shape] = [m[2]!, m[3]!];
        const truth: VeLabel = a.scene.some((x) => x && x.color === color && x.shape === shape) ? "entailment" : "contradiction";
        const v = verdict.get(i)!;
        const agree = v.label === truth;
        const isRight = answers[i] === truthAnswer;
        row.scored++;
        row.labels[v.label] = (row.labels[v.label] ?? 0) + 1;
        if (agree) ok++;
        if (isRight) {
          row.right.n++;
          if (agree) rightOk++;
        } else {
          row.wrong.n++;
          if (agree) wrongOk++;
        }
        if (!agree && row.misses.length < 6)
          row.misses.push(
            `${desc} (${isRight ? "right" : `truth "${truthAnswer}"`}) → ${v.label} because ${v.explanation} (truth of "there is ${answers[i]}": ${truth})`,
          );
      }
      row.consistent = row.scored ? ok / row.scored : 0;
      row.right.consistent = row.right.n ? rightOk / row.right.n : 0;
      row.wrong.consistent = row.wrong.n ? wrongOk / row.wrong.n : 0;
      res.consistency.push(row);
    }
  });

  // (8) latency: batch-1 VQA runs (encode → connect → decode), a fresh image each, in process
  const runs = o.latencyRuns ?? 300;
  if (runs > 0) {
    const warm = Math.min(10, runs);
    const rand = rng(15_000);
    const pngs = Array.from({ length: runs + warm }, (_, i) => renderPng(randomScene(rand), { size: 128, seed: 15_000 + i, placement: "full" }));
    const ms: number[] = [];
    const cpu: number[] = [];
    for (const [i, png] of pngs.entries()) {
      const t = await metalm.timeVqa(png);
      if (i >= warm) {
        ms.push(t.ms);
        cpu.push(t.cpuMs);
      }
    }
    const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
    res.latency = { runs, p50: q(ms, 0.5), p90: q(ms, 0.9), mean: ms.reduce((a, b) => a + b, 0) / ms.length, cpuP50: q(cpu, 0.5), threads, size: 128 };
    log(`latency: p50 ${res.latency.p50.toFixed(1)} ms over ${runs} runs`);
  }

  res.meta.promptErrors = Number(res.meta.promptErrors ?? 0) + metalm.errors.length + gpt.errors.length;
  res.meta.firstPromptError = [...metalm.errors, ...gpt.errors][0] ?? "";
  await metalm.release();
  await gpt.release();
  return res;
}

async function main() {
  const env = process.env;
  const models = join(ROOT, "gpu-worker/models");
  const limit = env.EVAL_LIMIT ? Number(env.EVAL_LIMIT) : undefined;
  const tsScenes = env.EVAL_TS_SCENES ? Number(env.EVAL_TS_SCENES) : 40;
  const fullScenes = env.EVAL_FULL_SCENES ? Number(env.EVAL_FULL_SCENES) : 150;
  const fullHeldOutScenes = env.EVAL_FULL_HELDOUT_SCENES ? Number(env.EVAL_FULL_HELDOUT_SCENES) : 250;
  const jpegScenes = env.EVAL_JPEG_SCENES ? Number(env.EVAL_JPEG_SCENES) : 60;
  const latencyRuns = env.EVAL_LATENCY_RUNS ? Number(env.EVAL_LATENCY_RUNS) : 300;
  const threads = Number(env.EVAL_THREADS ?? 1);
  const out = env.EVAL_OUT ?? join(models, "metalm-tiny/EVAL.md");
  const manifest = JSON.parse(readFileSync(join(models, "metalm-tiny/manifest.json"), "utf8")) as { files: Record<string, string> };
  if (!env.EVAL_OUT && manifest.files["EVAL.md"]) {
    // export.py's write_manifest hashes every file in the folder; rewriting a listed EVAL.md would
    // make the package fail its sha256 check and the worker refuse it.
    throw new Error(
      "gpu-worker/models/metalm-tiny/manifest.json lists EVAL.md: rewriting it would break the package's sha256 check; re-export without EVAL.md in the folder (or set EVAL_OUT)",
    );
  }
  const t0 = performance.now();
  const r = await runEval({
    testsetDir: join(ROOT, "gpu-worker/training/testsets"),
    packages: {
      metalm: join(models, "metalm-tiny"),
      gpt: join(models, "gpt-baseline"),
      veExpl: join(models, "metalm-ve-expl"),
      veNoexpl: join(models, "metalm-ve-noexpl"),
      gptIcl: env.EVAL_GPT_ICL || (existsSync(join(models, "gpt-baseline-lm", "manifest.json")) ? join(models, "gpt-baseline-lm") : undefined),
    },
    limit,
    tsScenes,
    fullScenes,
    fullHeldOutScenes,
    jpegScenes,
    latencyRuns,
    batch: Number(env.EVAL_BATCH ?? 64),
    threads,
    log: (m) => console.log(`[eval] ${m}`),
  });
  const overrides = ["EVAL_LIMIT", "EVAL_TS_SCENES", "EVAL_FULL_SCENES", "EVAL_FULL_HELDOUT_SCENES", "EVAL_JPEG_SCENES", "EVAL_LATENCY_RUNS"]
    .filter((k) => env[k])
    .map((k) => `${k}=${env[k]}`);
  const md = renderMarkdown(r, {
    command: "npm run eval" + (overrides.length ? ` (${overrides.join(" ")})` : ""),
    date: new Date().toISOString(),
    machine: `${hostname()}: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, onnxruntime intra-op threads ${threads}`,
    wallSeconds: (performance.now() - t0) / 1000,
    note: `${limit ? `Subsampled deterministically: the first ${limit} items per task and split of the fixed test sets.` : "Every test item."} ts splits: ${tsScenes} scenes per size (every 4th with a held-out combination); ${FULL}: ${fullScenes} scenes, ${FULL_HELD_OUT}: ${fullHeldOutScenes}; \`… jpeg\`: the first ${jpegScenes} scenes of each again as JPEG quality 50.`,
  });
  writeFileSync(out, md);
  console.log(md);
  console.log(`[eval] wrote ${relative(process.cwd(), out)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
