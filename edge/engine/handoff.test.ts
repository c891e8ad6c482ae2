/**
 * Direct handoff (handoff.ts): a run created while a lease long-poll waits in the same process
 * leases its jobs to that poll in its own commit — the answer carries the jobs and their image,
 * the run is stored `running` in one batch — and only where a claim through the queue would have
 * handed them out: the worker's tenants and models, its free slots, a live credential. Through
 * `app.request` on a real SQLite file.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { jobs, runEvents, runs, steps } from "../../db/schema.js";
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
} from "../testing/harness.js";
import { tinyAdvert } from "../../workflows/src/fixtures.js";
import { createTenantKeySync } from "../testing/tenants.js";
import { leaseJobs } from "./pool.js";

let h: Harness;
beforeEach(() => (h = makeHarness({ adminKey: TEST_ADMIN_KEY, leaseMs: 60_000 })));
afterEach(() => h.close());

const settleWait = () => new Promise((r) => setTimeout(r, 50)); // the poll found nothing and waits
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function createRun(headers: Record<string, string> = {}, question = "what colour?") {
  const r = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question } }, headers });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body as { id: string; status: string; steps: { id: string; status: string }[] };
}

const jobRows = (runId: string) =>
  h.store.db.select({ stepId: jobs.stepId, status: jobs.status, leasedBy: jobs.leasedBy, attempts: jobs.attempts }).from(jobs).where(eq(jobs.runId, runId));

it("a waiting poll is handed a new run's jobs in the run's own commit: leased rows, running steps, the image inline", async () => {
  expect((await register(h.app)).status).toBe(200);
  const waiting = leaseJobs(h.app.engine, "w1", 16, 10_000);
  await settleWait();
  const run = await createRun();
  // stored by the create itself: no claim of the poll's is needed for these rows
  expect(run.status).toBe("running");
  const rows = await jobRows(run.id);
  expect(rows.map((j) => [j.stepId, j.status, j.leasedBy, j.attempts]).sort()).toEqual([
    ["answer", "leased", "w1", 1],
    ["dock", "leased", "w1", 1],
    ["see", "leased", "w1", 1],
  ]);
  const stepRows = await h.store.db.select({ stepId: steps.stepId, status: steps.status, queueMs: steps.queueMs }).from(steps).where(eq(steps.runId, run.id));
  expect(
    stepRows
      .filter((s) => s.status === "running")
      .map((s) => s.stepId)
      .sort(),
  ).toEqual(["answer", "dock", "see"]);
  expect((await h.store.db.select({ status: runs.status }).from(runs).where(eq(runs.id, run.id)))[0]!.status).toBe("running");
  const events = (await h.store.db.select({ type: runEvents.type, stepId: runEvents.stepId }).from(runEvents).where(eq(runEvents.runId, run.id))).map(
    (e) => `${e.type}${e.stepId ? `:${e.stepId}` : ""}`,
  );
  expect(events[0]).toBe("run.created");
  for (const s of ["see", "dock", "answer"]) expect(events.indexOf(`step.started:${s}`)).toBeGreaterThan(events.indexOf(`step.queued:${s}`));
  expect(events.filter((e) => e === "run.started")).toHaveLength(1);

  const got = await waiting;
  expect(got?.jobs.map((j) => j.stepId)).toEqual(["see", "dock", "answer"]);
  expect(Object.keys(got!.blobs)).toHaveLength(1); // the upload, from memory: one round trip
  // handed once: the queue holds nothing more
  expect(await lease(h.app, "w1", 16, 0)).toEqual([]);
  // the handed leases are ordinary leases: their results complete the run
  expect(
    (
      await postResults(
        h.app,
        "w1",
        got!.jobs.map((j) => okResult(j)),
      )
    ).status,
  ).toBe(200);
  await drive(h.app);
  expect((await call(h.app, `/v1/runs/${run.id}`)).body.status).toBe("succeeded");
});

it("hands at most the poll's free slots, in spec order; the rest wait in the queue", async () => {
  await register(h.app);
  const waiting = leaseJobs(h.app.engine, "w1", 1, 10_000);
  await settleWait();
  const run = await createRun();
  expect((await waiting)?.jobs.map((j) => j.stepId)).toEqual(["see"]);
  const rows = await jobRows(run.id);
  expect(
    rows
      .filter((j) => j.status === "queued")
      .map((j) => j.stepId)
      .sort(),
  ).toEqual(["answer", "dock"]);
  expect((await lease(h.app, "w1", 16, 0)).map((j) => j.stepId)).toEqual(["dock", "answer"]);
});

it("two waiting polls: the oldest is handed the run, the other keeps waiting", async () => {
  await register(h.app, "w1");
  await register(h.app, "w2");
  const first = leaseJobs(h.app.engine, "w1", 16, 10_000);
  await settleWait();
  const second = leaseJobs(h.app.engine, "w2", 16, 600);
  await settleWait();
  await createRun();
  expect((await first)?.jobs).toHaveLength(3);
  expect((await second)?.jobs).toEqual([]);
});

it("no handoff outside the poll's tenant scope: the run's jobs stay queued for a worker that may serve them", async () => {
  const acme = createTenantKeySync(h.store, "acme");
  const c = await call(h.app, "/v1/admin/worker-credentials", { body: { tenants: ["acme"] }, headers: ADMIN_AUTH });
  expect(c.status).toBe(201);
  const token = c.body.token as string;
  const reg = { executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] };
  expect((await call(h.app, "/v1/pool/register", { body: { workerId: "acme-gpu", ...reg }, headers: bearer(token) })).status).toBe(200);
  const waiting = call(h.app, "/v1/pool/lease", { body: { workerId: "acme-gpu", max: 16, waitMs: 700 }, headers: bearer(token) });
  await settleWait();
  const other = await createRun(); // the default tenant's run
  expect(other.status).toBe("queued");
  expect((await jobRows(other.id)).every((j) => j.status === "queued")).toBe(true);
  const acmeRun = await createRun(acme.headers); // acme's: handed
  const got = (await waiting).body.jobs as { runId: string }[];
  expect(new Set(got.map((j) => j.runId))).toEqual(new Set([acmeRun.id]));
  expect(acmeRun.status).toBe("running");
  // the pool token's worker gets the other tenant's run from the queue
  await register(h.app, "w1");
  expect(new Set((await lease(h.app, "w1", 16, 0)).map((j) => j.runId))).toEqual(new Set([other.id]));
});

it("a credential revoked while its poll waits: the create's batch fails its check and the run is stored with its jobs queued", async () => {
  const c = await call(h.app, "/v1/admin/worker-credentials", { body: {}, headers: ADMIN_AUTH });
  const token = c.body.token as string;
  await call(h.app, "/v1/pool/register", {
    body: { workerId: "gpu-x", executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] },
    headers: bearer(token),
  });
  const waiting = call(h.app, "/v1/pool/lease", { body: { workerId: "gpu-x", max: 16, waitMs: 1_500 }, headers: bearer(token) });
  await settleWait();
  expect((await call(h.app, `/v1/admin/worker-credentials/${c.body.id}`, { method: "DELETE", headers: ADMIN_AUTH })).status).toBe(200);
  const run = await createRun();
  expect(run.status).toBe("queued");
  const rows = await jobRows(run.id);
  expect(rows).toHaveLength(3);
  expect(rows.every((j) => j.status === "queued" && j.leasedBy === null && j.attempts === 0)).toBe(true);
  expect((await waiting).body.jobs).toEqual([]);
  await register(h.app, "w1");
  expect(await lease(h.app, "w1", 16, 0)).toHaveLength(3);
});

it("an idempotent retry of a handed-off run creates nothing and hands nothing", async () => {
  await register(h.app);
  const waiting = leaseJobs(h.app.engine, "w1", 16, 10_000);
  await settleWait();
  const headers = { "idempotency-key": "handoff-1" };
  const a = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } }, headers });
  expect((await waiting)?.jobs).toHaveLength(3);
  const again = leaseJobs(h.app.engine, "w1", 16, 400);
  await settleWait();
  const b = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } }, headers });
  expect(b.body.id).toBe(a.body.id);
  expect((await again)?.jobs).toEqual([]);
  expect(await h.store.db.select({ id: jobs.id }).from(jobs)).toHaveLength(3);
});
