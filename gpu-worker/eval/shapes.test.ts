import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { caption, COLORS, isHeldOut, questions, randomScene, renderPng, rng, type Scene } from "./shapes.js";

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
    expect(caption(three)).toBe(
      "a green triangle on the left, a blue square in the middle and a white circle on the right",
    );
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
});
