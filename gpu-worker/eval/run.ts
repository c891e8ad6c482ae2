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
 * full-placement split that require a held-out combination; default 50), EVAL_LATENCY_RUNS (timed
 * batch-1 VQA runs; default 300, 0 = skip), EVAL_BATCH (decode batch; default 64), EVAL_THREADS
 * (onnxruntime intra-op threads; default 1), EVAL_OUT (output path; default the package's EVAL.md),
 * EVAL_GPT_ICL (GPT package folder for the extra in-context column; default gpu-worker/models/gpt-baseline-lm when present).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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
  /** Scenes of the full-placement split (in-domain; default 150) and of its held-out variant (default 50). */
  fullScenes?: number;
  fullHeldOutScenes?: number;
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

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
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
  static async open(dir: string, batch: number, threads: number, executionProviders: string[] = ["cpu"]): Promise<Evaluator> {
    const pkg = await loadPackage(dir, { executionProviders, intraOpNumThreads: threads, interOpNumThreads: 1 }, { warn: () => {} });
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

export const FULL = "full-placement";
export const FULL_HELD_OUT = "full-placement held-out";
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
  const ts = [...tsSplit(o.tsScenes ?? 40, o.tsSizes ?? [64, 128, 256]), ...full];
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

const status = (ok: boolean) => (ok ? "**PASS**" : "**MISS**");

/** Issue 11's targets (metalm-tiny 1.0). */
export const TARGETS = {
  vqaOverall: 0.97,
  vqaForm: 0.93,
  vqaHeldOut: 0.85,
  captionExact: 0.9,
  veLabel: 0.95,
  consistency: 0.95,
  /** No placement-offset bucket more than this below the centred one (VQA accuracy). */
  placementDrop: 0.03,
  nli: 0.9,
  iclGain: 0.3,
} as const;

/** Per axis of the placement table: the largest drop (VQA) of a bucket below the first ("centred") bucket. */
function placementDrops(r: EvalResults, split: string): { axis: string; bucket: string; drop: number; ref: number; acc: number }[] {
  const out: { axis: string; bucket: string; drop: number; ref: number; acc: number }[] = [];
  for (const axis of ["vertical", "horizontal"] as const) {
    const rows = (r.placement ?? []).filter((p) => p.split === split && p.axis === axis && p.questions > 0);
    const ref = rows[0];
    if (!ref || rows.length < 2) continue;
    const worst = rows.slice(1).reduce((w, p) => (ref.vqa - p.vqa > ref.vqa - w.vqa ? p : w));
    out.push({ axis, bucket: worst.bucket, drop: ref.vqa - worst.vqa, ref: ref.vqa, acc: worst.vqa });
  }
  return out;
}

/** Issue 11's targets, one row each, measured against the tables below. */
function summary(r: EvalResults): string[] {
  const rows: [string, string, string, boolean | undefined][] = [];
  const T = TARGETS;
  for (const split of ["in-domain", FULL]) {
    const v = r.vqa?.find((x) => x.split === split);
    if (!v) continue;
    rows.push([`VQA ${split} overall`, `≥ ${100 * T.vqaOverall}%`, pct(v.overall), v.overall >= T.vqaOverall]);
    const [wf, wv] = Object.entries(v.forms).sort((a, b) => a[1].acc - b[1].acc)[0]!;
    rows.push([`VQA ${split}, every question form`, `≥ ${100 * T.vqaForm}%`, `lowest ${wf} ${pct(wv.acc)}`, wv.acc >= T.vqaForm]);
  }
  for (const split of ["held-out", FULL_HELD_OUT]) {
    const v = r.vqa?.find((x) => x.split === split);
    if (v) rows.push([`VQA held-out combinations (${split})`, `≥ ${100 * T.vqaHeldOut}%`, pct(v.overall), v.overall >= T.vqaHeldOut]);
  }
  for (const split of ["in-domain", FULL]) {
    const c = r.caption?.find((x) => x.split === split);
    if (c) rows.push([`caption exact match (${split})`, `≥ ${100 * T.captionExact}%`, pct(c.exact), c.exact >= T.captionExact]);
  }
  const ve = r.ve?.find((v) => v.model.startsWith("shipped") && v.split === "all");
  if (ve) rows.push(["visual entailment labels, shipped model (test set ve.jsonl)", `≥ ${100 * T.veLabel}%`, pct(ve.label), ve.label >= T.veLabel]);
  const vf = r.veFull?.find((v) => v.split === FULL);
  if (vf)
    rows.push([
      `visual entailment labels, shipped model (${FULL}, generated hypotheses)`,
      `≥ ${100 * T.veLabel}%`,
      `${pct(vf.label)} (explain op ${pct(vf.labelScored)})`,
      vf.label >= T.veLabel,
    ]);
  for (const split of ["in-domain", FULL]) {
    const c = r.consistency?.find((x) => x.split === split);
    if (c)
      rows.push([
        `vqa-then-explain consistency (${split})`,
        `≥ ${100 * T.consistency}%`,
        `${pct(c.consistent)} of ${c.scored} (right answers ${pct(c.right.consistent)} of ${c.right.n}, wrong ${pct(c.wrong.consistent)} of ${c.wrong.n})`,
        c.consistent >= T.consistency,
      ]);
  }
  const drops = placementDrops(r, FULL);
  if (drops.length)
    rows.push([
      `placement: no offset bucket more than ${100 * T.placementDrop} points below the centred one (VQA, ${FULL})`,
      `≤ ${100 * T.placementDrop} points`,
      drops.map((d) => `${d.axis}: ${d.bucket} ${pct(d.acc)} vs ${pct(d.ref)} (${d.drop > 0 ? "−" : "+"}${Math.abs(100 * d.drop).toFixed(1)})`).join("; "),
      drops.every((d) => d.drop <= T.placementDrop),
    ]);
  if (r.nli)
    rows.push([
      "text NLI, decoder frozen",
      `≥ ${100 * T.nli}% and above GPT`,
      `${pct(r.nli.metalm)} vs GPT ${pct(r.nli.gpt)}`,
      r.nli.metalm >= T.nli && r.nli.metalm > r.nli.gpt,
    ]);
  const k0 = r.icl?.find((x) => x.k === 0);
  const k4 = r.icl?.find((x) => x.k === 4);
  if (k0 && k4)
    rows.push([
      "4-shot vs 0-shot (MetaLM)",
      `≥ +${100 * T.iclGain} points`,
      `${pct(k0.metalm)} → ${pct(k4.metalm)} (+${(100 * (k4.metalm - k0.metalm)).toFixed(1)})`,
      k4.metalm - k0.metalm >= T.iclGain,
    ]);
  const id = r.vqa?.find((v) => v.split === "in-domain");
  const other = r.vqa?.filter((v) => !["in-domain", "held-out", FULL, FULL_HELD_OUT].includes(v.split)) ?? [];
  if (id && other.length)
    rows.push([
      "holds up on renderings never trained on (VQA)",
      "no number set",
      `${other.map((v) => `${v.split} ${pct(v.overall)}`).join(", ")} vs in-domain ${pct(id.overall)}`,
      undefined,
    ]);
  if (r.latency)
    rows.push([
      "latency of one VQA run (batch 1, in process: encode → connect → decode)",
      "today's speed on 2 CPU cores",
      `p50 ${r.latency.p50.toFixed(1)} ms (p90 ${r.latency.p90.toFixed(1)} ms, CPU p50 ${r.latency.cpuP50.toFixed(1)} ms; ${r.latency.runs} runs, ${r.latency.threads} thread${r.latency.threads === 1 ? "" : "s"})`,
      undefined,
    ]);
  const out = ["## Targets (issue 11) at a glance", "", "| target | wanted | measured | |", "|---|---|---|---|"];
  for (const [name, want, got, ok] of rows) out.push(`| ${name} | ${want} | ${got} | ${ok === undefined ? "—" : status(ok)} |`);
  const pass = rows.filter((x) => x[3] === true).length;
  const judged = rows.filter((x) => x[3] !== undefined).length;
  out.push("", `${pass} of ${judged} numeric targets met.`);
  return out;
}

export function renderMarkdown(r: EvalResults, meta: { command: string; date: string; machine: string; note: string; wallSeconds?: number }): string {
  const L: string[] = [];
  const t = (k: string) => `${(r.timings[k] ?? 0).toFixed(1)} s`;
  L.push("# metalm-tiny — evaluation (generated by `npm run eval`; do not edit by hand)", "");
  L.push(`- Command: \`${meta.command}\``);
  L.push(`- Date: ${meta.date}`);
  L.push(`- Machine: ${meta.machine}`);
  L.push(`- Packages: ${r.meta.metalm}; baseline ${r.meta.gpt}`);
  L.push(
    `- Path: the TypeScript runtime (gpu-worker/src: loadPackage, ModelRuntime.buildPrompt, batched greedy decode with the KV cache, stop at eos), onnxruntime-node on CPU.`,
  );
  L.push(
    `- Test sets: gpu-worker/training/testsets/ (fixed, seed 20260) plus splits drawn by gpu-worker/eval/shapes.ts (a renderer written independently of training; seeded): \`ts-<size>px\` (classic placement, near the vertical middle) and \`${FULL}\` / \`${FULL_HELD_OUT}\` (SHAPES_WORLD.md's full placement ranges: centre 25–75% of the height and within slot centre ± 10% of the width, never leaving its third; bounding box 12–25% of the width; a size per scene from 64/128/256 px; the held-out variant requires a held-out combination). ${meta.note}`,
  );
  if (Number(r.meta.promptErrors)) L.push(`- Prompts the runtime refused (counted wrong): ${r.meta.promptErrors} (first: ${r.meta.firstPromptError})`);
  L.push(
    `- Runtime: ${Object.values(r.timings)
      .reduce((a, b) => a + b, 0)
      .toFixed(
        1,
      )} s in the tables${meta.wallSeconds ? `, ${meta.wallSeconds.toFixed(1)} s wall clock for the whole command (package loading, TS rendering included)` : ""}; per table in each heading.`,
    "",
  );

  L.push(...summary(r), "");
  if (r.nli) {
    L.push(`## 1. Text NLI — decoder frozen vs GPT fine-tuned fully (${r.nli.n} pairs, ${t("nli")})`, "");
    L.push("| model | how it was trained | accuracy |", "|---|---|---|");
    L.push(
      `| MetaLM (metalm-tiny: text encoder + connector trained, decoder frozen) | premise/hypothesis through the text encoder, decoder \`[span] label:\` | ${pct(r.nli.metalm)} |`,
    );
    L.push(`| GPT baseline (gpt-baseline: every weight fine-tuned) | decoder text \`premise: … hypothesis: … label:\` | ${pct(r.nli.gpt)} |`);
    L.push("");
    L.push(
      `Paper anchor: MNLI with the decoder frozen, MetaLM 91.1 vs GPT 87.7. Target: ≥ 90% and above the GPT baseline → ${status(r.nli.metalm >= 0.9 && r.nli.metalm > r.nli.gpt)} (${pct(r.nli.metalm)} vs ${pct(r.nli.gpt)}).`,
      "",
    );
  }
  if (r.icl) {
    L.push(`## 2. In-context learning, k = 0, 1, 4 (${r.icl[0]?.n ?? 0} queries, task never stated, ${t("icl")})`, "");
    const extra = r.icl.some((x) => x.gptIcl !== undefined);
    L.push(
      `| k | MetaLM (images) | GPT baseline (captions as text) |${extra ? " GPT before NLI fine-tuning (captions as text) |" : ""}`,
      `|---|---|---|${extra ? "---|" : ""}`,
    );
    for (const x of r.icl) L.push(`| ${x.k} | ${pct(x.metalm)} | ${pct(x.gpt)} |${extra ? ` ${pct(x.gptIcl ?? 0)} |` : ""}`);
    L.push("");
    if (extra)
      L.push(`Extra column: ${r.meta.gptIcl} (the GPT baseline checkpoint from before its NLI fine-tuning; EVAL_GPT_ICL picks another package folder).`, "");
    const gk4 = r.icl.find((x) => x.k === 4)?.gpt ?? 0;
    if (gk4 < 0.1)
      L.push(
        `Note on the GPT column: the committed gpt-baseline is the checkpoint after its last stage, full fine-tuning on text NLI (train.py recipe \`gpt_gpu\`: text LM + in-context text, then \`nli_full\`), and it has forgotten the in-context format: at k = 4 it answers e.g. ${r.gptIclExample ?? "—"}. The GPT baseline column is therefore not a fair test of the paper's claim${extra ? "; the extra column is: the same GPT before its NLI stage (gpt-baseline-lm, trained by train.py recipe `gpt_gpu` on the same GPU budget and batch sizes as metalm-tiny's recipe `slots`)" : "; it needs the GPT checkpoint from before NLI fine-tuning exported as its own package"}.`,
        "",
      );
    L.push("Per task (k = 0 / 1 / 4):", "", "| task | n | MetaLM | GPT baseline |", "|---|---|---|---|");
    for (const [task, v] of Object.entries(r.iclPerTask ?? {}))
      L.push(`| ${task} | ${v.n} | ${v.metalm.map(pct).join(" / ")} | ${v.gpt.map(pct).join(" / ")} |`);
    const k0 = r.icl.find((x) => x.k === 0)!;
    const k4 = r.icl.find((x) => x.k === 4)!;
    const gain = 100 * (k4.metalm - k0.metalm);
    L.push("");
    L.push(
      `Paper anchor: in-context learning kept, 4-shot 60.9 (MetaLM) vs 60.2 (GPT); in-context VQAv2 k=4 45.3. Target: 4-shot at least 30 points above 0-shot → ${status(gain >= 30)} (MetaLM ${pct(k0.metalm)} → ${pct(k4.metalm)}, +${gain.toFixed(1)} points).`,
      "",
    );
  }
  if (r.caption) {
    L.push(`## 3. Captioning — CIDEr-D and exact match (${t("caption")})`, "");
    L.push(
      "CIDEr-D: our implementation (gpu-worker/eval/cider.ts; n = 1..4, idf from each split's references, clipping, σ = 6, ×10; one reference per image, so a perfect caption scores at most 10 minus orders with no informative n-grams).",
      "",
    );
    L.push("| split | images | exact match | CIDEr-D | a wrong caption (model → reference) |", "|---|---|---|---|---|");
    for (const c of r.caption)
      L.push(`| ${c.split} | ${c.n} | ${pct(c.exact)} | ${c.cider.toFixed(2)} | ${c.example ? `${c.example[0]} → ${c.example[1]}` : "—"} |`);
    const id = r.caption.find((c) => c.split === "in-domain");
    L.push("");
    if (id)
      L.push(
        `Paper anchor: zero-shot COCO Karpathy test CIDEr 82.2 (papers print coco-caption's CIDEr-D ×100, so 0.822 in the units here; our numbers are on a closed synthetic language with one reference per image, not comparable in size). Target: exact match ≥ ${100 * TARGETS.captionExact}% (in-domain and ${FULL}) → ${status(id.exact >= TARGETS.captionExact)} (${pct(id.exact)}${(() => {
          const f = r.caption!.find((c) => c.split === FULL);
          return f ? `; ${FULL} ${status(f.exact >= TARGETS.captionExact)} ${pct(f.exact)}` : "";
        })()}).`,
        "",
      );
  }
  if (r.vqa) {
    L.push(`## 4. Open-ended VQA — exact match per question form (${t("vqa")})`, "");
    const forms = [...new Set(r.vqa.flatMap((v) => Object.keys(v.forms)))];
    L.push(`| form | ${r.vqa.map((v) => v.split).join(" | ")} |`, `|---|${r.vqa.map(() => "---").join("|")}|`);
    L.push(`| **overall** | ${r.vqa.map((v) => `**${pct(v.overall)}** (${v.n})`).join(" | ")} |`);
    for (const f of forms) L.push(`| ${f} | ${r.vqa.map((v) => (v.forms[f] ? `${pct(v.forms[f].acc)} (${v.forms[f].n})` : "—")).join(" | ")} |`);
    L.push("");
    const id = r.vqa.find((v) => v.split === "in-domain");
    const ho = r.vqa.find((v) => v.split === "held-out");
    if (id) {
      const minForm = Math.min(...Object.values(id.forms).map((f) => f.acc));
      const fp = r.vqa.find((v) => v.split === FULL);
      const fpMin = fp ? Math.min(...Object.values(fp.forms).map((f) => f.acc)) : 0;
      L.push(
        `Paper anchor: zero-shot VQAv2 41.1, OK-VQA 11.4 (answers generated as open text, as here). Targets: in-domain ≥ ${100 * TARGETS.vqaOverall}% overall → ${status(id.overall >= TARGETS.vqaOverall)} (${pct(id.overall)}); ≥ ${100 * TARGETS.vqaForm}% on every form → ${status(minForm >= TARGETS.vqaForm)} (lowest ${pct(minForm)})${fp ? `; ${FULL} the same → ${status(fp.overall >= TARGETS.vqaOverall && fpMin >= TARGETS.vqaForm)} (${pct(fp.overall)}, lowest form ${pct(fpMin)})` : ""}${ho ? `; held-out combinations ≥ ${100 * TARGETS.vqaHeldOut}% → ${status(ho.overall >= TARGETS.vqaHeldOut)} (${pct(ho.overall)})` : ""}${(() => {
          const fh = r.vqa!.find((v) => v.split === FULL_HELD_OUT);
          return fh ? `; ${FULL_HELD_OUT} ≥ ${100 * TARGETS.vqaHeldOut}% → ${status(fh.overall >= TARGETS.vqaHeldOut)} (${pct(fh.overall)})` : "";
        })()}.`,
      );
      const others = r.vqa.filter((v) => !["in-domain", "held-out", FULL, FULL_HELD_OUT].includes(v.split));
      if (others.length)
        L.push(`Renderings never trained on (no numeric target; "holds up"): ${others.map((v) => `${v.split} ${pct(v.overall)}`).join(", ")}.`);
      L.push("");
    }
    L.push("First failures per split:", "");
    for (const v of r.vqa) if (v.failures.length) L.push(`- ${v.split}: ${v.failures.join("; ")}`);
    L.push("");
  }
  if (r.ve) {
    L.push(`## 5. Visual entailment — with vs without explanations (${t("ve")})`, "");
    L.push(
      "Prompt `[img] hypothesis: {h} it is`; greedy; label = first generated word; explanation = text after `because`. Explanation BLEU is corpus BLEU-4 (gpu-worker/eval/bleu.ts).",
      "",
    );
    L.push("| model | split | n | label accuracy | explanation exact | explanation BLEU-4 |", "|---|---|---|---|---|---|");
    for (const v of r.ve)
      L.push(
        `| ${v.model} | ${v.split} | ${v.n} | ${pct(v.label)} | ${v.explExact === undefined ? "—" : pct(v.explExact)} | ${v.explBleu === undefined ? "—" : v.explBleu.toFixed(3)} |`,
      );
    L.push("");
    const w = r.ve.find((v) => v.model.startsWith("with ") && v.split === "all");
    const wo = r.ve.find((v) => v.model.startsWith("without") && v.split === "all");
    const sh = r.ve.find((v) => v.model.startsWith("shipped") && v.split === "all");
    if (w && wo && sh)
      L.push(
        `Paper anchor: e-SNLI-VE 79.9 with explanations vs 79.6 label only. Here: ${pct(w.label)} with vs ${pct(wo.label)} without (${w.label > wo.label ? "explaining helps, as in the paper" : w.label === wo.label ? "no difference" : "explaining does not help here"}). Target: label accuracy ≥ ${100 * TARGETS.veLabel}% (shipped model) → ${status(sh.label >= TARGETS.veLabel)} (${pct(sh.label)}).`,
        "",
      );
    for (const e of r.veExamples ?? []) L.push(`- ${e}`);
    L.push("");
  }
  if (r.placement?.length) {
    L.push(`## 6. Placement offset — ${FULL} splits`, "");
    L.push(
      "Each scene of the full-placement splits in one bucket per axis: *vertical* by its objects' largest centre offset from the image's middle, |cy − 0.5| (fractions of the image height; the world allows up to 0.25), *horizontal* by the largest offset of a centre from its slot's centre (fractions of the width; up to 0.10). VQA: every question of the scenes (exact match); captions: exact match per scene. Offsets come from `layoutOf` (gpu-worker/eval/shapes.ts), the same draws that rendered the image.",
      "",
    );
    L.push("| split | axis | bucket | scenes | VQA (questions) | caption exact |", "|---|---|---|---|---|---|");
    for (const p of r.placement)
      L.push(
        `| ${p.split} | ${p.axis} | ${p.bucket} | ${p.scenes} | ${p.questions ? `${pct(p.vqa)} (${p.questions})` : "—"} | ${p.scenes ? pct(p.caption) : "—"} |`,
      );
    L.push("");
    const drops = placementDrops(r, FULL);
    if (drops.length)
      L.push(
        `Target: no bucket more than ${100 * TARGETS.placementDrop} points below the centred one (VQA, ${FULL}; per axis the first bucket is the reference) → ${status(drops.every((d) => d.drop <= TARGETS.placementDrop))} (${drops.map((d) => `${d.axis}: worst ${d.bucket}, ${(100 * d.drop).toFixed(1)} points below`).join("; ")}). Caption columns: a bucket of ~30 scenes moves 3 points per caption, so they are shown, not judged.`,
        "",
      );
  }
  if (r.veFull?.length) {
    L.push(`## 7. Visual entailment on full placement — generated hypotheses (${t("veFull")})`, "");
    L.push(
      "Hypotheses from gpu-worker/eval/shapes.ts `hypotheses()`, in the sentence forms training uses (gpu-worker/training/data.py `hypothesis()`), per scene: `there is {obj}` true and false (false mostly a hard negative: a present colour on another shape, a present shape in another colour), `there is {obj} {position}` true and false (same colour or same shape as the object there, an object from elsewhere, something where there is nothing), `the {shape} is {color}` (only for a shape present at most once; absent → contradiction; a wrong colour preferably another object's), `there is one {shape}` / `there are two|three {shape}s` true and false, `there is one object` / `there are {n} objects` true and false, and one neutral `the {color} {shape} is made of …|is heavy|…`. Prompt `[img] hypothesis: {h} it is`. *Greedy*: first generated word (as table 5); *explain op*: the service's `explain` (ModelRuntime.explain: each label's summed token log-likelihood after the prompt, best wins). Explanation exact: the greedy text after `because` vs the training data's explanation.",
      "",
    );
    L.push("| split | n | label (greedy) | label (explain op) | explanation exact |", "|---|---|---|---|---|");
    for (const v of r.veFull) L.push(`| ${v.split} | ${v.n} | ${pct(v.label)} | ${pct(v.labelScored)} | ${pct(v.explExact)} |`);
    L.push("");
    const keys = [
      ...new Set(r.veFull.flatMap((v) => [...Object.keys(v.perLabel).map((k) => `label ${k}`), ...Object.keys(v.perKind).map((k) => `form ${k}`)])),
    ];
    L.push(`| | ${r.veFull.map((v) => `${v.split} greedy / explain op (n)`).join(" | ")} |`, `|---|${r.veFull.map(() => "---").join("|")}|`);
    for (const k of keys) {
      const [kind, name] = [k.slice(0, k.indexOf(" ")), k.slice(k.indexOf(" ") + 1)];
      L.push(
        `| ${k} | ${r.veFull
          .map((v) => {
            const e = (kind === "label" ? v.perLabel : v.perKind)[name!];
            return e ? `${pct(e.label)} / ${pct(e.labelScored)} (${e.n})` : "—";
          })
          .join(" | ")} |`,
      );
    }
    L.push("");
    const vf = r.veFull.find((v) => v.split === FULL);
    if (vf)
      L.push(
        `Target: label accuracy ≥ ${100 * TARGETS.veLabel}% (shipped model, greedy as in table 5) → ${status(vf.label >= TARGETS.veLabel)} (${pct(vf.label)}; explain op ${pct(vf.labelScored)}).`,
        "",
      );
    L.push("First misses (greedy or explain op wrong):", "");
    for (const v of r.veFull) for (const m of v.misses) L.push(`- ${v.split}: ${m}`);
    L.push("");
  }
  if (r.consistency?.length) {
    L.push(`## 8. vqa-then-explain — does the explanation's label agree with the truth of the answer? (${t("consistency")})`, "");
    L.push(
      "The two model steps of workflows/examples/vqa-then-explain.json, for every scene and every position: `[img] question: what is {on the left|in the middle|on the right}? answer:` (greedy, ≤ 8 tokens), then, when the answer is an object phrase `a|an {color} {shape}`, the service's `explain` op (ModelRuntime.explain: labels scored by log-likelihood after `[img] hypothesis: there is {answer} it is`, then a greedy explanation, ≤ 24 tokens). Truth: does the scene contain that colour and shape anywhere → entailment, else contradiction. *Consistent*: the label equals the truth. Right/wrong: the answer vs the ground truth for that position. Answers `nothing` or not an object phrase are counted, not scored.",
      "",
    );
    L.push(
      '| split | asked | scored | consistent | right answers: consistent | wrong answers: consistent | "nothing" (slot really empty) | unparsable | labels given |',
      "|---|---|---|---|---|---|---|---|---|",
    );
    for (const c of r.consistency)
      L.push(
        `| ${c.split} | ${c.asked} | ${c.scored} | **${pct(c.consistent)}** | ${pct(c.right.consistent)} (${c.right.n}) | ${pct(c.wrong.consistent)} (${c.wrong.n}) | ${c.nothing.n} (${c.nothing.empty}) | ${c.unparsable.n} | ${Object.entries(
          c.labels,
        )
          .map(([k, n]) => `${k} ${n}`)
          .join(", ")} |`,
      );
    L.push("");
    const ok = ["in-domain", FULL].map((s) => r.consistency!.find((c) => c.split === s)).filter((c) => c !== undefined);
    if (ok.length)
      L.push(
        `Target: consistency ≥ ${100 * TARGETS.consistency}% → ${ok.map((c) => `${c.split} ${status(c.consistent >= TARGETS.consistency)} (${pct(c.consistent)})`).join("; ")}.`,
        "",
      );
    L.push("First inconsistent verdicts per split:", "");
    for (const c of r.consistency) for (const m of c.misses) L.push(`- ${c.split}: ${m}`);
    L.push(
      "",
      "Answers not scored: the first per split of `nothing` where the slot holds an object, and of answers that are not an object phrase (`nothing` on an empty slot is right and only counted):",
      "",
    );
    for (const c of r.consistency) for (const m of [...c.nothing.listed, ...c.unparsable.listed]) L.push(`- ${c.split}: ${m}`);
    L.push("");
  }
  if (r.latency) {
    const l = r.latency;
    L.push("## 9. Latency of one VQA run", "");
    L.push(
      `${l.runs} runs, one at a time (batch 1), each on a fresh ${l.size} px PNG (so the encoder and connector caches miss): ModelRuntime.buildPrompt (PNG decode, resize, vision encoder, connector, prompt embedding) then decode \`question: what is on the left? answer:\` (greedy, ≤ 8 tokens), in process, onnxruntime intra-op threads ${l.threads}, after ${Math.min(10, l.runs)} warm-up runs. Wall clock: p50 **${l.p50.toFixed(1)} ms**, p90 ${l.p90.toFixed(1)} ms, mean ${l.mean.toFixed(1)} ms; CPU time of the process per run (user + system, all threads): p50 ${l.cpuP50.toFixed(1)} ms${l.cpuP50 < 0.7 * l.p50 ? " (well below the wall clock: other load on the machine slowed the runs)" : ""}. HTTP, queueing and the edge are not included.`,
      "",
    );
  }
  return L.join("\n");
}

async function main() {
  const env = process.env;
  const models = join(ROOT, "gpu-worker/models");
  const limit = env.EVAL_LIMIT ? Number(env.EVAL_LIMIT) : undefined;
  const tsScenes = env.EVAL_TS_SCENES ? Number(env.EVAL_TS_SCENES) : 40;
  const fullScenes = env.EVAL_FULL_SCENES ? Number(env.EVAL_FULL_SCENES) : 150;
  const fullHeldOutScenes = env.EVAL_FULL_HELDOUT_SCENES ? Number(env.EVAL_FULL_HELDOUT_SCENES) : 50;
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
    latencyRuns,
    batch: Number(env.EVAL_BATCH ?? 64),
    threads,
    log: (m) => console.log(`[eval] ${m}`),
  });
  const overrides = ["EVAL_LIMIT", "EVAL_TS_SCENES", "EVAL_FULL_SCENES", "EVAL_FULL_HELDOUT_SCENES", "EVAL_LATENCY_RUNS"]
    .filter((k) => env[k])
    .map((k) => `${k}=${env[k]}`);
  const md = renderMarkdown(r, {
    command: "npm run eval" + (overrides.length ? ` (${overrides.join(" ")})` : ""),
    date: new Date().toISOString(),
    machine: `${hostname()}: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, onnxruntime intra-op threads ${threads}`,
    wallSeconds: (performance.now() - t0) / 1000,
    note: `${limit ? `Subsampled deterministically: the first ${limit} items per task and split of the fixed test sets.` : "Every test item."} ts splits: ${tsScenes} scenes per size (every 4th with a held-out combination); ${FULL}: ${fullScenes} scenes, ${FULL_HELD_OUT}: ${fullHeldOutScenes}.`,
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
