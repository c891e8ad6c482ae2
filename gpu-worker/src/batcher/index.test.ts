import { describe, expect, it } from "vitest";
import { DynamicBatcher } from "./index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DynamicBatcher", () => {
  const make = (maxBatchSize: number, maxQueueDelayMs: number) => {
    const batches: string[][] = [];
    const b = new DynamicBatcher<string, string>({
      maxBatchSize,
      maxQueueDelayMs,
      keyOf: (j) => j.split(":")[0]!,
      run: async (jobs) => {
        batches.push(jobs);
        await sleep(10);
        return jobs.map((j) => j.toUpperCase());
      },
    });
    return { b, batches };
  };

  it("groups same-key jobs up to maxBatchSize and returns each job its own result", async () => {
    const { b, batches } = make(3, 20);
    const jobs = ["m:1", "m:2", "x:1", "m:3", "m:4"];
    const out = await Promise.all(jobs.map((j) => b.submit(j)));
    expect(out).toEqual(jobs.map((j) => j.toUpperCase()));
    expect(batches).toContainEqual(["m:1", "m:2", "m:3"]);
    expect(batches).toContainEqual(["x:1"]);
    expect(batches).toContainEqual(["m:4"]);
  });

  it("an idle batcher runs a lone job on the next tick, without waiting out maxQueueDelayMs", async () => {
    const { b } = make(8, 60_000);
    const t0 = performance.now();
    expect(await b.submit("m:1")).toBe("M:1");
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("jobs submitted in one tick share a batch even when idle", async () => {
    const { b, batches } = make(8, 60_000);
    await Promise.all(["m:1", "m:2", "m:3"].map((j) => b.submit(j)));
    expect(batches).toEqual([["m:1", "m:2", "m:3"]]);
  });

  it("jobs queued behind a batch of another key run as soon as it ends, not after maxQueueDelayMs", async () => {
    const { b, batches } = make(8, 60_000);
    const first = b.submit("x:0");
    while (batches.length === 0) await sleep(1); // x:0 runs now (10 ms)
    const t0 = performance.now();
    await Promise.all([first, b.submit("m:1"), b.submit("m:2")]);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(batches).toEqual([["x:0"], ["m:1", "m:2"]]);
  });

  it("fills the next batch while one runs", async () => {
    const { b, batches } = make(4, 1);
    const first = b.submit("m:0");
    while (batches.length === 0) await sleep(1); // m:0's batch is running now (it takes 10 ms)
    const rest = ["m:1", "m:2", "m:3"].map((j) => b.submit(j));
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([["m:0"], ["m:1", "m:2", "m:3"]]);
    await b.idle();
    expect(b.pending).toBe(0);
  });

  it("runs unbatchable (null-key) jobs without waiting", async () => {
    const b = new DynamicBatcher<string, string>({
      maxBatchSize: 8,
      maxQueueDelayMs: 60_000,
      keyOf: (j) => (j.startsWith("solo") ? null : j),
      run: async (jobs) => jobs,
    });
    const t0 = performance.now();
    expect(await b.submit("solo-1")).toBe("solo-1");
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("rejects every job of a failed batch", async () => {
    const b = new DynamicBatcher<number, number>({ maxBatchSize: 2, maxQueueDelayMs: 1, keyOf: () => "k", run: async () => Promise.reject(new Error("boom")) });
    await expect(Promise.all([b.submit(1), b.submit(2)])).rejects.toThrow("boom");
  });
});
