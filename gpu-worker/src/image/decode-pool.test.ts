/**
 * The per-job decode budget and the fair decode queue (issue 15, item 5), on real images and a
 * real worker thread: pixels are checked from the header before decoding, a decode past its time
 * budget is abandoned (and the pool keeps working), and large decodes take turns between tenants.
 */
import { PNG } from "pngjs";
import { afterEach, describe, expect, it } from "vitest";
import { bigJpeg } from "../testing/big-jpeg.js";
import { DecodePool } from "./decode-pool.js";
import { ImageError } from "./decode.js";

const spec = { size: 8, mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const };
const pools: DecodePool[] = [];
const pool = (b: ConstructorParameters<typeof DecodePool>[0]) => {
  const p = new DecodePool(b);
  pools.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function png(w: number, h: number, v = 128): Uint8Array {
  const img = new PNG({ width: w, height: h });
  img.data.fill(v);
  return new Uint8Array(PNG.sync.write(img));
}

describe("decode budget", () => {
  it("refuses an image over the pixel budget from its header, before decoding", async () => {
    const p = pool({ maxPixels: 1000, timeoutMs: 5000 });
    const err = await p.preprocess(png(40, 40), spec).catch((e) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err.code).toBe("image_too_large");
    expect(err.message).toMatch(/40×40 = 1600 pixels, over the limit of 1000/);
    expect(p.stats).toEqual({ background: 0, inline: 0, timeouts: 0 });
  });

  it("abandons a 16-megapixel decode that passes its time budget, and keeps working", async () => {
    // 300 ms: seconds short of what 16 MP takes jpeg-js, far more than a 64×64 PNG needs
    const p = pool({ maxPixels: 16_777_216, timeoutMs: 300, inlinePixels: 0 });
    const jpeg = bigJpeg("timeout"); // encoding 16 MP takes seconds on a loaded box: outside the timed part
    const t0 = performance.now();
    const err = await p.preprocess(jpeg, spec, "a").catch((e) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err.code).toBe("image_decode_timeout");
    expect(performance.now() - t0).toBeLessThan(5000); // not the several seconds the decode takes
    expect(p.stats.timeouts).toBe(1);
    // the next image gets a fresh thread (inlinePixels 0: every image goes to the thread)
    const ok = await p.preprocess(png(64, 64, 255), spec, "a");
    expect(ok.length).toBe(3 * 8 * 8);
    expect(ok[0]).toBeCloseTo(1); // (255/255 - 0.5) / 0.5
    expect(p.stats.background).toBe(1);
  }, 60_000);

  it("small images decode inline; large ones take turns between tenants", async () => {
    const p = pool({ maxPixels: 16_777_216, timeoutMs: 30_000, inlinePixels: 64 * 64 });
    expect((await p.preprocess(png(64, 64), spec, "b")).length).toBe(192);
    expect(p.stats.inline).toBe(1);
    const order: string[] = [];
    const big = (tenant: string, i: number) => p.preprocess(png(300 + i, 300), spec, tenant).then(() => order.push(`${tenant}${i}`));
    // a queues three, then b one: b's waits for at most a's decode in progress, not all of a's
    await Promise.all([big("a", 1), big("a", 2), big("a", 3), big("b", 1)]);
    expect(order).toEqual(["a1", "b1", "a2", "a3"]);
  }, 60_000);
});
