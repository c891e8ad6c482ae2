/**
 * The rest of the public API through `app.request`: workflows, list/filters/pagination,
 * multipart upload, plan, models, health, metrics, OpenAPI.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tinyAdvert } from "../workflows/src/fixtures.js";
import {
  ADMIN_AUTH,
  call,
  drive,
  JPEG_BYTES,
  lease,
  makeHarness,
  PNG_1PX,
  pngB64,
  pngDataUrl,
  register,
  TEST_ADMIN_KEY,
  vqa,
  type Harness,
} from "./testing/harness.js";

let h: Harness;
let clock = 1_700_000_000_000;
beforeEach(async () => {
  clock = 1_700_000_000_000;
  h = makeHarness({ now: () => clock, adminKey: TEST_ADMIN_KEY });
  await register(h.app);
});
afterEach(() => h.close());

describe("workflows", () => {
  it("saves versions, lists the latest of each, gets by id / version, runs a saved workflow", async () => {
    const v1 = await call(h.app, "/v1/workflows", { body: { spec: vqa() } });
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ id: "vqa-then-explain", version: 1 });
    const spec2: any = vqa();
    spec2.steps[2].params.maxTokens = 4;
    const v2 = await call(h.app, "/v1/workflows", { body: { spec: spec2 } });
    expect(v2.body.version).toBe(2);
    await call(h.app, "/v1/workflows", { body: { id: "other", spec: vqa() } });
    const list = await call(h.app, "/v1/workflows");
    expect(list.body.workflows.map((w: any) => [w.id, w.version])).toEqual([
      ["other", 1],
      ["vqa-then-explain", 2],
    ]);
    expect((await call(h.app, "/v1/workflows/vqa-then-explain")).body.version).toBe(2);
    expect((await call(h.app, "/v1/workflows/vqa-then-explain?version=1")).body.spec.steps[2].params.maxTokens).toBe(8);
    expect((await call(h.app, "/v1/workflows/vqa-then-explain/versions/2")).body.spec.steps[2].params.maxTokens).toBe(4);
    expect((await call(h.app, "/v1/workflows/vqa-then-explain/versions")).body.versions).toHaveLength(2);
    expect((await call(h.app, "/v1/workflows/nope")).status).toBe(404);
    expect((await call(h.app, "/v1/workflows/vqa-then-explain/versions/9")).status).toBe(404);
    expect((await call(h.app, "/v1/workflows/vqa-then-explain?version=x")).status).toBe(400);

    const run = await call(h.app, "/v1/runs", { body: { workflowId: "vqa-then-explain", version: 1, inputs: { image: pngDataUrl() } } });
    expect(run.status).toBe(202);
    expect(run.body).toMatchObject({ workflowId: "vqa-then-explain", workflowVersion: 1 });
    const latest = await call(h.app, "/v1/runs", { body: { workflowId: "vqa-then-explain", inputs: { image: pngDataUrl() } } });
    expect(latest.body.workflowVersion).toBe(2);
  });

  it("concurrent saves get distinct versions", async () => {
    const rs = await Promise.all(Array.from({ length: 6 }, () => call(h.app, "/v1/workflows", { body: { spec: vqa() } })));
    expect(rs.map((r) => r.body.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("rejects an invalid workflow with the per-step error map, and a spec with no name and no id", async () => {
    const s: any = vqa();
    s.steps[1].from = "ghost";
    const r = await call(h.app, "/v1/workflows", { body: { spec: s } });
    expect(r.status).toBe(400);
    expect(r.body.error.details.dock[0].code).toBe("unknown_reference");
    const { name: _n, ...anon } = vqa();
    const r2 = await call(h.app, "/v1/workflows", { body: { spec: anon } });
    expect(r2.status).toBe(400);
    expect(r2.body.error.details.field).toBe("id");
    expect((await call(h.app, "/v1/workflows")).body.workflows).toEqual([]);
  });
});

describe("GET /v1/runs", () => {
  it("filters by status, workflow, tag and created range; paginates with a cursor; counts per status", async () => {
    await call(h.app, "/v1/workflows", { body: { spec: vqa() } });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      clock += 1000;
      const body =
        i % 2
          ? { workflowId: "vqa-then-explain", inputs: { image: pngDataUrl() }, tags: ["odd"] }
          : { spec: vqa(), inputs: { image: pngDataUrl() }, tags: ["even"] };
      ids.push((await call(h.app, "/v1/runs", { body })).body.id);
    }
    // start the first run only (oldest jobs lease first)
    const jobs = await lease(h.app, "w1", 3);
    expect(new Set(jobs.map((j) => j.runId))).toEqual(new Set([ids[0]]));
    const page1 = await call(h.app, "/v1/runs?limit=3");
    expect(page1.body.runs.map((r: any) => r.id)).toEqual([ids[6], ids[5], ids[4]]);
    expect(page1.body.counts).toMatchObject({ queued: expect.any(Number), succeeded: 0 });
    const page2 = await call(h.app, `/v1/runs?limit=3&cursor=${page1.body.nextCursor}`);
    expect(page2.body.runs.map((r: any) => r.id)).toEqual([ids[3], ids[2], ids[1]]);
    const page3 = await call(h.app, `/v1/runs?limit=3&cursor=${page2.body.nextCursor}`);
    expect(page3.body.runs.map((r: any) => r.id)).toEqual([ids[0]]);
    expect(page3.body.nextCursor).toBeNull();
    expect((await call(h.app, "/v1/runs?tag=odd")).body.runs).toHaveLength(3);
    expect((await call(h.app, "/v1/runs?workflow=vqa-then-explain")).body.runs).toHaveLength(3);
    const t = 1_700_000_000_000;
    expect((await call(h.app, `/v1/runs?createdAfter=${t + 2000}&createdBefore=${t + 4000}`)).body.runs.map((r: any) => r.id)).toEqual([ids[2], ids[1]]);
    const iso = (ms: number) => new Date(ms).toISOString();
    expect((await call(h.app, `/v1/runs?createdAfter=${iso(t + 2000)}&createdBefore=${iso(t + 4000)}`)).body.runs).toHaveLength(2);
    expect((await call(h.app, "/v1/runs?createdAfter=yesterday")).status).toBe(400);
    const running = await call(h.app, "/v1/runs?status=running");
    expect(running.body.runs.map((r: any) => r.id)).toEqual([ids[0]]);
    // counts ignore the status filter (tabs), respect the others
    expect(running.body.counts).toEqual({ queued: 6, running: 1, succeeded: 0, failed: 0, canceled: 0, timed_out: 0 });
    expect((await call(h.app, "/v1/runs?tag=odd")).body.counts.queued).toBe(3);
  });
});

describe("image inputs", () => {
  it("accepts multipart/form-data uploads and stores each image once by sha256", async () => {
    const form = new FormData();
    form.set("request", JSON.stringify({ spec: vqa(), inputs: { question: "what is it?" }, tags: ["mp"] }));
    form.set("inputs.image", new Blob([PNG_1PX], { type: "image/png" }), "x.png");
    const r = await call(h.app, "/v1/runs", { body: form });
    expect(r.status).toBe(202);
    expect(r.body.inputs.image).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), mime: "image/png" });
    expect(r.body.inputs.question).toBe("what is it?");
    // the same image as base64 and as a data URL: same blob, stored once
    const r2 = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngB64() } } });
    const r3 = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: { sha256: r.body.inputs.image.sha256 } } } });
    expect(r2.body.inputs.image).toEqual(r.body.inputs.image);
    expect(r3.body.inputs.image).toEqual(r.body.inputs.image);
    const blobs = await h.store.db.query.blobs.findMany();
    expect(blobs).toHaveLength(1);
    expect(blobs[0]!.size).toBe(PNG_1PX.length);
  });

  it("accepts JPEG, rejects other bytes in a multipart file part and files for non-image inputs", async () => {
    const ok = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: `data:image/jpeg;base64,${JPEG_BYTES.toString("base64")}` } } });
    expect(ok.body.inputs.image.mime).toBe("image/jpeg");
    const form = new FormData();
    form.set("request", JSON.stringify({ spec: vqa() }));
    form.set("image", new Blob([Buffer.from("not an image")]), "x.png");
    const bad = await call(h.app, "/v1/runs", { body: form });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "invalid_image", details: { field: "inputs.image" } });
    const form2 = new FormData();
    form2.set("request", JSON.stringify({ spec: vqa(), inputs: { image: pngB64() } }));
    form2.set("question", new Blob([PNG_1PX]), "q.png");
    expect((await call(h.app, "/v1/runs", { body: form2 })).status).toBe(400);
    const form3 = new FormData();
    form3.set("request", "{oops");
    expect((await call(h.app, "/v1/runs", { body: form3 })).body.error.code).toBe("invalid_json");
    const unknownBlob = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: { sha256: "c".repeat(64) } } } });
    expect(unknownBlob.body.error.code).toBe("unknown_blob");
  });
});

describe("plan, models, health, metrics", () => {
  it("POST /v1/plan: the resolved graph, cache hits and workers per step, storing nothing", async () => {
    const p1 = await call(h.app, "/v1/plan", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    expect(p1.status).toBe(200);
    expect(p1.body.steps.map((s: any) => [s.id, s.status, s.workers])).toEqual([
      ["see", "queued", ["w1"]],
      ["dock", "queued", ["w1"]],
      ["answer", "queued", ["w1"]],
      ["why", "pending", ["w1"]],
    ]);
    expect(p1.body.steps[3]).toMatchObject({ valueDeps: ["answer"], tensorDeps: ["dock"], cacheKey: null });
    expect((await call(h.app, "/v1/runs")).body.runs).toEqual([]);
    expect(await h.store.db.query.blobs.findMany()).toEqual([]);
    await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    await drive(h.app);
    const p2 = await call(h.app, "/v1/plan", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    expect(p2.body.steps.map((s: any) => s.status)).toEqual(["cached", "cached", "cached", "cached"]);
    const bad = await call(h.app, "/v1/plan", { body: { spec: { steps: [] }, inputs: {} } });
    expect(bad.status).toBe(400);
  });

  it("GET /v1/models lists what live workers advertise; /readyz follows", async () => {
    const m = await call(h.app, "/v1/models");
    // tinyAdvert has no per-model provider fields (a worker from before them): the worker's own provider
    expect(m.body.models).toEqual([
      { ...tinyAdvert, workers: ["w1"], placements: [{ workerId: "w1", executionProvider: "cpu", requestedProviders: [], providerFallbacks: [] }] },
    ]);
    expect((await call(h.app, "/readyz")).status).toBe(200);
    clock += 10 * 60_000; // every worker unseen for > 3 × leaseMs
    expect((await call(h.app, "/v1/models")).body.models).toEqual([]);
    const r = await call(h.app, "/readyz");
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ ready: false, db: true, workers: 0 });
    expect((await call(h.app, "/healthz")).body).toEqual({ ok: true });
  });

  it("GET /v1/models shows, per worker, the provider each model actually runs on and a fallback with its reason", async () => {
    const fallback = { provider: "webgpu", reason: "Failed to get a WebGPU adapter: No supported adapters" };
    await register(h.app, "w-gpu", [{ ...tinyAdvert, executionProvider: "webgpu", requestedProviders: ["webgpu", "cpu"], providerFallbacks: [] }]);
    await register(h.app, "w-fell", [{ ...tinyAdvert, executionProvider: "cpu", requestedProviders: ["webgpu", "cpu"], providerFallbacks: [fallback] }]);
    const [model, ...rest] = (await call(h.app, "/v1/models")).body.models;
    expect(rest).toEqual([]);
    // the per-worker fields live in placements only, not on the merged advert
    expect(model).not.toHaveProperty("executionProvider");
    expect(model.workers.sort()).toEqual(["w-fell", "w-gpu", "w1"]);
    const byWorker = Object.fromEntries(model.placements.map((p: { workerId: string }) => [p.workerId, p]));
    expect(byWorker["w-gpu"]).toEqual({ workerId: "w-gpu", executionProvider: "webgpu", requestedProviders: ["webgpu", "cpu"], providerFallbacks: [] });
    expect(byWorker["w-fell"]).toEqual({ workerId: "w-fell", executionProvider: "cpu", requestedProviders: ["webgpu", "cpu"], providerFallbacks: [fallback] });
    // the register schema bounds the fields like every other advert field
    expect((await register(h.app, "w-bad", [{ ...tinyAdvert, providerFallbacks: [{ provider: "", reason: "x" }] }])).status).toBe(400);
  });

  it("/metrics is Prometheus text with queue wait, compute, batch sizes, tokens/s, cache hits, runs by status", async () => {
    await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    await drive(h.app);
    const res = await h.app.request("/metrics", { headers: ADMIN_AUTH });
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toMatch(/metalm_http_request_duration_seconds_count\{method="POST",route="\/v1\/runs",status="2xx"\} 1/);
    for (const name of [
      "metalm_queue_wait_seconds_bucket",
      "metalm_compute_seconds_bucket",
      "metalm_lease_batch_size_bucket",
      "metalm_tokens_per_second_bucket",
      "metalm_cache_hits_total",
      'metalm_runs{status="succeeded"} 1',
    ])
      expect(text).toContain(name);
  });
});
