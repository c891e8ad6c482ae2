import { describe, expect, it } from "vitest";
import { rng } from "../../eval/shapes.js";
import { preprocessImage, preprocessKey } from "./preprocess.js";
import { preprocessReference as oracle } from "./preprocess-reference.js";

describe("preprocessImage", () => {
  it("matches the first implementation bit for bit: down and up, odd sizes, opaque and translucent pixels, backgrounds", () => {
    const r = rng(42);
    let n = 0;
    for (const [w, h, S] of [
      [128, 128, 64],
      [256, 256, 64],
      [100, 37, 64],
      [64, 64, 64],
      [20, 31, 64],
      [3, 2, 7],
      [1, 1, 4],
      [97, 200, 32],
    ] as const)
      for (const alpha of ["opaque", "mixed", "random"] as const) {
        const data = new Uint8Array(w * h * 4);
        for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
        for (let i = 3; i < data.length; i += 4) data[i] = alpha === "opaque" ? 255 : alpha === "mixed" && r() < 0.7 ? 255 : data[i]!;
        const spec = {
          size: S,
          mean: [0.5, 0.45, 0.4] as const,
          std: [0.5, 0.25, 0.3] as const,
          background: n % 2 ? ([10, 200, 33] as const) : undefined,
        };
        const img = { width: w, height: h, data };
        const got = preprocessImage(img, spec);
        const want = oracle(img, spec);
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `${w}×${h} → ${S}, ${alpha}`).toBe(true);
        n++;
      }
    expect(n).toBe(24);
  });

  it("keeps one key per spec object, the same text as before", () => {
    const spec = { size: 64, mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const };
    const k = preprocessKey(spec);
    expect(k).toBe('{"v":1,"size":64,"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5],"bg":[0,0,0],"resize":"bilinear-up/area-down"}');
    expect(preprocessKey(spec)).toBe(k);
    expect(preprocessKey({ ...spec, size: 32 })).not.toBe(k);
  });
});
