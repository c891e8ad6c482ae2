/**
 * A small synchronous SHA-256 (FIPS 180-4) and canonical JSON, so cache keys can be computed
 * anywhere (Node, Workers, the browser) without I/O or async `crypto.subtle`.
 * Inputs here are small (a few KB of JSON), so a pure implementation is plenty fast.
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * The runtime's native synchronous SHA-256 where there is one (Node ≥ 20.16, and workerd with
 * nodejs_compat, expose `node:crypto` through `process.getBuiltinModule` without an import that
 * would tie this module to Node); `undefined` elsewhere (browsers), which use `sha256HexJs`.
 * Same digest either way (tested); native is several times faster, and cache keys are hashed on
 * every run the edge accepts.
 */
const nativeCreateHash: ((alg: "sha256") => { update(d: string | Uint8Array): { digest(enc: "hex"): string } }) | undefined = (() => {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.("node:crypto") as { createHash?: (alg: "sha256") => never } | undefined;
    if (typeof mod?.createHash !== "function") return undefined;
    const f = mod.createHash;
    // a stub that does not really hash (or hashes differently) is not used
    return (f("sha256") as unknown as { update(d: string): { digest(enc: "hex"): string } }).update("abc").digest("hex") ===
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
      ? f
      : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * SHA-256 of bytes or of a string (UTF-8), as lowercase hex.
 *
 * @example
 * sha256Hex("abc"); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 */
export function sha256Hex(data: string | Uint8Array): string {
  return nativeCreateHash ? nativeCreateHash("sha256").update(data).digest("hex") : sha256HexJs(data);
}

/** `sha256Hex` in pure TypeScript (any runtime). */
export function sha256HexJs(data: string | Uint8Array): string {
  const msg = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const bitLen = msg.length * 8;
  const padded = new Uint8Array(((msg.length + 9 + 63) >> 6) << 6);
  padded.set(msg);
  padded[msg.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 2 ** 32));
  view.setUint32(padded.length - 4, bitLen >>> 0);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!,
        b = w[i - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h as unknown as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0]! += a;
    h[1]! += b;
    h[2]! += c;
    h[3]! += d;
    h[4]! += e;
    h[5]! += f;
    h[6]! += g;
    h[7]! += hh;
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, "0")).join("");
}

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, `undefined` object
 * members dropped. Throws on values JSON cannot represent faithfully (non-finite numbers,
 * `undefined` in arrays, functions, bigint), so two equal values always give the same text.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, "x"] }); // '{"a":[true,"x"],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value))
    return `[${value
      .map((v) => {
        if (v === undefined) throw new TypeError("canonicalJson: undefined in array");
        return canonicalJson(v);
      })
      .join(",")}]`;
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
}

/**
 * sha256 of the canonical JSON of a value.
 *
 * @example
 * hashJson({ b: 1, a: 2 }) === hashJson({ a: 2, b: 1 }); // true
 */
export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
