import { describe, expect, it } from "vitest";
import { advanceRun, assertTransition, canTransition, endRun, IllegalTransitionError, RUN_TRANSITIONS, STEP_TRANSITIONS, type StepSnapshot } from "./state.js";
import { isRunTerminal, isTerminal, RUN_STATUSES, STEP_DEAD, STEP_OK, STEP_STATUSES, type StepStatus } from "./status.js";

describe("transition tables", () => {
  it("the run follows queued → running → final", () => {
    assertTransition("run", "queued", "running");
    for (const end of ["succeeded", "failed", "canceled", "timed_out"] as const) assertTransition("run", "running", end);
    expect(() => assertTransition("run", "running", "queued")).toThrow(IllegalTransitionError);
    expect(() => assertTransition("run", "queued", "succeeded")).toThrow(IllegalTransitionError);
  });

  it("steps follow pending → queued → running → final, with retry, cached and skipped", () => {
    for (const [from, to] of [
      ["pending", "queued"],
      ["queued", "running"],
      ["running", "succeeded"],
      ["running", "queued"],
      ["pending", "cached"],
      ["queued", "cached"],
      ["pending", "skipped"],
      ["queued", "skipped"],
      ["running", "timed_out"],
    ] as [StepStatus, StepStatus][])
      expect(canTransition("step", from, to), `${from} → ${to}`).toBe(true);
    for (const [from, to] of [
      ["pending", "running"],
      ["running", "cached"],
      ["running", "skipped"],
      ["running", "running"],
    ] as [StepStatus, StepStatus][])
      expect(canTransition("step", from, to), `${from} → ${to}`).toBe(false);
  });

  it("terminal states have no way out, and only they", () => {
    for (const s of RUN_STATUSES) expect(RUN_TRANSITIONS[s].length === 0).toBe(isTerminal(s));
    for (const s of RUN_STATUSES) expect(RUN_TRANSITIONS[s].length === 0).toBe(isRunTerminal(s));
    for (const s of STEP_STATUSES) expect(STEP_TRANSITIONS[s].length === 0).toBe(STEP_OK.has(s) || STEP_DEAD.has(s));
    for (const s of STEP_STATUSES) expect(STEP_TRANSITIONS[s].length === 0).toBe(isTerminal(s));
  });

  it("the error is typed and names the transition", () => {
    try {
      assertTransition("step", "succeeded", "running", "answer");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IllegalTransitionError);
      expect((e as IllegalTransitionError).code).toBe("illegal_transition");
      expect((e as IllegalTransitionError).details).toEqual({ kind: "step", from: "succeeded", to: "running", id: "answer" });
      expect((e as Error).message).toBe("illegal step transition of 'answer': succeeded → running");
    }
    expect(canTransition("run", "__proto__" as never, "running")).toBe(false);
  });
});

const vqa = (see: StepStatus, dock: StepStatus, answer: StepStatus, why: StepStatus): StepSnapshot[] => [
  { id: "see", status: see, tensorDeps: [], valueDeps: [] },
  { id: "dock", status: dock, tensorDeps: ["see"], valueDeps: [] },
  { id: "answer", status: answer, tensorDeps: ["dock"], valueDeps: [] },
  { id: "why", status: why, tensorDeps: ["dock"], valueDeps: ["answer"] },
];

describe("advanceRun", () => {
  it("makes every step without value deps ready at once", () => {
    expect(advanceRun(vqa("pending", "pending", "pending", "pending"))).toEqual({ ready: ["see", "dock", "answer"], skip: [], runStatus: "running" });
  });

  it("readies a value-dependent step once its dep has an output (succeeded or cached)", () => {
    expect(advanceRun(vqa("running", "queued", "running", "pending")).ready).toEqual([]);
    expect(advanceRun(vqa("running", "queued", "succeeded", "pending")).ready).toEqual(["why"]);
    expect(advanceRun(vqa("cached", "cached", "cached", "pending")).ready).toEqual(["why"]);
  });

  it("skips dependents of a dead step, transitively, in any order", () => {
    const r = advanceRun([...vqa("failed", "pending", "queued", "pending")].reverse());
    expect(new Set(r.skip)).toEqual(new Set(["dock", "answer", "why"]));
    expect(r.ready).toEqual([]);
    expect(r.runStatus).toBe("failed");
  });

  it("does not skip a running step (it recomputes its own recipe)", () => {
    const r = advanceRun(vqa("succeeded", "failed", "running", "pending"));
    expect(r.skip).toEqual(["why"]);
    expect(r.runStatus).toBe("running");
  });

  it("ends succeeded, failed or canceled", () => {
    expect(advanceRun(vqa("succeeded", "cached", "succeeded", "succeeded")).runStatus).toBe("succeeded");
    expect(advanceRun(vqa("succeeded", "succeeded", "succeeded", "timed_out")).runStatus).toBe("failed");
    expect(advanceRun(vqa("succeeded", "succeeded", "canceled", "skipped")).runStatus).toBe("failed");
    expect(advanceRun(vqa("succeeded", "succeeded", "canceled", "canceled")).runStatus).toBe("canceled");
  });

  it("rejects a dep on an unknown step", () => {
    expect(() => advanceRun([{ id: "a", status: "pending", tensorDeps: ["ghost"], valueDeps: [] }])).toThrow(/unknown step 'ghost'/);
  });
});

describe("endRun", () => {
  it("stops running steps and skips the rest that are not final", () => {
    expect(endRun(vqa("succeeded", "running", "queued", "pending"), "canceled")).toEqual({
      stop: ["dock"],
      skip: ["answer", "why"],
      runStatus: "canceled",
    });
  });
});
