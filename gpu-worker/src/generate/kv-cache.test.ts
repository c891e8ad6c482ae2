import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { KvCache } from "./kv-cache.js";

const spec = { layers: 1, heads: 1, headDim: 2, pastKey: "pk.{i}", pastValue: "pv.{i}", presentKey: "k.{i}", presentValue: "v.{i}" };
const present = (batch: number, total: number, base: number) => {
  const data = Float32Array.from({ length: batch * total * 2 }, (_, i) => base + i);
  return {
    "k.0": new ort.Tensor("float32", data, [batch, 1, total, 2]),
    "v.0": new ort.Tensor(
      "float32",
      data.map((x) => -x),
      [batch, 1, total, 2],
    ),
  };
};

describe("KvCache (one owner of past keys/values and their mask)", () => {
  it("starts empty with 0-length past feeds", () => {
    const c = new KvCache(spec, 2);
    const f = c.feeds();
    expect(f["pk.0"]!.dims).toEqual([2, 1, 0, 2]);
    expect(c.length).toBe(0);
    expect(c.realLengths).toEqual([0, 0]);
  });

  it("appends presents and mask columns; counts real positions per row", () => {
    const c = new KvCache(spec, 2);
    c.update(present(2, 3, 0), BigInt64Array.from([0n, 1n, 1n, 1n, 1n, 1n]), 3); // row 0 left-padded by 1
    expect(c.length).toBe(3);
    expect(c.realLengths).toEqual([2, 3]);
    c.update(present(2, 4, 100), BigInt64Array.from([1n, 1n]), 1);
    expect(Array.from(c.mask)).toEqual([0, 1, 1, 1, 1, 1, 1, 1].map(BigInt));
    expect(c.realLengths).toEqual([3, 4]);
    expect(c.feeds()["pk.0"]!.dims).toEqual([2, 1, 4, 2]);
    expect(() => c.update(present(2, 9, 0), BigInt64Array.from([1n, 1n]), 1)).toThrow(/shape \[2,1,9,2\], expected \[2,1,5,2\]/);
  });

  it("select() copies rows (dropping or repeating them) and dispose() forbids later use", async () => {
    const c = new KvCache(spec, 2);
    c.update(present(2, 2, 0), BigInt64Array.from([0n, 1n, 1n, 1n]), 2);
    const s = await c.select([1, 1, 0]);
    expect(s.batch).toBe(3);
    expect(s.realLengths).toEqual([2, 2, 1]);
    const k = s.feeds()["pk.0"]!.data as Float32Array;
    expect(Array.from(k.subarray(0, 4))).toEqual([4, 5, 6, 7]); // row 1
    expect(Array.from(k.subarray(8, 12))).toEqual([0, 1, 2, 3]); // row 0
    c.dispose();
    expect(() => c.feeds()).toThrow(/after dispose/);
    expect(s.feeds()["pv.0"]!.dims).toEqual([3, 1, 2, 2]); // the selection is independent
  });
});
