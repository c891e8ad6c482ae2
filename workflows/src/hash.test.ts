import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, hashJson, sha256Hex, sha256HexJs } from "./hash.js";

describe("sha256Hex", () => {
  it("matches the FIPS test vectors", () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("matches node:crypto on random bytes and strings (all padding lengths)", () => {
    for (let n = 0; n < 130; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 255);
      expect(sha256Hex(b)).toBe(createHash("sha256").update(b).digest("hex"));
    }
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => sha256Hex(s) === createHash("sha256").update(s, "utf8").digest("hex")));
  });
});

describe("sha256HexJs (the pure fallback) and the native path agree", () => {
  it("on vectors, every padding length, strings with lone surrogates, and random strings", () => {
    expect(sha256HexJs("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    for (let n = 0; n < 130; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 17 + n) & 255);
      expect(sha256HexJs(b)).toBe(sha256Hex(b));
    }
    for (const s of ["\ud800", "a\udc00b", "é😀", ""]) expect(sha256HexJs(s)).toBe(sha256Hex(s));
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => sha256HexJs(s) === sha256Hex(s)));
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops undefined members", () => {
    expect(canonicalJson({ b: { d: 1, c: [{ z: 1, y: 2 }] }, a: undefined, e: null })).toBe('{"b":{"c":[{"y":2,"z":1}],"d":1},"e":null}');
  });

  it("is insensitive to key order (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        expect(hashJson(reversed)).toBe(hashJson(o));
      }),
    );
  });

  it("rejects values JSON cannot carry", () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([undefined])).toThrow(TypeError);
    expect(() => canonicalJson({ x: 1n })).toThrow(TypeError);
  });
});
