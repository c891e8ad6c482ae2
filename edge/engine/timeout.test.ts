/**
 * Deadlines the expiry sweep enforces from DB state alone (real SQLite file, injected clock):
 * a queued job has no deadline of its own (a backlog is not a failure); a run past its
 * run-level deadline (spec `timeoutMs`, else the edge's `RUN_TIMEOUT_MS`) ends `timed_out` like a
 * cancel — running steps `timed_out` (the holder hears `cancel`), pending/queued ones skipped,
 * `run.completed` and the `run.failed` webhook in the same commit.
 */
import { asc, eq } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { jobs, runEvents, runs, steps, webhookEndpoints, webhookMessages } from "../../db/schema.js";
import type { AppDeps } from "../context.js";
import { AUTH, call, lease, makeHarness, okResult, pngDataUrl, postResults, register, TEST_TENANT, vqa, type Harness } from "../testing/harness.js";
import { sweepExpired } from "./results.js";

let h: Harness | undefined;
afterEach(() => h?.close());

const T0 = 1_000_000;
let clock = T0;

async function setup(deps: Partial<AppDeps> = {}) {
  clock = T0;
  const hh = (h = makeHarness({ now: () => clock, leaseMs: 3_600_000, ...deps }));
  expect((await register(hh.app)).status).toBe(200);
  return hh;
}

async function createRun(hh: Harness, spec: unknown = vqa()) {
  const r = await call(hh.app, "/v1/runs", { body: { spec, inputs: { image: pngDataUrl() } } });
  expect(r.status).toBe(202);
  return r.body.id as string;
}

async function state(hh: Harness, runId: string) {
  const [run] = await hh.store.db.select().from(runs).where(eq(runs.id, runId));
  const stepRows = await hh.store.db.select().from(steps).where(eq(steps.runId, runId)).orderBy(asc(steps.idx));
  const jobRows = await hh.store.db.select().from(jobs).where(eq(jobs.runId, runId));
  const events = await hh.store.db.select().from(runEvents).where(eq(runEvents.runId, runId)).orderBy(asc(runEvents.id));
  return {
    run: run!,
    steps: Object.fromEntries(stepRows.map((s) => [s.stepId, { status: s.status, code: s.error?.code }])),
    jobs: Object.fromEntries(jobRows.map((j) => [j.stepId, j.status])),
    events,
  };
}

it("a queued step waits past its step timeoutMs (a backlog is not a failure); the run deadline ends the wait", async () => {
  const hh = await setup({ runTimeoutMs: 300_000 });
  const runId = await createRun(hh);
  clock += 120_000; // twice the steps' default 60 s timeoutMs, never leased
  expect(await sweepExpired(hh.app.engine)).toBe(0);
  expect((await state(hh, runId)).run.status).toBe("queued");
  clock += 180_001; // past the run deadline (300 s)
  await sweepExpired(hh.app.engine);
  const s = await state(hh, runId);
  expect(s.run.status).toBe("timed_out");
  expect(Object.values(s.steps).map((x) => x.status)).toEqual(["skipped", "skipped", "skipped", "skipped"]);
  expect(await lease(hh.app)).toEqual([]);
  expect(await sweepExpired(hh.app.engine)).toBe(0);
});

it("a retried job is re-queued without a deadline; its timeout counts again from its next lease", async () => {
  const hh = await setup();
  await createRun(hh);
  const jobsLeased = await lease(hh.app, "w1", 1);
  expect(jobsLeased.map((j) => j.stepId)).toEqual(["see"]);
  // fail "see" retryably: it is re-queued after its backoff (500 ms)
  await postResults(hh.app, "w1", [
    { jobId: jobsLeased[0]!.jobId, leaseId: jobsLeased[0]!.leaseId, ok: false, error: { code: "worker_error", message: "x", retryable: true } },
  ]);
  const [see] = await hh.store.db.select().from(jobs).where(eq(jobs.id, jobsLeased[0]!.jobId));
  expect(see).toMatchObject({ status: "queued", availableAt: T0 + 500, deadlineAt: null });
  clock += 1_000;
  const again = await lease(hh.app, "w1", 4);
  const seeAgain = again.find((j) => j.stepId === "see")!;
  const [row] = await hh.store.db.select().from(jobs).where(eq(jobs.id, seeAgain.jobId));
  expect(row).toMatchObject({ status: "leased", deadlineAt: T0 + 1_000 + 60_000 });
});

it("a run past its spec timeoutMs ends timed_out: running step timed_out (holder told cancel), the rest skipped, run.failed webhook", async () => {
  const hh = await setup();
  await hh.store.batch([
    hh.store.db.insert(webhookEndpoints).values({
      id: "ep_1",
      tenantId: TEST_TENANT,
      url: "https://hooks.example.com/x",
      events: ["run.failed", "run.completed"],
      secret: "whsec_" + "a".repeat(32),
      createdAt: T0,
      updatedAt: T0,
    }),
  ]);
  const runId = await createRun(hh, { ...vqa(), timeoutMs: 5_000 });
  expect((await state(hh, runId)).run.deadlineAt).toBe(T0 + 5_000);
  const [job] = await lease(hh.app, "w1", 1);
  expect(job!.stepId).toBe("see");
  clock += 5_000;
  expect(await sweepExpired(hh.app.engine)).toBe(0); // at the deadline, not past it
  clock += 1;
  expect(await sweepExpired(hh.app.engine)).toBe(1);
  const s = await state(hh, runId);
  expect(s.run).toMatchObject({ status: "timed_out", finishedAt: T0 + 5_001, error: { code: "run_timeout", message: "run exceeded its timeout of 5000 ms" } });
  expect(s.steps).toEqual({
    see: { status: "timed_out", code: "run_timeout" },
    dock: { status: "skipped", code: "run_timeout" },
    answer: { status: "skipped", code: "run_timeout" },
    why: { status: "skipped", code: "run_timeout" },
  });
  expect(s.jobs).toEqual({ see: "canceled", dock: "canceled", answer: "canceled" });
  expect(s.events.slice(-5).map((e) => [e.type, e.stepId])).toEqual([
    ["step.skipped", "dock"],
    ["step.skipped", "answer"],
    ["step.skipped", "why"],
    ["step.timed_out", "see"],
    ["run.completed", null],
  ]);
  expect(s.events.at(-1)!.data).toMatchObject({ status: "timed_out", error: { code: "run_timeout" } });
  // the worker holding "see" hears cancel; its late result is ignored
  const hb = await call(hh.app, "/v1/pool/heartbeat", { body: { workerId: "w1", jobIds: [job!.jobId] }, headers: AUTH });
  expect(hb.body).toEqual({ cancel: [job!.jobId], lost: [] });
  expect((await postResults(hh.app, "w1", [okResult(job!)])).body).toEqual({ accepted: [], ignored: [job!.jobId] });
  // one webhook message: run.failed (timed out), none for run.completed
  const msgs = await hh.store.db.select().from(webhookMessages).where(eq(webhookMessages.runId, runId));
  expect(msgs.map((m) => m.type)).toEqual(["run.failed"]);
  expect(JSON.parse(msgs[0]!.payload)).toMatchObject({ type: "run.failed", data: { id: runId, status: "timed_out" } });
  // the API shows it; a second sweep changes nothing
  expect((await call(hh.app, `/v1/runs/${runId}`)).body).toMatchObject({ status: "timed_out" });
  expect(await sweepExpired(hh.app.engine)).toBe(0);
});

it("without a spec timeoutMs the edge's runTimeoutMs (RUN_TIMEOUT_MS) applies; lease traffic drives the sweep", async () => {
  const hh = await setup({ runTimeoutMs: 3_000 });
  const runId = await createRun(hh);
  expect((await state(hh, runId)).run.deadlineAt).toBe(T0 + 3_000);
  clock += 3_001;
  expect(await lease(hh.app)).toEqual([]); // the lease call swept: the run's jobs are withdrawn
  const s = await state(hh, runId);
  expect(s.run).toMatchObject({ status: "timed_out", error: { code: "run_timeout" } });
  expect(Object.values(s.steps).every((x) => x.status === "skipped" && x.code === "run_timeout")).toBe(true);
  expect(Object.values(s.jobs).every((x) => x === "canceled")).toBe(true);
  // a finished run is never timed out afterwards
  const done = await createRun(hh, { ...vqa(), timeoutMs: 1_000 });
  for (let i = 0; i < 5; i++) {
    const js = await lease(hh.app, "w1", 64);
    if (!js.length) break;
    await postResults(
      hh.app,
      "w1",
      js.map((j) => okResult(j)),
    );
  }
  expect((await state(hh, done)).run.status).toBe("succeeded");
  clock += 10_000;
  await sweepExpired(hh.app.engine);
  expect((await state(hh, done)).run.status).toBe("succeeded");
});

it("the spec's timeoutMs is validated", async () => {
  const hh = await setup();
  const r = await call(hh.app, "/v1/runs", { body: { spec: { ...vqa(), timeoutMs: 0 }, inputs: { image: pngDataUrl() } } });
  expect(r.status).toBe(400);
  expect(r.body.error.code).toBe("invalid_workflow");
});
