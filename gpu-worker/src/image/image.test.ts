import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { decodeImage, ImageError, sniffImage } from "./decode.js";
import { compositeRgb, preprocessImage, resizeRgb } from "./preprocess.js";

function rgba(width: number, height: number, px: (x: number, y: number) => [number, number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(px(x, y), (y * width + x) * 4);
  return data;
}
export function makePng(width: number, height: number, px: (x: number, y: number) => [number, number, number, number]): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba(width, height, px));
  return PNG.sync.write(png);
}
export function makeJpeg(width: number, height: number, px: (x: number, y: number) => [number, number, number], quality = 95): Buffer {
  return jpeg.encode({ width, height, data: Buffer.from(rgba(width, height, (x, y) => [...px(x, y), 255])) }, quality).data;
}
const spec = { size: 4, mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const };

describe("image decoding", () => {
  it("detects PNG and JPEG by magic bytes and decodes both", () => {
    const png = makePng(3, 2, (x) => [x * 100, 0, 0, 255]);
    const jpg = makeJpeg(16, 8, () => [200, 40, 40]);
    expect(sniffImage(png)).toBe("png");
    expect(sniffImage(jpg)).toBe("jpeg");
    const p = decodeImage(png);
    expect([p.format, p.width, p.height]).toEqual(["png", 3, 2]);
    expect(Array.from(p.data.subarray(4, 8))).toEqual([100, 0, 0, 255]);
    const j = decodeImage(jpg);
    expect([j.format, j.width, j.height]).toEqual(["jpeg", 16, 8]);
    expect(Math.abs(j.data[0]! - 200)).toBeLessThan(6);
  });

  it("decodes grayscale PNGs to RGBA", () => {
    const png = new PNG({ width: 2, height: 1 });
    png.data = Buffer.from([10, 10, 10, 255, 200, 200, 200, 255]);
    const gray = PNG.sync.write(png, { colorType: 0, inputColorType: 6, bitDepth: 8 });
    const img = decodeImage(gray);
    expect(Array.from(img.data)).toEqual([10, 10, 10, 255, 200, 200, 200, 255]);
  });

  it("rejects non-images, corrupt files and too many pixels with clear errors", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ImageError);
        return e as ImageError;
      }
      throw new Error("expected an ImageError");
    };
    expect(err(() => decodeImage(new TextEncoder().encode("GIF89a...."))).code).toBe("not_an_image");
    expect(err(() => decodeImage(new Uint8Array())).message).toMatch(/not a PNG or JPEG/);
    const png = makePng(8, 8, () => [1, 2, 3, 255]);
    expect(err(() => decodeImage(png.subarray(0, png.length - 30))).code).toBe("corrupt_image");
    const jpg = makeJpeg(32, 32, (x, y) => [x * 8, y * 8, 0]);
    expect(err(() => decodeImage(jpg.subarray(0, 40))).code).toBe("corrupt_image");
    const e = err(() =>
      decodeImage(
        makePng(100, 100, () => [0, 0, 0, 255]),
        { maxPixels: 9999 },
      ),
    );
    expect(e.code).toBe("image_too_large");
    expect(e.message).toMatch(/100×100 = 10000 pixels, over the limit of 9999/);
    expect(
      err(() =>
        decodeImage(
          makeJpeg(100, 100, () => [0, 0, 0]),
          { maxPixels: 9999 },
        ),
      ).code,
    ).toBe("image_too_large");
  });
});

describe("preprocessing", () => {
  it("composites alpha over the background", () => {
    const rgb = compositeRgb({ width: 1, height: 1, data: Uint8Array.of(200, 100, 0, 128) }, [0, 0, 255]);
    expect(rgb[0]).toBeCloseTo(200 * (128 / 255));
    expect(rgb[2]).toBeCloseTo(255 * (1 - 128 / 255));
  });

  it("area-averages when downscaling and keeps constants constant when upscaling", () => {
    // 4×4 checkerboard of 0/255 → 2×2 must be uniform mid-grey (no aliasing)
    const src = new Float32Array(4 * 4 * 3).map((_, i) => {
      const p = Math.floor(i / 3);
      return ((p % 4) + Math.floor(p / 4)) % 2 ? 255 : 0;
    });
    for (const v of resizeRgb(src, 4, 4, 2, 2)) expect(v).toBeCloseTo(127.5, 3);
    const flat = new Float32Array(2 * 2 * 3).fill(80);
    for (const v of resizeRgb(flat, 2, 2, 7, 5)) expect(v).toBeCloseTo(80, 4);
    // upscaling a gradient stays monotone and within range
    const grad = Float32Array.from({ length: 2 * 1 * 3 }, (_, i) => (i < 3 ? 0 : 255));
    const up = resizeRgb(grad, 2, 1, 4, 1);
    const reds = [0, 1, 2, 3].map((x) => up[x * 3]!);
    expect(reds).toEqual([...reds].sort((a, b) => a - b));
    expect(reds[0]).toBeGreaterThanOrEqual(0);
    expect(reds[3]).toBeLessThanOrEqual(255);
  });

  it("normalises with mean/std into NCHW", () => {
    const img = decodeImage(makePng(8, 8, () => [255, 0, 51, 255]));
    const x = preprocessImage(img, spec);
    expect(x.length).toBe(3 * 4 * 4);
    expect(x[0]).toBeCloseTo(1); // R plane
    expect(x[16]).toBeCloseTo(-1); // G plane
    expect(x[32]).toBeCloseTo((51 / 255 - 0.5) / 0.5); // B plane
  });

  it("gives nearly the same tensor for a PNG and a high-quality JPEG of the same scene", () => {
    const scene = (x: number, y: number): [number, number, number] => (Math.hypot(x - 16, y - 16) < 8 ? [220, 40, 40] : [40, 40, 40]);
    const a = preprocessImage(decodeImage(makePng(32, 32, (x, y) => [...scene(x, y), 255])), spec);
    const b = preprocessImage(decodeImage(makeJpeg(32, 32, scene, 98)), spec);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBeLessThan(0.1);
  });
});
