import { describe, expect, it } from "vitest";
import { ByteLru } from "./lru.js";

describe("ByteLru", () => {
  const lru = () => new ByteLru<Float32Array>(100, (v) => v.byteLength);

  it("evicts least recently used entries past the byte bound", () => {
    const c = lru();
    c.set("a", new Float32Array(10)); // 40 bytes
    c.set("b", new Float32Array(10));
    c.get("a"); // a is now most recent
    c.set("c", new Float32Array(10)); // 120 > 100: evict b
    expect([c.has("a"), c.has("b"), c.has("c")]).toEqual([true, false, true]);
    expect(c.stats()).toMatchObject({ entries: 2, bytes: 80, evictions: 1 });
    c.set("huge", new Float32Array(100));
    expect(c.has("huge")).toBe(false);
  });

  it("counts hits and misses and computes a key once under concurrency", async () => {
    const c = lru();
    let calls = 0;
    const compute = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return new Float32Array(1);
    };
    const [x, y] = await Promise.all([c.getOrCompute("k", compute), c.getOrCompute("k", compute)]);
    expect(calls).toBe(1);
    expect([x.hit, y.hit]).toEqual([false, true]);
    expect((await c.getOrCompute("k", compute)).hit).toBe(true);
    expect(c.stats()).toMatchObject({ hits: 2, misses: 1 });
  });

  it("does not cache failures", async () => {
    const c = lru();
    await expect(c.getOrCompute("k", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect((await c.getOrCompute("k", async () => new Float32Array(1))).hit).toBe(false);
  });
});
