/**
 * The shapes world (../shared/SHAPES_WORLD.md) in TypeScript: scenes, a renderer written
 * independently of the Python training renderer (so tests and evaluation see drawings the model
 * never trained on), and the ground truth for captions and VQA answers, whose sentence forms the
 * world fixes.
 */
import { PNG } from "pngjs";

export const SLOTS = ["left", "middle", "right"] as const;
export const SHAPES = ["circle", "square", "triangle"] as const;
export const COLORS = {
  red: [220, 40, 40],
  green: [40, 180, 60],
  blue: [40, 70, 220],
  yellow: [230, 210, 40],
  orange: [240, 140, 30],
  purple: [150, 60, 190],
  cyan: [40, 200, 210],
  white: [235, 235, 235],
} as const;
export type Slot = (typeof SLOTS)[number];
export type Shape = (typeof SHAPES)[number];
export type Color = keyof typeof COLORS;
export type SceneObject = { shape: Shape; color: Color };
/** Left, middle, right; `null` is an empty slot. A scene has 1 to 3 objects. */
export type Scene = [SceneObject | null, SceneObject | null, SceneObject | null];

export const HELD_OUT: ReadonlyArray<SceneObject> = [
  { color: "purple", shape: "triangle" },
  { color: "cyan", shape: "square" },
  { color: "orange", shape: "circle" },
];

const PHRASE: Record<Slot, string> = { left: "on the left", middle: "in the middle", right: "on the right" };

/** Small seeded PRNG (mulberry32) so scenes and renderings are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function article(color: Color): string {
  return color === "orange" ? "an" : "a";
}

export function isHeldOut(o: SceneObject): boolean {
  return HELD_OUT.some((h) => h.color === o.color && h.shape === o.shape);
}

/** A random scene; `heldOut: "exclude"` never draws a held-out combination, `"require"` draws at least one. */
export function randomScene(rand: () => number, heldOut: "exclude" | "require" | "any" = "exclude"): Scene {
  const colors = Object.keys(COLORS) as Color[];
  for (;;) {
    const scene: Scene = [null, null, null];
    const count = 1 + Math.floor(rand() * 3);
    const slots = [0, 1, 2].sort(() => rand() - 0.5).slice(0, count);
    for (const s of slots) {
      scene[s] = { shape: SHAPES[Math.floor(rand() * 3)]!, color: colors[Math.floor(rand() * colors.length)]! };
    }
    const objs = scene.filter((o): o is SceneObject => o !== null);
    const has = objs.some(isHeldOut);
    if (heldOut === "exclude" && has) continue;
    if (heldOut === "require" && !has) continue;
    return scene;
  }
}

/** The caption of SHAPES_WORLD.md: objects left to right, ", " and a final " and ". */
export function caption(scene: Scene): string {
  const parts = SLOTS.flatMap((slot, i) => {
    const o = scene[i];
    return o ? [`${article(o.color)} ${o.color} ${o.shape} ${PHRASE[slot]}`] : [];
  });
  if (parts.length === 1) return parts[0]!;
  return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

const NUMBERS = ["zero", "one", "two", "three"];

/** Every VQA question the world allows for this scene, with its answer and its form. */
export function questions(scene: Scene): Array<{ form: string; question: string; answer: string }> {
  const out: Array<{ form: string; question: string; answer: string }> = [];
  const objs = scene.filter((o): o is SceneObject => o !== null);
  for (const shape of SHAPES) {
    const same = objs.filter((o) => o.shape === shape);
    if (same.length === 1) out.push({ form: "color_of_shape", question: `what color is the ${shape}?`, answer: same[0]!.color });
    out.push({ form: "count_shape", question: `how many ${shape}s are there?`, answer: NUMBERS[same.length]! });
  }
  SLOTS.forEach((slot, i) => {
    const o = scene[i];
    const where = PHRASE[slot];
    if (o) {
      out.push({ form: "shape_at", question: `what shape is ${where}?`, answer: o.shape });
      out.push({ form: "color_at", question: `what color is the object ${where}?`, answer: o.color });
    }
    out.push({ form: "what_at", question: `what is ${where}?`, answer: o ? `${article(o.color)} ${o.color} ${o.shape}` : "nothing" });
  });
  out.push({ form: "count_all", question: "how many objects are there?", answer: NUMBERS[objs.length]! });
  for (const color of Object.keys(COLORS) as Color[]) {
    const n = objs.filter((o) => o.color === color).length;
    out.push({ form: "count_color", question: `how many ${color} objects are there?`, answer: NUMBERS[n]! });
  }
  for (const shape of SHAPES) {
    // One negative per shape: the first colour (in the world's order) not present with that shape.
    const absent = (Object.keys(COLORS) as Color[]).find((c) => !objs.some((o) => o.color === c && o.shape === shape));
    if (absent) out.push({ form: "exists", question: `is there ${article(absent)} ${absent} ${shape}?`, answer: "no" });
  }
  for (const o of objs) {
    const matches = objs.filter((p) => p.color === o.color && p.shape === o.shape).length;
    out.push({ form: "exists", question: `is there ${article(o.color)} ${o.color} ${o.shape}?`, answer: "yes" });
    if (matches === 1) {
      const slot = SLOTS[scene.indexOf(o)]!;
      out.push({ form: "where", question: `where is the ${o.color} ${o.shape}?`, answer: PHRASE[slot] });
    }
  }
  return out;
}

export type VeLabel = "entailment" | "contradiction" | "neutral";
export const VE_LABELS: readonly VeLabel[] = ["entailment", "contradiction", "neutral"];
/** A visual-entailment hypothesis about a scene, its true label and the training data's explanation for it. */
export interface Hypothesis {
  /** exists | at | shape_color | count_shape | count_all | neutral */
  kind: string;
  hypothesis: string;
  label: VeLabel;
  explanation: string;
}

const PLURAL: Record<Shape, string> = { circle: "circles", square: "squares", triangle: "triangles" };
const objPhrase = (o: SceneObject) => `${article(o.color)} ${o.color} ${o.shape}`;
const countPhrase = (n: number, s: Shape) => (n === 0 ? `there is no ${s}` : n === 1 ? `there is one ${s}` : `there are ${NUMBERS[n]} ${PLURAL[s]}`);
/** Neutral templates (what the image cannot show), as gpu-worker/training/data.py's NEUTRAL. */
const NEUTRAL: ReadonlyArray<[string, readonly string[], string]> = [
  ["is made of {m}", ["wood", "metal", "plastic", "glass", "paper"], "the image does not show what the {s} is made of"],
  ["is {m}", ["heavy", "light"], "the image does not show the weight of the {s}"],
  ["is {m}", ["hot", "cold"], "the image does not show the temperature of the {s}"],
  ["belongs to a {m}", ["child", "teacher"], "the image does not show the owner of the {s}"],
  ["is {m}", ["soft", "hard"], "the image does not show how the {s} feels"],
];

/**
 * An object absent from the scene, mostly a hard negative: a present colour on another shape (40%),
 * a present shape in another colour (40%), else any absent object. `heldOut: false` never returns a
 * held-out combination.
 */
export function absentObject(scene: Scene, rand: () => number, heldOut = false): SceneObject {
  const colors = Object.keys(COLORS) as Color[];
  const objs = scene.filter((o): o is SceneObject => o !== null);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  for (;;) {
    const k = rand();
    const ref = pick(objs);
    const o: SceneObject =
      k < 0.4 ? { color: ref.color, shape: pick(SHAPES) } : k < 0.8 ? { color: pick(colors), shape: ref.shape } : { color: pick(colors), shape: pick(SHAPES) };
    if (objs.some((p) => p.color === o.color && p.shape === o.shape)) continue;
    if (!heldOut && isHeldOut(o)) continue;
    return o;
  }
}

/**
 * Visual-entailment hypotheses for a scene in the sentence forms the model was trained on
 * (gpu-worker/training/data.py `hypothesis()`), with true labels and explanations: `there is {obj}`
 * (true, and false as a hard negative), `there is {obj} {position}` (true for an occupied slot;
 * false: same colour or same shape as the object there, an object from another slot, or something
 * where there is nothing), `the {shape} is {color}` (only for a shape present at most once; absent →
 * contradiction), counts of a shape (`there is one {shape}`, `there are two {shape}s`; never zero)
 * and of all objects, and one neutral (`the {color} {shape} is made of wood`, … `is heavy`, …).
 * `heldOut: false`: no hypothesis names a held-out combination.
 */
export function hypotheses(scene: Scene, rand: () => number, heldOut = false): Hypothesis[] {
  const colors = Object.keys(COLORS) as Color[];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const objs = SLOTS.flatMap((slot, i) => (scene[i] ? [{ slot, o: scene[i]! }] : []));
  const allowed = (o: SceneObject) => heldOut || !isHeldOut(o);
  const same = (a: SceneObject | null, b: SceneObject) => !!a && a.color === b.color && a.shape === b.shape;
  const out: Hypothesis[] = [];
  // exists
  const e = pick(objs);
  out.push({
    kind: "exists",
    hypothesis: `there is ${objPhrase(e.o)}`,
    label: "entailment",
    explanation: `the ${e.o.shape} ${PHRASE[e.slot]} is ${e.o.color}`,
  });
  const a = absentObject(scene, rand, heldOut);
  out.push({ kind: "exists", hypothesis: `there is ${objPhrase(a)}`, label: "contradiction", explanation: `there is no ${a.color} ${a.shape}` });
  // at
  const at = pick(objs);
  out.push({
    kind: "at",
    hypothesis: `there is ${objPhrase(at.o)} ${PHRASE[at.slot]}`,
    label: "entailment",
    explanation: `the ${at.o.shape} ${PHRASE[at.slot]} is ${at.o.color}`,
  });
  for (;;) {
    const i = Math.floor(rand() * 3);
    const o = scene[i] ?? null;
    let h: SceneObject = rand() < 0.4 ? pick(objs).o : { color: pick(colors), shape: pick(SHAPES) };
    if (o && rand() < 0.5) h = rand() < 0.5 ? { color: o.color, shape: pick(SHAPES) } : { color: pick(colors), shape: o.shape };
    if (same(o, h) || !allowed(h)) continue;
    const slot = SLOTS[i]!;
    const explanation = o ? `the object ${PHRASE[slot]} is ${objPhrase(o)}` : `there is nothing ${PHRASE[slot]}`;
    out.push({ kind: "at", hypothesis: `there is ${objPhrase(h)} ${PHRASE[slot]}`, label: "contradiction", explanation });
    break;
  }
  // shape_color: a shape present at most once
  const s = pick(SHAPES.filter((x) => objs.filter((p) => p.o.shape === x).length <= 1));
  const found = objs.find((p) => p.o.shape === s);
  if (found) {
    out.push({
      kind: "shape_color",
      hypothesis: `the ${s} is ${found.o.color}`,
      label: "entailment",
      explanation: `the ${s} ${PHRASE[found.slot]} is ${found.o.color}`,
    });
    // a wrong colour, preferably one another object has (the binding error)
    const others = objs.map((p) => p.o.color).filter((c) => c !== found.o.color && allowed({ color: c, shape: s }));
    const pool = others.length && rand() < 0.7 ? others : colors.filter((c) => c !== found.o.color && allowed({ color: c, shape: s }));
    out.push({
      kind: "shape_color",
      hypothesis: `the ${s} is ${pick(pool)}`,
      label: "contradiction",
      explanation: `the ${s} ${PHRASE[found.slot]} is ${found.o.color}`,
    });
  } else {
    const c = pick(colors.filter((x) => allowed({ color: x, shape: s })));
    out.push({ kind: "shape_color", hypothesis: `the ${s} is ${c}`, label: "contradiction", explanation: `there is no ${s}` });
  }
  // count_shape (no "there are zero …": not a form of this world)
  const cs = pick(SHAPES);
  const n = objs.filter((p) => p.o.shape === cs).length;
  if (n > 0) out.push({ kind: "count_shape", hypothesis: countPhrase(n, cs), label: "entailment", explanation: countPhrase(n, cs) });
  out.push({
    kind: "count_shape",
    hypothesis: countPhrase(pick([1, 2, 3].filter((k) => k !== n)), cs),
    label: "contradiction",
    explanation: countPhrase(n, cs),
  });
  // count_all
  const all = (k: number) => (k === 1 ? "there is one object" : `there are ${NUMBERS[k]} objects`);
  out.push({ kind: "count_all", hypothesis: all(objs.length), label: "entailment", explanation: all(objs.length) });
  out.push({ kind: "count_all", hypothesis: all(pick([1, 2, 3].filter((k) => k !== objs.length))), label: "contradiction", explanation: all(objs.length) });
  // neutral
  const nu = pick(objs).o;
  const [tmpl, fills, expl] = pick(NEUTRAL);
  out.push({
    kind: "neutral",
    hypothesis: `the ${nu.color} ${nu.shape} ${tmpl.replace("{m}", pick(fills))}`,
    label: "neutral",
    explanation: expl.replace("{s}", nu.shape),
  });
  return out;
}

/**
 * How objects are placed. `"classic"` (the default; the `ts-<size>px` splits and the tests' images):
 * centre within ±15% of the image's vertical middle, radius 8–12% of the width. `"full"`: the
 * ranges of SHAPES_WORLD.md — centre from 25% to 75% of the height and within the middle 60% of its
 * third (slot centre ± 10% of the width), bounding box 12–25% of the width; an object never leaves
 * its third, so a box wider than 2 × (1/6 − 10%) of the width gets a narrower horizontal range
 * (|offset| ≤ 1/6 − box/2).
 */
export type Placement = "classic" | "full";
export type RenderOptions = { size?: number; seed?: number; noise?: number; background?: number; placement?: Placement };

/** Where an object was drawn, as fractions of the image side (`cx`, `cy`: the centre; `box`: bounding-box width). */
export interface ObjectLayout {
  slot: Slot;
  shape: Shape;
  color: Color;
  cx: number;
  cy: number;
  box: number;
  /** `cx` minus the centre of the object's third. */
  dx: number;
}

/** Bounding-box width of a shape of radius parameter `r` (circle 2r, square 1.8r, triangle 2r). */
const BOX_PER_R: Record<Shape, number> = { circle: 2, square: 1.8, triangle: 2 };

/** The world's full placement ranges (fractions of the image side). */
export const FULL_PLACEMENT = { cy: [0.25, 0.75], dx: 0.1, box: [0.12, 0.25] } as const;

interface Drawn {
  shape: Shape;
  cx: number;
  cy: number;
  r: number;
  rgb: number[];
}

/** The random draws of a rendering, in the order `renderPng` makes them (same seed → same draws). */
function draw(scene: Scene, opts: RenderOptions): { size: number; bg: number; noise: number; rand: () => number; objs: (Drawn | null)[] } {
  const size = opts.size ?? 128;
  const rand = rng(opts.seed ?? 1);
  const bg = opts.background ?? 15 + Math.floor(rand() * 60);
  const noise = opts.noise ?? 6;
  const third = size / 3;
  const full = (opts.placement ?? "classic") === "full";
  const objs = scene.map((o, i) => {
    if (!o) return null;
    let r: number, cx: number, cy: number;
    if (full) {
      const [b0, b1] = FULL_PLACEMENT.box;
      const box = b0 + rand() * (b1 - b0);
      const reach = Math.min(FULL_PLACEMENT.dx, 1 / 6 - box / 2);
      r = (box * size) / BOX_PER_R[o.shape];
      cx = third * i + third / 2 + (rand() * 2 - 1) * reach * size;
      const [y0, y1] = FULL_PLACEMENT.cy;
      cy = (y0 + rand() * (y1 - y0)) * size;
    } else {
      r = third * 0.3 * (0.8 + rand() * 0.4);
      cx = third * i + third / 2 + (rand() - 0.5) * (third / 2 - r) * 0.8;
      cy = size / 2 + (rand() - 0.5) * size * 0.3;
    }
    const rgb = COLORS[o.color].map((c) => Math.max(0, Math.min(255, c + Math.round((rand() - 0.5) * 30))));
    return { shape: o.shape, cx, cy, r, rgb };
  });
  return { size, bg, noise, rand, objs };
}

/** The layout `renderPng(scene, opts)` draws (per slot; `null` for an empty slot), without drawing it. */
export function layoutOf(scene: Scene, opts: RenderOptions = {}): (ObjectLayout | null)[] {
  const { size, objs } = draw(scene, opts);
  return objs.map((d, i) => {
    const o = scene[i];
    if (!d || !o) return null;
    const cx = d.cx / size;
    return { slot: SLOTS[i]!, shape: o.shape, color: o.color, cx, cy: d.cy / size, box: (d.r * BOX_PER_R[o.shape]) / size, dx: cx - (i + 0.5) / 3 };
  });
}

/**
 * Draws a scene as a PNG: dark (optionally graded, noisy) background, each object inside its third
 * of the image with jittered position (see `Placement`), size and colour, edges anti-aliased by 4×4
 * supersampling. `layoutOf(scene, opts)` returns where the objects went.
 */
export function renderPng(scene: Scene, opts: RenderOptions = {}): Buffer {
  const { size, bg, noise, rand, objs } = draw(scene, opts);
  const png = new PNG({ width: size, height: size });
  const inside = (o: Drawn, x: number, y: number): boolean => {
    const dx = x - o.cx;
    const dy = y - o.cy;
    if (o.shape === "circle") return dx * dx + dy * dy <= o.r * o.r;
    if (o.shape === "square") return Math.abs(dx) <= o.r * 0.9 && Math.abs(dy) <= o.r * 0.9;
    // Triangle pointing up: apex above centre, base below.
    const top = o.cy - o.r;
    const bottom = o.cy + o.r * 0.8;
    if (y < top || y > bottom) return false;
    const half = ((y - top) / (bottom - top)) * o.r;
    return Math.abs(dx) <= half;
  };
  const SS = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const base = bg + (y / size) * 10 + (rand() - 0.5) * noise;
      const acc = [0, 0, 0];
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const px = x + (sx + 0.5) / SS;
          const py = y + (sy + 0.5) / SS;
          const hit = objs.find((o) => o && inside(o, px, py));
          for (let c = 0; c < 3; c++) acc[c]! += hit ? hit.rgb[c]! : base;
        }
      }
      const idx = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) png.data[idx + c] = Math.max(0, Math.min(255, Math.round(acc[c]! / (SS * SS))));
      png.data[idx + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
