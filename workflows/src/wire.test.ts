import { describe, expect, it } from "vitest";
import { tinyAdvert, TINY_SHA } from "./fixtures.js";
import { catalogFrom, JobResultSchema, JobSchema, LeaseRequestSchema, RegisterRequestSchema, StepOutputSchema } from "./wire.js";

const base = { jobId: "j1", leaseId: "l1", runId: "r1", stepId: "s1", attempt: 1, deadlineAt: 1000, model: "metalm-tiny" };
const recipe = { model: "metalm-tiny", encoder: "vision", image: { sha256: TINY_SHA } };

describe("wire schemas", () => {
  it("register request carries model adverts", () => {
    const r = RegisterRequestSchema.parse({ workerId: "w", executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] });
    expect(r.models[0]?.encoders).toHaveLength(2);
    expect(
      RegisterRequestSchema.safeParse({ workerId: "w", executionProvider: "cpu", ortVersion: "1", models: [{ ...tinyAdvert, sha256: "x" }] }).success,
    ).toBe(false);
  });

  it("lease request bounds max and waitMs", () => {
    expect(LeaseRequestSchema.safeParse({ workerId: "w", max: 64, waitMs: 25_000 }).success).toBe(true);
    expect(LeaseRequestSchema.safeParse({ workerId: "w", max: 65, waitMs: 0 }).success).toBe(false);
    expect(LeaseRequestSchema.safeParse({ workerId: "w", max: 1, waitMs: 25_001 }).success).toBe(false);
  });

  it("jobs are discriminated on op and decode params get defaults", () => {
    const enc = JobSchema.parse({ ...base, op: "encode", recipe });
    expect(enc.op).toBe("encode");
    const dec = JobSchema.parse({
      ...base,
      op: "decode",
      segments: [
        { kind: "span", recipe: { connector: "vision", source: recipe } },
        { kind: "text", text: "answer:" },
      ],
      params: { maxTokens: 4 },
    });
    expect(dec.op === "decode" && dec.params.topP).toBe(1);
    expect(JobSchema.safeParse({ ...base, op: "explain", segments: [{ kind: "text", text: "x" }], labels: ["a"], params: {} }).success).toBe(false);
  });

  it("tolerates unknown fields (stripped)", () => {
    const j = JobSchema.parse({ ...base, op: "encode", recipe, future: 1 });
    expect("future" in j).toBe(false);
  });

  it("results are discriminated on ok", () => {
    const ok = JobResultSchema.parse({
      jobId: "j1",
      leaseId: "l1",
      ok: true,
      output: { op: "encode", tensor: { shape: [1, 16, 128], dtype: "float32", norm: 1, mean: 0, std: 1 } },
      receipt: {
        workerId: "w",
        model: "m",
        modelVersion: "1",
        modelSha256: TINY_SHA,
        tokenizerSha256: TINY_SHA,
        ortVersion: "1",
        executionProvider: "cpu",
        seed: 0,
        params: {},
      },
      timings: { computeMs: 3 },
      cacheHit: false,
    });
    expect(ok.ok).toBe(true);
    const err = JobResultSchema.parse({ jobId: "j1", leaseId: "l1", ok: false, error: { code: "oom", message: "x", retryable: true } });
    expect(err.ok).toBe(false);
    expect(JobResultSchema.safeParse({ jobId: "j1", leaseId: "l1", ok: false }).success).toBe(false);
  });

  it("step outputs reject non-finite numbers", () => {
    const out = { op: "decode", text: "red", tokens: [5], tokenTexts: ["red"], logprobs: [-Infinity], finishReason: "eos" };
    expect(StepOutputSchema.safeParse(out).success).toBe(false);
    expect(StepOutputSchema.safeParse({ ...out, logprobs: [-0.1] }).success).toBe(true);
  });

  it("catalogFrom keeps the first advert of a name", () => {
    const cat = catalogFrom([tinyAdvert, { ...tinyAdvert, version: "9" }]);
    expect(cat["metalm-tiny"]?.version).toBe("0.1.0");
  });
});
