/**
 * The pool protocol over real HTTP (a listening @hono/node-server, a real SQLite file) with two
 * pool clients: lease, expiry → re-lease, duplicate / late results ignored, heartbeat cancel,
 * retries and exhaustion.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tinyAdvert } from "../workflows/src/fixtures.js";
import type { Job } from "../workflows/index.js";
import { call, makeHarness, okResult, PNG_1PX, pngDataUrl, POOL_TOKEN, vqa, type Harness } from "./testing/harness.js";
import { listen, PoolClient } from "./testing/pool-client.js";

let h: Harness;
let srv: { url: string; close(): Promise<void> };
let a: PoolClient;
let b: PoolClient;

// long enough that a loaded CI machine's event-loop stalls do not expire a heartbeated lease
const LEASE_MS = 800;

beforeEach(async () => {
  h = makeHarness({ leaseMs: LEASE_MS });
  srv = await listen(h.app);
  a = new PoolClient(srv.url, "worker-a", POOL_TOKEN);
  b = new PoolClient(srv.url, "worker-b", POOL_TOKEN);
  expect(await a.register([tinyAdvert])).toEqual({ leaseMs: LEASE_MS });
  await b.register([tinyAdvert]);
});
afterEach(async () => {
  await srv.close();
  h.close();
});

async function createRun(spec: unknown = vqa()) {
  const r = await call(h.app, "/v1/runs", { body: { spec, inputs: { image: pngDataUrl() } } });
  expect(r.status).toBe(202);
  return r.body.id as string;
}
const getRun = async (id: string) => (await call(h.app, `/v1/runs/${id}`)).body;
const step = async (id: string, stepId: string) => (await getRun(id)).steps.find((s: { id: string }) => s.id === stepId);

describe("pool protocol over HTTP", () => {
  it("an expired lease is re-leased to the other worker; the late and duplicate results are ignored", async () => {
    const runId = await createRun();
    const [first] = await a.lease(1, 0);
    expect(first).toMatchObject({ runId, stepId: "see", attempt: 1, op: "encode" });
    expect(first!.deadlineAt).toBeGreaterThan(Date.now());
    // a stops heartbeating; b long-polls and gets the job once the lease expires
    const t0 = Date.now();
    let again: Job | undefined;
    while (!again && Date.now() - t0 < 5000) {
      const jobs = await b.lease(8, 2000);
      again = jobs.find((j) => j.jobId === first!.jobId);
      if (!again) await b.results(jobs.map((j) => okResult(j, "worker-b")));
    }
    expect(again).toBeDefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(LEASE_MS - 50);
    expect(again!.attempt).toBe(2);
    expect(again!.leaseId).not.toBe(first!.leaseId);
    // a's heartbeat: lost
    expect(await a.heartbeat([first!.jobId])).toEqual({ cancel: [], lost: [first!.jobId] });
    // a's late result is ignored
    expect(await a.results([okResult(first!, "worker-a")])).toEqual({ accepted: [], ignored: [first!.jobId] });
    // b's result is accepted once; the duplicate is ignored
    expect(await b.results([okResult(again!, "worker-b")])).toEqual({ accepted: [again!.jobId], ignored: [] });
    expect(await b.results([okResult(again!, "worker-b")])).toEqual({ accepted: [], ignored: [again!.jobId] });
    const see = await step(runId, "see");
    expect(see).toMatchObject({ status: "succeeded", attempts: 2, workerId: "worker-b" });
    const events = (await h.store.db.query.runEvents.findMany()).filter((e) => e.stepId === "see").map((e) => e.type);
    expect(events).toEqual(["step.queued", "step.started", "step.retrying", "step.started", "step.completed"]);
  });

  it("two workers leasing at once never get the same job", async () => {
    for (let i = 0; i < 5; i++) await createRun();
    const [ja, jb] = await Promise.all([a.lease(64, 0), b.lease(64, 0)]);
    const ids = [...ja, ...jb].map((j) => j.jobId);
    expect(ids).toHaveLength(15);
    expect(new Set(ids).size).toBe(15);
  });

  it("heartbeats keep a lease alive past leaseMs", async () => {
    await createRun();
    const [job] = await a.lease(1, 0);
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, LEASE_MS / 4));
      expect(await a.heartbeat([job!.jobId])).toEqual({ cancel: [], lost: [] });
    }
    const other = await b.lease(64, 0);
    expect(other.map((j) => j.jobId)).not.toContain(job!.jobId);
    expect((await a.results([okResult(job!, "worker-a")])).accepted).toEqual([job!.jobId]);
  });

  it("a long-poll answers as soon as a job is queued", async () => {
    const t0 = Date.now();
    const pending = b.lease(8, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    await createRun();
    const jobs = await pending;
    expect(jobs.length).toBe(3);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("cancel reaches the worker at its next heartbeat and progress call; its result is ignored", async () => {
    const runId = await createRun();
    const jobs = await a.lease(8, 0);
    const answer = jobs.find((j) => j.stepId === "answer")!;
    expect(await a.progress(answer.jobId, [{ index: 0, id: 5, text: "red", logprob: -0.1 }])).toEqual({ cancel: false });
    const c = await call(h.app, `/v1/runs/${runId}/cancel`, { method: "POST" });
    expect(c.status).toBe(200);
    expect(c.body.status).toBe("canceled");
    const hb = await a.heartbeat(jobs.map((j) => j.jobId));
    expect(hb.cancel.sort()).toEqual(jobs.map((j) => j.jobId).sort());
    expect(await a.progress(answer.jobId, [{ index: 1, id: 6, text: "x", logprob: -1 }])).toEqual({ cancel: true });
    expect((await a.results(jobs.map((j) => okResult(j, "worker-a")))).ignored).toHaveLength(3);
    const run = await getRun(runId);
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(["canceled", "canceled", "canceled", "skipped"]);
    // canceling again changes nothing
    expect((await call(h.app, `/v1/runs/${runId}/cancel`, { method: "POST" })).body.status).toBe("canceled");
  });

  it("retryable errors retry with backoff; exhausted attempts fail the step with the reason and skip downstream", async () => {
    const spec: any = vqa();
    spec.steps[2].retry = { maxAttempts: 2, backoffMs: 500 };
    const runId = await createRun(spec);
    const fail = (j: Job) => ({ jobId: j.jobId, leaseId: j.leaseId, ok: false as const, error: { code: "oom", message: "out of memory", retryable: true } });
    let jobs = await a.lease(8, 0);
    const answer1 = jobs.find((j) => j.stepId === "answer")!;
    await a.results([...jobs.filter((j) => j !== answer1).map((j) => okResult(j, "worker-a")), fail(answer1)]);
    expect(await step(runId, "answer")).toMatchObject({ status: "queued", attempts: 1, error: { code: "oom" } });
    expect(await a.lease(8, 0)).toEqual([]); // backoff not yet over
    jobs = await a.lease(8, 2000);
    expect(jobs.map((j) => [j.stepId, j.attempt])).toEqual([["answer", 2]]);
    await a.results([fail(jobs[0]!)]);
    const run = await getRun(runId);
    expect(run.status).toBe("failed");
    expect(run.error).toMatchObject({ code: "oom", stepId: "answer" });
    const answer = run.steps.find((s: { id: string }) => s.id === "answer");
    expect(answer).toMatchObject({ status: "failed", attempts: 2 });
    expect(answer.error.message).toContain("after 2 attempts");
    expect(run.steps.find((s: { id: string }) => s.id === "why")).toMatchObject({ status: "skipped", error: { code: "upstream_failed" } });
  });

  it("a non-retryable error fails the step at once", async () => {
    const runId = await createRun();
    const jobs = await a.lease(8, 0);
    const see = jobs.find((j) => j.stepId === "see")!;
    await a.results([{ jobId: see.jobId, leaseId: see.leaseId, ok: false, error: { code: "bad_image", message: "cannot decode", retryable: false } }]);
    expect(await step(runId, "see")).toMatchObject({ status: "failed", attempts: 1, error: { code: "bad_image" } });
  });

  it("leases expiring on every attempt fail the step with lease_expired", async () => {
    const spec: any = vqa();
    spec.steps = [spec.steps[0]];
    spec.steps[0].retry = { maxAttempts: 2, backoffMs: 0 };
    spec.outputs = {};
    const runId = await createRun(spec);
    expect((await a.lease(8, 0)).length).toBe(1);
    await new Promise((r) => setTimeout(r, LEASE_MS + 50));
    expect((await a.lease(8, 0)).length).toBe(1); // the sweep in lease re-queued it: attempt 2
    await new Promise((r) => setTimeout(r, LEASE_MS + 50));
    expect(await a.lease(8, 0)).toEqual([]);
    const run = await getRun(runId);
    expect(run.status).toBe("failed");
    expect(run.steps[0]).toMatchObject({ status: "failed", attempts: 2, error: { code: "lease_expired" } });
  });

  it("serves stored input bytes to workers", async () => {
    await createRun();
    const [see] = await a.lease(1, 0);
    const sha = (see as Extract<Job, { op: "encode" }>).recipe.image!.sha256;
    expect(Buffer.from(await a.blob(sha)).equals(PNG_1PX)).toBe(true);
  });
});

describe("crash windows", () => {
  it("a job claimed but never marked started (edge died in between) still completes or re-queues", async () => {
    const { sql } = await import("drizzle-orm");
    const runId = await createRun();
    const [see] = await a.lease(1, 0);
    // simulate the crash: the step is back to queued though the job stays leased
    await h.store.db.run(sql`UPDATE steps SET status = 'queued' WHERE run_id = ${runId} AND step_id = 'see'`);
    expect((await a.results([okResult(see!, "worker-a")])).accepted).toEqual([see!.jobId]);
    expect(await step(runId, "see")).toMatchObject({ status: "succeeded", workerId: "worker-a" });
    const [dock] = await a.lease(1, 0);
    await h.store.db.run(sql`UPDATE steps SET status = 'queued' WHERE run_id = ${runId} AND step_id = ${dock!.stepId}`);
    await new Promise((r) => setTimeout(r, LEASE_MS + 50));
    const t0 = Date.now();
    let again: Job | undefined;
    while (!again && Date.now() - t0 < 3000) again = (await b.lease(8, 500)).find((j) => j.jobId === dock!.jobId);
    expect(again?.attempt).toBe(2);
    expect(await step(runId, dock!.stepId)).toMatchObject({ status: "running", attempts: 2, error: { code: "lease_expired" } });
  });
});

describe("protocol edges", () => {
  it("unknown job ids: heartbeat says lost, results are ignored, progress says cancel", async () => {
    expect(await a.heartbeat(["run_x.see"])).toEqual({ cancel: [], lost: ["run_x.see"] });
    const fake = { jobId: "run_x.see", leaseId: "nope", op: "encode", model: "metalm-tiny" } as unknown as Job;
    expect(await a.results([okResult(fake, "worker-a")])).toEqual({ accepted: [], ignored: ["run_x.see"] });
    expect(await a.progress("run_x.see", [])).toEqual({ cancel: true });
  });

  it("another worker cannot complete, extend or stream a job it does not hold", async () => {
    const runId = await createRun();
    const [job] = await a.lease(1, 0);
    expect(await b.heartbeat([job!.jobId])).toEqual({ cancel: [], lost: [job!.jobId] });
    expect((await b.results([okResult(job!, "worker-b")])).ignored).toEqual([job!.jobId]);
    expect(await b.progress(job!.jobId, [{ index: 0, id: 1, text: "x", logprob: 0 }])).toEqual({ cancel: true });
    expect(await step(runId, job!.stepId)).toMatchObject({ status: "running", workerId: "worker-a" });
  });

  it("re-registering replaces the adverts; a worker leases only jobs for models it advertises", async () => {
    await a.register([{ ...tinyAdvert, name: "other-model" }]);
    await b.register([tinyAdvert]);
    await createRun();
    expect(await a.lease(8, 0)).toEqual([]);
    expect((await b.lease(8, 0)).length).toBe(3);
    const models = (await call(h.app, "/v1/models")).body.models.map((m: { name: string; workers: string[] }) => [m.name, m.workers]);
    expect(models.sort()).toEqual([
      ["metalm-tiny", ["worker-b"]],
      ["other-model", ["worker-a"]],
    ]);
  });
});
