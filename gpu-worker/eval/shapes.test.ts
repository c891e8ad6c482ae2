import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { caption, COLORS, FULL_PLACEMENT, hypotheses, isHeldOut, layoutOf, questions, randomScene, renderPng, rng, SLOTS, type Scene } from "./shapes.js";

const three: Scene = [
  { shape: "triangle", color: "green" },
  { shape: "square", color: "blue" },
  { shape: "circle", color: "white" },
];

describe("shapes world ground truth", () => {
  it("captions follow SHAPES_WORLD.md", () => {
    expect(caption([null, null, { shape: "circle", color: "yellow" }])).toBe("a yellow circle on the right");
    expect(caption([null, { shape: "square", color: "orange" }, null])).toBe("an orange square in the middle");
    expect(caption([{ shape: "circle", color: "red" }, null, { shape: "circle", color: "cyan" }])).toBe(
      "a red circle on the left and a cyan circle on the right",
    );
    expect(caption(three)).toBe("a green triangle on the left, a blue square in the middle and a white circle on the right");
  });

  it("answers every question form", () => {
    const qa = new Map(questions(three).map((q) => [q.question, q.answer]));
    expect(qa.get("what color is the triangle?")).toBe("green");
    expect(qa.get("what shape is in the middle?")).toBe("square");
    expect(qa.get("what color is the object on the right?")).toBe("white");
    expect(qa.get("what is on the left?")).toBe("a green triangle");
    expect(qa.get("how many objects are there?")).toBe("three");
    expect(qa.get("how many circles are there?")).toBe("one");
    expect(qa.get("how many red objects are there?")).toBe("zero");
    expect(qa.get("is there a blue square?")).toBe("yes");
    expect(qa.get("is there a red square?")).toBe("no");
    expect(qa.get("where is the white circle?")).toBe("on the right");
    const empty = new Map(questions([null, { shape: "circle", color: "orange" }, null]).map((q) => [q.question, q.answer]));
    expect(empty.get("what is on the left?")).toBe("nothing");
    expect(empty.get("what is in the middle?")).toBe("an orange circle");
    expect(empty.has("what shape is on the left?")).toBe(false);
  });

  it("draws scenes that exclude or require held-out combinations", () => {
    const r = rng(7);
    for (let i = 0; i < 200; i++) {
      const s = randomScene(r, "exclude");
      const objs = s.filter((o) => o !== null);
      expect(objs.length).toBeGreaterThanOrEqual(1);
      expect(objs.some((o) => isHeldOut(o!))).toBe(false);
      expect(randomScene(r, "require").some((o) => o !== null && isHeldOut(o))).toBe(true);
    }
  });

  it("renders each object in its slot with its colour", () => {
    const png = PNG.sync.read(renderPng(three, { size: 96, seed: 3, noise: 0 }));
    expect([png.width, png.height]).toEqual([96, 96]);
    // Count pixels close to each reference colour in each third of the image.
    const near = (slot: number, rgb: readonly number[]) => {
      let n = 0;
      for (let y = 0; y < 96; y++)
        for (let x = slot * 32; x < slot * 32 + 32; x++) {
          const i = (y * 96 + x) * 4;
          const d = Math.abs(png.data[i]! - rgb[0]!) + Math.abs(png.data[i + 1]! - rgb[1]!) + Math.abs(png.data[i + 2]! - rgb[2]!);
          if (d < 60) n++;
        }
      return n;
    };
    expect(near(0, COLORS.green)).toBeGreaterThan(20);
    expect(near(1, COLORS.blue)).toBeGreaterThan(20);
    expect(near(2, COLORS.white)).toBeGreaterThan(20);
    expect(near(0, COLORS.white)).toBe(0);
  });

  it("full placement: sampled layouts stay inside SHAPES_WORLD.md's ranges and cover them", () => {
    const r = rng(11);
    const cy: number[] = [];
    const dx: number[] = [];
    const box: number[] = [];
    for (let i = 0; i < 400; i++) {
      const scene = randomScene(r, "any");
      for (const [k, l] of layoutOf(scene, { seed: i, placement: "full" }).entries()) {
        if (!scene[k]) {
          expect(l).toBeNull();
          continue;
        }
        expect(l).toMatchObject({ slot: SLOTS[k], shape: scene[k]!.shape, color: scene[k]!.color });
        cy.push(l!.cy);
        dx.push(l!.dx);
        box.push(l!.box);
        // centre 25–75% of the height, within the middle 60% of its third, size 12–25% of the width
        expect(l!.cy).toBeGreaterThanOrEqual(0.25);
        expect(l!.cy).toBeLessThanOrEqual(0.75);
        expect(Math.abs(l!.dx)).toBeLessThanOrEqual(0.1 + 1e-9);
        expect(l!.box).toBeGreaterThanOrEqual(0.12 - 1e-9);
        expect(l!.box).toBeLessThanOrEqual(0.25 + 1e-9);
        // never leaves its third
        expect(l!.cx - l!.box / 2).toBeGreaterThanOrEqual(k / 3 - 1e-9);
        expect(l!.cx + l!.box / 2).toBeLessThanOrEqual((k + 1) / 3 + 1e-9);
      }
    }
    const off = cy.map((y) => Math.abs(y - 0.5));
    // covers the ranges: centres beyond ±20% vertically (both ways), horizontal offsets near ±10%, small and large boxes
    expect(cy.filter((y) => y < 0.3).length).toBeGreaterThan(10);
    expect(cy.filter((y) => y > 0.7).length).toBeGreaterThan(10);
    expect(Math.max(...off)).toBeGreaterThan(0.24);
    expect(Math.min(...dx)).toBeLessThan(-0.09);
    expect(Math.max(...dx)).toBeGreaterThan(0.09);
    expect(Math.min(...box)).toBeLessThan(0.125);
    expect(Math.max(...box)).toBeGreaterThan(0.245);
    expect(FULL_PLACEMENT.cy).toEqual([0.25, 0.75]);
  });

  it("classic placement (the default) stays within ±15% of the vertical middle; same seed, same layout", () => {
    const r = rng(12);
    for (let i = 0; i < 200; i++) {
      const scene = randomScene(r, "any");
      const a = layoutOf(scene, { seed: i });
      expect(a).toEqual(layoutOf(scene, { seed: i, placement: "classic", size: 64 }));
      for (const l of a) if (l) expect(Math.abs(l.cy - 0.5)).toBeLessThanOrEqual(0.15);
    }
    const scene = randomScene(rng(3));
    expect(layoutOf(scene, { seed: 9, placement: "full" })).toEqual(layoutOf(scene, { seed: 9, placement: "full" }));
    expect(layoutOf(scene, { seed: 9, placement: "full" })).not.toEqual(layoutOf(scene, { seed: 10, placement: "full" }));
  });

  it("full placement draws each object where its layout says", () => {
    const size = 128;
    const scene: Scene = [{ shape: "square", color: "red" }, null, { shape: "circle", color: "blue" }];
    for (const seed of [1, 2, 3, 4, 5]) {
      const png = PNG.sync.read(renderPng(scene, { size, seed, noise: 0, placement: "full" }));
      for (const l of layoutOf(scene, { size, seed, placement: "full" })) {
        if (!l) continue;
        const i = (Math.floor(l.cy * size) * size + Math.floor(l.cx * size)) * 4;
        const ref = COLORS[l.color];
        const d = Math.abs(png.data[i]! - ref[0]) + Math.abs(png.data[i + 1]! - ref[1]) + Math.abs(png.data[i + 2]! - ref[2]);
        expect(d).toBeLessThan(60);
      }
    }
  });

  it("visual-entailment hypotheses carry their true labels (checked by an independent reading of each form)", () => {
    const NUM: Record<string, number> = { one: 1, two: 2, three: 3 };
    const POS: Record<string, number> = { "on the left": 0, "in the middle": 1, "on the right": 2 };
    const truth = (scene: Scene, h: string): string => {
      const objs = scene.filter((o) => o !== null);
      const has = (c: string, s: string) => objs.some((o) => o!.color === c && o!.shape === s);
      let m: RegExpExecArray | null;
      if ((m = /^the (\w+) (\w+) (is|belongs) /.exec(h)) && m[1]! in COLORS) return "neutral";
      if ((m = /^there is an? (\w+) (\w+) (on the left|in the middle|on the right)$/.exec(h))) {
        const o = scene[POS[m[3]!]!];
        return o && o.color === m[1] && o.shape === m[2] ? "entailment" : "contradiction";
      }
      if ((m = /^there is an? (\w+) (\w+)$/.exec(h)) && m[1]! in COLORS) return has(m[1]!, m[2]!) ? "entailment" : "contradiction";
      if ((m = /^the (circle|square|triangle) is (\w+)$/.exec(h))) {
        const same = objs.filter((o) => o!.shape === m![1]);
        expect(same.length).toBeLessThanOrEqual(1);
        return same[0]?.color === m[2] ? "entailment" : "contradiction";
      }
      if ((m = /^there (?:is|are) (one|two|three) objects?$/.exec(h))) return objs.length === NUM[m[1]!] ? "entailment" : "contradiction";
      if ((m = /^there (?:is|are) (one|two|three) (circle|square|triangle)s?$/.exec(h)))
        return objs.filter((o) => o!.shape === m![2]).length === NUM[m[1]!] ? "entailment" : "contradiction";
      throw new Error(`unknown form: ${h}`);
    };
    const r = rng(21);
    const labels = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const held = i % 3 === 0;
      const scene = randomScene(r, held ? "require" : "exclude");
      const hs = hypotheses(scene, r, held);
      expect(new Set(hs.map((h) => h.kind))).toEqual(new Set(["exists", "at", "shape_color", "count_shape", "count_all", "neutral"]));
      for (const h of hs) {
        expect(truth(scene, h.hypothesis), h.hypothesis).toBe(h.label);
        labels.set(h.label, (labels.get(h.label) ?? 0) + 1);
        if (!held) for (const ho of ["purple triangle", "cyan square", "orange circle"]) expect(h.hypothesis).not.toContain(ho);
        expect(h.hypothesis).not.toMatch(/there (is|are) (zero|no) /);
      }
    }
    expect([...labels.keys()].sort()).toEqual(["contradiction", "entailment", "neutral"]);
  });
});
