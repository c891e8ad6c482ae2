import { describe, expect, it } from "vitest";
import { RUN_EVENT_TYPES, RunEventSchema, webhookTypeOf, WEBHOOK_EVENT_TYPES, type RunEventData, type RunEventType } from "./events.js";
import type { StepOutput } from "./wire.js";

const envelope = { runId: "run_1", stepId: "answer", at: 1 };
const error = { code: "worker_error", message: "boom" };
const output: StepOutput = { op: "decode", text: "red", tokens: [5, 2], tokenTexts: ["red", "<eos>"], logprobs: [-0.1, -0.2], finishReason: "eos" };
// one valid data object per type: adding a type to RUN_EVENT_DATA without one here fails to compile
const sample: { [T in RunEventType]: RunEventData<T> } = {
  "run.created": { status: "queued", workflowId: null, parentRunId: null },
  "run.started": { status: "running" },
  "step.queued": { status: "queued", cacheKey: "k" },
  "step.started": { status: "running", attempt: 1, workerId: "w1" },
  token: { index: 0, id: 5, text: "red", logprob: -0.1 },
  "step.retrying": { status: "queued", attempt: 1, error, availableAt: 2 },
  "step.completed": { status: "succeeded", output, cacheHit: false, computeMs: 3, workerId: "w1" },
  "step.failed": { status: "failed", error },
  "step.timed_out": { status: "timed_out", error },
  "step.skipped": { status: "skipped", error },
  "step.canceled": { status: "canceled" },
  "run.completed": { status: "succeeded", outputs: { answer: "red" }, error: null },
};

describe("run events", () => {
  it("every type parses with its own data and keeps its fields", () => {
    for (const type of RUN_EVENT_TYPES) {
      const e = RunEventSchema.parse({ type, ...envelope, ...sample[type] });
      expect(e).toEqual({ type, ...envelope, ...sample[type] });
    }
  });

  it("refuses an unknown type and data of another type", () => {
    expect(RunEventSchema.safeParse({ type: "step.exploded", ...envelope }).success).toBe(false);
    expect(RunEventSchema.safeParse({ type: "step.failed", ...envelope, status: "failed" }).success).toBe(false); // no error
    expect(RunEventSchema.safeParse({ type: "token", ...envelope, ...sample["step.started"] }).success).toBe(false);
  });

  it("maps run events to webhook types, a run's end by its outcome", () => {
    const of = <T extends RunEventType>(type: T, data: RunEventData<T>) => webhookTypeOf({ type, stepId: null, data } as never);
    expect(of("run.started", sample["run.started"])).toBe("run.started");
    expect(of("step.completed", sample["step.completed"])).toBe("step.completed");
    expect(of("token", sample.token)).toBeUndefined();
    expect(of("step.failed", sample["step.failed"])).toBeUndefined();
    const end = (status: "succeeded" | "failed" | "timed_out" | "canceled") => of("run.completed", { status, outputs: null, error: null });
    expect([end("succeeded"), end("failed"), end("timed_out"), end("canceled")]).toEqual(["run.completed", "run.failed", "run.failed", "run.canceled"]);
    // every webhook type is reachable from some run event
    const reachable = new Set([...RUN_EVENT_TYPES.map((t) => of(t, sample[t])), end("failed"), end("canceled")]);
    for (const t of WEBHOOK_EVENT_TYPES) expect(reachable.has(t)).toBe(true);
  });
});
