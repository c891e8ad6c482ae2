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

export type RenderOptions = { size?: number; seed?: number; noise?: number; background?: number };

/**
 * Draws a scene as a PNG: dark (optionally graded, noisy) background, each object inside its third
 * of the image with jittered position, size and colour, edges anti-aliased by 4×4 supersampling.
 */
export function renderPng(scene: Scene, opts: RenderOptions = {}): Buffer {
  const size = opts.size ?? 128;
  const rand = rng(opts.seed ?? 1);
  const bg = opts.background ?? 15 + Math.floor(rand() * 60);
  const noise = opts.noise ?? 6;
  const png = new PNG({ width: size, height: size });
  const third = size / 3;
  const objs = scene.map((o, i) => {
    if (!o) return null;
    const r = third * 0.3 * (0.8 + rand() * 0.4);
    const cx = third * i + third / 2 + (rand() - 0.5) * (third / 2 - r) * 0.8;
    const cy = size / 2 + (rand() - 0.5) * size * 0.3;
    const rgb = COLORS[o.color].map((c) => Math.max(0, Math.min(255, c + Math.round((rand() - 0.5) * 30))));
    return { shape: o.shape, cx, cy, r, rgb };
  });
  const inside = (o: NonNullable<(typeof objs)[number]>, x: number, y: number): boolean => {
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
