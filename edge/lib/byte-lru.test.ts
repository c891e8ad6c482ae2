import { describe, expect, it } from "vitest";
import { ByteLru } from "./byte-lru.js";

describe("ByteLru", () => {
  it("evicts least recently used entries to stay under its byte limit", () => {
    const c = new ByteLru<string>(10, (s) => s.length);
    c.set("a", "aaaa");
    c.set("b", "bbbb");
    c.get("a"); // a is now the most recent
    c.set("c", "cccc"); // 12 > 10: b goes
    expect(c.get("b")).toBeUndefined();
    expect(c.get("a")).toBe("aaaa");
    expect(c.get("c")).toBe("cccc");
    expect(c.bytes).toBe(8);
  });

  it("does not keep an entry larger than maxEntryBytes, and replacing a key frees its old size", () => {
    const c = new ByteLru<string>(100, (s) => s.length, 5);
    expect(c.set("big", "x".repeat(6))).toBe(false);
    expect(c.get("big")).toBeUndefined();
    c.set("k", "12345");
    c.set("k", "12");
    expect(c.bytes).toBe(2);
    c.delete("k");
    expect(c.bytes).toBe(0);
    expect(c.size).toBe(0);
  });
});
