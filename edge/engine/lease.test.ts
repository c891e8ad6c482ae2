/**
 * `leaseJobs` and aborts: a lease whose caller went away (the request's signal aborted) claims
 * nothing after the abort wakes its wait — a job claimed then would sit leased by nobody until
 * its lease expired.
 */
import { afterEach, expect, it } from "vitest";
import { jobs } from "../../db/schema.js";
import { call, lease, makeHarness, okResult, pngDataUrl, postResults, register, vqa, type Harness } from "../testing/harness.js";
import { leaseJobs } from "./pool.js";

let h: Harness | undefined;
afterEach(() => h?.close());

it("an abort that wakes the wait returns no jobs without claiming the jobs that became available meanwhile", async () => {
  let clock = 1_000_000;
  const hh = (h = makeHarness({ now: () => clock, leaseMs: 60_000 }));
  expect((await register(hh.app)).status).toBe(200);
  const r = await call(hh.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
  expect(r.status).toBe(202);
  // the jobs are available at 1_000_000; the lease starts "before" that, so its first claim finds none
  clock -= 10_000;
  const ac = new AbortController();
  const pending = leaseJobs(hh.app.engine, "w1", 16, 60_000, ac.signal);
  await new Promise((res) => setTimeout(res, 50)); // the loop is now waiting on the notifier
  clock += 10_000; // the jobs are available now …
  ac.abort(); // … and the caller hangs up in the same instant
  expect(await pending).toEqual({ jobs: [], blobs: {} });
  const rows = await hh.store.db.select({ status: jobs.status }).from(jobs);
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.every((j) => j.status === "queued")).toBe(true);
  // a lease without an abort still gets them
  const lease = await leaseJobs(hh.app.engine, "w1", 16, 0);
  expect(lease?.jobs.length).toBe(rows.length);
  // … with the image they read inline (one round trip)
  expect(Object.keys(lease!.blobs)).toHaveLength(1);
});

it("a result that queues a downstream step wakes a waiting lease at once (not at its recheck)", async () => {
  const hh = (h = makeHarness({ leaseMs: 60_000 }));
  expect((await register(hh.app)).status).toBe(200);
  expect((await call(hh.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } })).status).toBe(202);
  const first = await lease(hh.app);
  expect(first.map((j) => j.stepId)).toEqual(["see", "dock", "answer"]);
  const waiting = leaseJobs(hh.app.engine, "w1", 16, 10_000);
  await new Promise((res) => setTimeout(res, 30)); // the long-poll found nothing and waits
  const t0 = performance.now();
  await postResults(
    hh.app,
    "w1",
    first.map((j) => okResult(j)),
  );
  const next = await waiting;
  expect(next?.jobs.map((j) => j.stepId)).toEqual(["why"]);
  expect(performance.now() - t0).toBeLessThan(250); // the recheck is 500 ms
});

it("an idle poll skips its query only until the recheck: work queued behind the notifier's back (another edge) is still found", async () => {
  const hh = (h = makeHarness({ leaseMs: 60_000 }));
  expect((await register(hh.app)).status).toBe(200);
  expect((await call(hh.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } })).status).toBe(202);
  const first = await lease(hh.app); // takes every ready job: this process now knows the queue is empty
  expect(first).toHaveLength(3);
  // another edge process puts a job back in the queue: no publish reaches this process
  const client = (hh.store.db as unknown as { $client: { prepare(s: string): { run(...a: unknown[]): unknown } } }).$client;
  client.prepare(`UPDATE "jobs" SET "status" = 'queued', "lease_id" = NULL, "leased_by" = NULL, "attempts" = 0 WHERE "id" = ?`).run(first[0]!.jobId);
  const t0 = performance.now();
  const got = await leaseJobs(hh.app.engine, "w1", 16, 5_000);
  expect(got?.jobs.map((j) => j.jobId)).toEqual([first[0]!.jobId]);
  expect(performance.now() - t0).toBeLessThan(1_500); // within the 500 ms recheck (plus a loaded machine's slack)
  // a job this process queues (a publish) is seen at once, without waiting for the recheck
  expect((await call(hh.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "again?" } } })).status).toBe(202);
  expect(await lease(hh.app)).toHaveLength(3);
});
