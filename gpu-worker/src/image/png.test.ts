import { crc32, deflateSync, inflateSync } from "node:zlib";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { randomScene, renderPng, rng } from "../../eval/shapes.js";
import { decodeImage } from "./decode.js";
import { decodePngFast } from "./png.js";

/** pngjs's own decode: what the fast path must match byte for byte. */
const pngjs = (b: Uint8Array) => new Uint8Array(PNG.sync.read(Buffer.from(b)).data);

/** A pngjs-encoded image of random pixels (fixed seed), in the given colour type and filter. */
function randomPng(seed: number, width: number, height: number, colorType: 2 | 6, filterType: number): Buffer {
  const r = rng(seed);
  const png = new PNG({ width, height, colorType, inputHasAlpha: true, filterType } as ConstructorParameters<typeof PNG>[0]);
  // smooth areas and noise, so every filter type has something to predict
  for (let i = 0; i < width * height * 4; i++) png.data[i] = r() < 0.5 ? (i >> 3) & 255 : Math.floor(r() * 256);
  if (colorType === 2) for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  return PNG.sync.write(png, { colorType, filterType } as Parameters<typeof PNG.sync.write>[1]);
}

/** The chunks of a PNG as [type, body]; and back to bytes with fresh CRCs. */
function chunks(b: Uint8Array): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  const buf = Buffer.from(b);
  for (let p = 8; p < buf.length; ) {
    const len = buf.readUInt32BE(p);
    out.push([buf.toString("latin1", p + 4, p + 8), buf.subarray(p + 8, p + 8 + len)]);
    p += 12 + len;
  }
  return out;
}
function assemble(cs: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  for (const [type, body] of cs) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    parts.push(head, body, crc);
  }
  return Buffer.concat(parts);
}

describe("decodePngFast", () => {
  it("gives pngjs's exact pixels for RGB and RGBA, every filter type, odd sizes", () => {
    let n = 0;
    for (const colorType of [2, 6] as const)
      for (const filterType of [-1, 0, 1, 2, 3, 4])
        for (const [w, h] of [
          [1, 1],
          [2, 3],
          [7, 5],
          [33, 17],
        ] as const) {
          const b = randomPng(++n, w, h, colorType, filterType);
          const fast = decodePngFast(b);
          expect(fast, `colour ${colorType} filter ${filterType} ${w}×${h}`).toBeDefined();
          expect([fast!.width, fast!.height]).toEqual([w, h]);
          expect(Buffer.from(fast!.data).equals(Buffer.from(pngjs(b))), `colour ${colorType} filter ${filterType} ${w}×${h}`).toBe(true);
        }
  });

  it("gives pngjs's exact pixels for rendered scenes (what the service is sent), with IDAT split in several chunks", () => {
    for (let s = 0; s < 20; s++) {
      const b = renderPng(randomScene(rng(s)), { size: 96 + s, seed: s });
      expect(Buffer.from(decodePngFast(b)!.data).equals(Buffer.from(pngjs(b)))).toBe(true);
      // the same pixels with the zlib stream cut over three IDAT chunks
      const cs = chunks(b);
      const idat = Buffer.concat(cs.filter(([t]) => t === "IDAT").map(([, d]) => d));
      const third = Math.ceil(idat.length / 3);
      const split = assemble([
        ...cs.filter(([t]) => t !== "IDAT" && t !== "IEND"),
        ["IDAT", idat.subarray(0, third)],
        ["IDAT", idat.subarray(third, 2 * third)],
        ["IDAT", idat.subarray(2 * third)],
        ["IEND", Buffer.alloc(0)],
      ]);
      expect(Buffer.from(decodePngFast(split)!.data).equals(Buffer.from(pngjs(b)))).toBe(true);
    }
  });

  it("leaves to pngjs what it does not vouch for: other formats, tRNS, bad CRCs, short or long data, bad filters", () => {
    const b = randomPng(99, 9, 4, 6, 1);
    const cs = chunks(b);
    const ihdr = (patch: (d: Buffer) => void) => {
      const d = Buffer.from(cs[0]![1]);
      patch(d);
      return assemble([["IHDR", d], ...cs.slice(1)]);
    };
    expect(decodePngFast(ihdr((d) => (d[8] = 16)))).toBeUndefined(); // 16-bit
    expect(decodePngFast(ihdr((d) => (d[9] = 3)))).toBeUndefined(); // palette
    expect(decodePngFast(ihdr((d) => (d[9] = 0)))).toBeUndefined(); // grey
    expect(decodePngFast(ihdr((d) => (d[12] = 1)))).toBeUndefined(); // interlaced
    expect(decodePngFast(ihdr((d) => d.writeUInt32BE(10, 0)))).toBeUndefined(); // wider than its data
    expect(decodePngFast(ihdr((d) => d.writeUInt32BE(3, 4)))).toBeUndefined(); // fewer rows than its data
    expect(decodePngFast(assemble([cs[0]!, ["tRNS", Buffer.from([0, 0, 0, 0, 0, 0])], ...cs.slice(1)]))).toBeUndefined();
    expect(decodePngFast(assemble([cs[0]!, ["ABCD", Buffer.from([1])], ...cs.slice(1)]))).toBeUndefined(); // unknown critical chunk
    expect(decodePngFast(assemble([cs[0]!, ["abCD", Buffer.from([1])], ...cs.slice(1)]))).toBeDefined(); // ancillary: skipped
    // gAMA: pngjs reports it and leaves the pixels as stored; so does this path
    const gama = Buffer.alloc(4);
    gama.writeUInt32BE(45455);
    const withGamma = assemble([cs[0]!, ["gAMA", gama], ...cs.slice(1)]);
    expect(PNG.sync.read(withGamma).gamma).toBeCloseTo(0.45455, 5);
    expect(Buffer.from(decodePngFast(withGamma)!.data).equals(Buffer.from(pngjs(withGamma)))).toBe(true);
    expect(decodePngFast(assemble(cs.filter(([t]) => t !== "IEND")))).toBeUndefined();
    const badCrc = Buffer.from(b);
    badCrc[badCrc.length - 20]! ^= 1; // inside IDAT
    expect(decodePngFast(badCrc)).toBeUndefined();
    expect(decodePngFast(b.subarray(0, b.length - 30))).toBeUndefined();
    // a filter byte of 5 (none exists), with the stream re-deflated and the CRCs right
    const raw = Buffer.from(inflateSync(Buffer.concat(cs.filter(([t]) => t === "IDAT").map(([, d]) => d))));
    raw[0] = 5;
    const idat = deflateSync(raw);
    expect(decodePngFast(assemble([cs[0]!, ["IDAT", idat], ["IEND", Buffer.alloc(0)]]))).toBeUndefined();
  });

  it("decodeImage takes the fast path and still fails corrupt PNGs as before", () => {
    const b = renderPng(randomScene(rng(7)), { size: 64, seed: 7 });
    const img = decodeImage(b);
    expect(Buffer.from(img.data).equals(Buffer.from(pngjs(b)))).toBe(true);
    const badCrc = Buffer.from(b);
    badCrc[badCrc.length - 20]! ^= 1;
    expect(() => decodeImage(badCrc)).toThrow(/corrupt PNG/);
    expect(() => decodeImage(b.subarray(0, 60))).toThrow(/corrupt PNG/);
  });
});
