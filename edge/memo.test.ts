/**
 * Memoization (a ready step whose cache key matches an earlier succeeded step is `cached`),
 * rerun-from-step with overrides, idempotency under concurrent duplicates, and restarts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ADMIN_AUTH,
  call,
  drive,
  lease,
  makeHarness,
  okResult,
  pngDataUrl,
  postResults,
  register,
  TEST_ADMIN_KEY,
  vqa,
  type Harness,
} from "./testing/harness.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness({ adminKey: TEST_ADMIN_KEY });
  await register(h.app);
});
afterEach(() => h.close());

const create = async (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() }, ...body }, headers });
const statuses = (run: any) => Object.fromEntries(run.steps.map((s: any) => [s.id, s.status]));

describe("memoization", () => {
  it("an identical second run is served entirely from the memo table, with no jobs", async () => {
    const first = await create({});
    await drive(h.app);
    const second = await create({});
    expect(second.status).toBe(200); // finished at once
    expect(second.body.status).toBe("succeeded");
    expect(statuses(second.body)).toEqual({ see: "cached", dock: "cached", answer: "cached", why: "cached" });
    expect(second.body.steps[2].cachedFrom).toBe(`${first.body.id}/answer`);
    expect(second.body.outputs).toEqual({ answer: "red", label: "entailment", explanation: "because it is red" });
    expect(await lease(h.app)).toEqual([]);
    const metrics = await h.app.request("/metrics", { headers: ADMIN_AUTH });
    expect(await metrics.text()).toMatch(/metalm_cache_hits_total\{kind="memo"\} 4/);
  });

  it("a changed input only recomputes what depends on it", async () => {
    await create({});
    await drive(h.app);
    const other = await create({ inputs: { image: pngDataUrl(), question: "what shape is it?" } });
    expect(statuses(other.body)).toEqual({ see: "cached", dock: "cached", answer: "queued", why: "pending" });
  });

  it("a failed step is never memoized", async () => {
    await create({});
    const jobs = await lease(h.app);
    await postResults(
      h.app,
      "w1",
      jobs.map((j) =>
        j.stepId === "answer" ? { jobId: j.jobId, leaseId: j.leaseId, ok: false as const, error: { code: "x", message: "x", retryable: false } } : okResult(j),
      ),
    );
    const again = await create({});
    expect(statuses(again.body)).toMatchObject({ see: "cached", dock: "cached", answer: "queued" });
  });
});

describe("POST /v1/runs/:id/rerun", () => {
  it("reruns from a step with overrides, copying unchanged upstream outputs as cached", async () => {
    const first = await create({});
    await drive(h.app);
    const r = await call(h.app, `/v1/runs/${first.body.id}/rerun`, {
      body: { fromStep: "answer", overrides: { steps: { answer: { params: { temperature: 0.7, seed: 7 } } } } },
    });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ parentRunId: first.body.id, rerunFrom: "answer" });
    expect(statuses(r.body)).toEqual({ see: "cached", dock: "cached", answer: "queued", why: "pending" });
    expect(r.body.steps[0].cachedFrom).toBe(`${first.body.id}/see`);
    const jobs = await lease(h.app);
    expect(jobs.map((j) => j.stepId)).toEqual(["answer"]);
    expect((jobs[0] as any).params).toMatchObject({ temperature: 0.7, seed: 7 });
    await postResults(h.app, "w1", [okResult(jobs[0]!, "w1", "blue")]);
    const [why] = await lease(h.app);
    expect(JSON.stringify(why)).toContain("the circle is blue it is");
    await postResults(h.app, "w1", [okResult(why!, "w1", "blue")]);
    const done = await call(h.app, `/v1/runs/${r.body.id}`);
    expect(done.body.outputs.answer).toBe("blue");
  });

  it("rerunning from a step without overrides executes it again (no memo) but still reuses upstream", async () => {
    const first = await create({});
    await drive(h.app);
    const r = await call(h.app, `/v1/runs/${first.body.id}/rerun`, { body: { fromStep: "why" } });
    expect(statuses(r.body)).toEqual({ see: "cached", dock: "cached", answer: "cached", why: "queued" });
  });

  it("input overrides recompute the steps using them", async () => {
    const first = await create({});
    await drive(h.app);
    const r = await call(h.app, `/v1/runs/${first.body.id}/rerun`, { body: { fromStep: "why", overrides: { inputs: { question: "is it big?" } } } });
    expect(statuses(r.body)).toEqual({ see: "cached", dock: "cached", answer: "queued", why: "pending" });
    expect(r.body.inputs.question).toBe("is it big?");
  });

  it("rejects an unknown fromStep, an unknown overridden step and an invalid override", async () => {
    const first = await create({});
    const bad1 = await call(h.app, `/v1/runs/${first.body.id}/rerun`, { body: { fromStep: "nope" } });
    expect(bad1.status).toBe(400);
    expect(bad1.body.error.details.field).toBe("fromStep");
    const bad2 = await call(h.app, `/v1/runs/${first.body.id}/rerun`, { body: { fromStep: "answer", overrides: { steps: { ghost: { params: {} } } } } });
    expect(bad2.status).toBe(400);
    const bad3 = await call(h.app, `/v1/runs/${first.body.id}/rerun`, {
      body: { fromStep: "answer", overrides: { steps: { answer: { params: { maxTokens: 9999 } } } } },
    });
    expect(bad3.status).toBe(400);
    expect(bad3.body.error.code).toBe("invalid_workflow");
    expect(Object.keys(bad3.body.error.details)).toContain("answer");
  });
});

describe("Idempotency-Key", () => {
  it("concurrent duplicate posts create exactly one run", async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => create({}, { "idempotency-key": "k-123" })));
    const ids = new Set(results.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true").length).toBe(11);
    const list = await call(h.app, "/v1/runs");
    expect(list.body.runs).toHaveLength(1);
    // the jobs of that one run only
    expect(await lease(h.app)).toHaveLength(3);
  });

  it("concurrent duplicates across two apps on one SQLite file also converge", async () => {
    const other = (await import("./testing/tenants.js")).defaultKey(
      (await import("./app.js")).createApp({ store: (await import("../db/store.js")).openSqliteStore(h.file), poolToken: "x" }),
      h.key.key,
    );
    const body = { spec: vqa(), inputs: { image: pngDataUrl() } };
    const rs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call(i % 2 ? other : h.app, "/v1/runs", { body, headers: { "idempotency-key": "shared" } })),
    );
    expect(new Set(rs.map((r) => r.body.id)).size).toBe(1);
    other.engine.store.close();
  });

  it("a key replayed with a different request is a 409, changing nothing", async () => {
    const a = await create({}, { "idempotency-key": "k-409" });
    const b = await create({ inputs: { image: pngDataUrl(), question: "something else?" } }, { "idempotency-key": "k-409" });
    expect(b.status).toBe(409);
    expect(b.body.error).toMatchObject({ code: "idempotency_key_reused", details: { runId: a.body.id } });
    expect((await call(h.app, "/v1/runs")).body.runs).toHaveLength(1);
  });

  it("a different key makes a different run", async () => {
    const a = await create({}, { "idempotency-key": "a" });
    const b = await create({}, { "idempotency-key": "b" });
    expect(a.body.id).not.toBe(b.body.id);
  });
});

describe("restart", () => {
  it("a new app on the same SQLite file loses nothing: runs, leases, workflows, events", async () => {
    await call(h.app, "/v1/workflows", { body: { spec: vqa() } });
    const run = await create({});
    const jobs = await lease(h.app);
    h = h.restart();
    // the worker's leases survive the restart: its results are accepted by the new app
    const r = await postResults(
      h.app,
      "w1",
      jobs.map((j) => okResult(j)),
    );
    expect(r.body.accepted).toHaveLength(3);
    await drive(h.app);
    const done = await call(h.app, `/v1/runs/${run.body.id}`);
    expect(done.body.status).toBe("succeeded");
    expect((await call(h.app, "/v1/workflows/vqa-then-explain")).body.version).toBe(1);
    const ev = await h.app.request(`/v1/runs/${run.body.id}/events`);
    expect(await ev.text()).toContain("run.completed");
  });
});
