import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, lease, makeHarness, okResult, pngDataUrl, postResults, register, vqa, type Harness } from "./testing/harness.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness();
  await register(h.app);
});
afterEach(() => h.close());

describe("POST /v1/runs → lease → results → history", () => {
  it("runs a VQA-then-explain workflow end to end", async () => {
    const created = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() }, tags: ["demo"] } });
    expect(created.status).toBe(202);
    expect(created.headers.get("location")).toBe(`/v1/runs/${created.body.id}`);
    expect(created.body.status).toBe("queued");
    expect(created.body.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      ["see", "queued"],
      ["dock", "queued"],
      ["answer", "queued"],
      ["why", "pending"],
    ]);
    // tensor deps do not wait: the three first steps lease together
    const jobs = await lease(h.app);
    expect(jobs.map((j) => j.stepId)).toEqual(["see", "dock", "answer"]);
    const answer = jobs.find((j) => j.stepId === "answer")!;
    expect(answer.op).toBe("decode");
    const running = await call(h.app, `/v1/runs/${created.body.id}`);
    expect(running.body.status).toBe("running");
    const r1 = await postResults(
      h.app,
      "w1",
      jobs.map((j) => okResult(j)),
    );
    expect(r1.body).toEqual({ accepted: jobs.map((j) => j.jobId), ignored: [] });
    const [why] = await lease(h.app);
    expect(why!.stepId).toBe("why");
    // the value dep is resolved into the text
    expect(JSON.stringify(why)).toContain("hypothesis: the circle is red it is");
    await postResults(h.app, "w1", [okResult(why!)]);
    const done = await call(h.app, `/v1/runs/${created.body.id}`);
    expect(done.body.status).toBe("succeeded");
    expect(done.body.outputs).toEqual({ answer: "red", label: "entailment", explanation: "because it is red" });
    expect(done.body.steps.every((s: { status: string }) => s.status === "succeeded")).toBe(true);
    const step = done.body.steps[2];
    expect(step).toMatchObject({ attempts: 1, workerId: "w1", computeMs: 3, cacheHit: false });
    expect(step.receipt.modelSha256).toHaveLength(64);
    const list = await call(h.app, "/v1/runs?tag=demo");
    expect(list.body.runs.map((r: { id: string }) => r.id)).toEqual([created.body.id]);
    expect(list.body.counts.succeeded).toBe(1);
  });

  it("Prefer: wait=N answers 200 with the finished run when it finishes in time", async () => {
    let answered = false;
    const p = call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } }, headers: { prefer: "wait=10" } }).finally(
      () => (answered = true),
    );
    // play the worker until the waiting request answers (long-polls wake on the first job)
    while (!answered) {
      const jobs = await lease(h.app, "w1", 64, 200);
      if (jobs.length)
        await postResults(
          h.app,
          "w1",
          jobs.map((j) => okResult(j)),
        );
    }
    const r = await p;
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("succeeded");
    expect(r.headers.get("preference-applied")).toBe("wait=10");
  });

  it("Prefer: wait=N answers 202 + Location when it does not", async () => {
    const t0 = Date.now();
    const r = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } }, headers: { prefer: "wait=1" } });
    expect(r.status).toBe(202);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(r.headers.get("location")).toMatch(/^\/v1\/runs\/run_/);
  });
});

describe("GET /v1/runs/:id", () => {
  it("answers an ETag that changes with every engine commit, and 304 for If-None-Match", async () => {
    const { body: run } = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    const a = await h.app.request(`/v1/runs/${run.id}`);
    const etag = a.headers.get("etag")!;
    expect(etag).toMatch(/^".+\.\d+"$/);
    expect((await h.app.request(`/v1/runs/${run.id}`, { headers: { "if-none-match": etag } })).status).toBe(304);
    await lease(h.app);
    const b = await h.app.request(`/v1/runs/${run.id}`, { headers: { "if-none-match": etag } });
    expect(b.status).toBe(200);
    expect(b.headers.get("etag")).not.toBe(etag);
    expect(((await b.json()) as { status: string }).status).toBe("running");
  });
});
