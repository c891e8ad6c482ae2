import { describe, expect, it } from "vitest";
import { configFromEnv, maxBatchFor } from "./config.js";

describe("worker config from env", () => {
  it("has defaults and parses every knob", () => {
    const d = configFromEnv({});
    expect(d).toMatchObject({
      edgeUrl: "http://127.0.0.1:8787",
      executionProviders: ["cpu"],
      intraOpNumThreads: 1,
      maxBatch: 16,
      leaseMax: 64,
      progress: true,
    });
    expect(d.modelsDir).toMatch(/gpu-worker\/models$/);
    const c = configFromEnv({
      EDGE_URL: "http://edge:1/",
      POOL_TOKEN: "t",
      EXECUTION_PROVIDERS: "cuda, cpu",
      MAX_BATCH: "32",
      LEASE_WAIT_MS: "99999",
      ENCODER_CACHE_MB: "2",
      PROGRESS: "0",
      WORKER_ID: "w9",
    });
    expect(c).toMatchObject({
      edgeUrl: "http://edge:1",
      poolToken: "t",
      executionProviders: ["cuda", "cpu"],
      maxBatch: 32,
      leaseMax: 64,
      leaseWaitMs: 25_000,
      encoderCacheBytes: 2 * 2 ** 20,
      progress: false,
      workerId: "w9",
    });
  });

  it("picks the max batch of the provider the models loaded on (MAX_BATCH_<PROVIDER>, else MAX_BATCH)", () => {
    const c = configFromEnv({ MAX_BATCH: "8", MAX_BATCH_WEBGPU: "64", MAX_BATCH_CPU: "12" });
    expect(c.maxBatchByProvider).toEqual({ cpu: 12, webgpu: 64 });
    expect(maxBatchFor(c, "webgpu")).toBe(64);
    expect(maxBatchFor(c, "cpu")).toBe(12);
    expect(maxBatchFor(c, "cuda")).toBe(8); // not set: MAX_BATCH
    expect(maxBatchFor(c, "webgpu+cpu")).toBe(12); // a fallback to the CPU limits the batch
    expect(maxBatchFor(configFromEnv({}), "webgpu")).toBe(16);
    expect(() => configFromEnv({ MAX_BATCH_WEBGPU: "0" })).toThrow(/MAX_BATCH_WEBGPU/);
  });

  it("rejects nonsense with the variable's name", () => {
    expect(() => configFromEnv({ MAX_BATCH: "0" })).toThrow(/MAX_BATCH/);
    expect(() => configFromEnv({ EDGE_URL: "not a url" })).toThrow(/EDGE_URL/);
    expect(() => configFromEnv({ PROGRESS: "yes" })).toThrow(/PROGRESS/);
  });
});
