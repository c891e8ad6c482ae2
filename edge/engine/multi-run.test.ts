/**
 * A lease or a results post that touches several runs commits them in ONE batch (`withRuns`), and
 * falls back to one commit per run when any run's guard fails — so nothing is lost or handed twice.
 */
import { afterEach, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import type { Stmt } from "../../db/driver.js";
import { call, lease, makeHarness, okResult, postResults, pngDataUrl, register, vqa, type Harness } from "../testing/harness.js";

let h: Harness | undefined;
afterEach(() => h?.close());

/** Counts the store's batches; `before(n)` runs just before the n-th (1-based) executes. */
function countBatches(hh: Harness, before?: (n: number) => void) {
  const orig = hh.store.batch.bind(hh.store);
  const c = { n: 0 };
  (hh.store as { batch(s: readonly Stmt[]): Promise<void> }).batch = async (s) => {
    c.n++;
    before?.(c.n);
    return orig(s);
  };
  return c;
}

async function threeRuns(hh: Harness): Promise<string[]> {
  expect((await register(hh.app)).status).toBe(200);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    // distinct inputs: no memo hits between the runs
    const r = await call(hh.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: `q${i}?` } } });
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  return ids;
}

/** The fixture's last step ("why") reads the answer: queued by the results; lease its 3 jobs and post them. */
async function finishChainedSteps(hh: Harness): Promise<void> {
  const last = await lease(hh.app, "w1", 64);
  expect(last).toHaveLength(3);
  expect(
    (
      await postResults(
        hh.app,
        "w1",
        last.map((j) => okResult(j, "w1")),
      )
    ).body.accepted,
  ).toHaveLength(3);
}

it("one lease of three runs' jobs is one commit; their results in one post are one commit", async () => {
  const hh = (h = makeHarness({ leaseMs: 60_000 }));
  const ids = await threeRuns(hh);
  const batches = countBatches(hh);
  const jobs = await lease(hh.app, "w1", 64);
  expect(new Set(jobs.map((j) => j.runId))).toEqual(new Set(ids));
  expect(batches.n).toBe(1);
  for (const id of ids) expect((await call(hh.app, `/v1/runs/${id}`)).body.status).toBe("running");
  const r = await postResults(
    hh.app,
    "w1",
    jobs.map((j) => okResult(j, "w1")),
  );
  expect(r.body.accepted).toHaveLength(jobs.length);
  expect(batches.n).toBe(2);
  await finishChainedSteps(hh);
  expect(batches.n).toBe(4);
  for (const id of ids) expect((await call(hh.app, `/v1/runs/${id}`)).body.status).toBe("succeeded");
});

it("when one run changed between read and commit, the runs are committed one by one: every job is handed once, every result applies", async () => {
  const hh = (h = makeHarness({ leaseMs: 60_000 }));
  const ids = await threeRuns(hh);
  const client = (hh.store.db as unknown as { $client: { prepare(s: string): { run(...a: unknown[]): unknown } } }).$client;
  // another edge process commits to the second run just before the multi-run batches run
  const bump = client.prepare(`UPDATE "runs" SET "rev" = "rev" + 1 WHERE "id" = ?`);
  const batches = countBatches(hh, (n) => {
    if (n === 1 || n === 5) bump.run(ids[1]);
  });
  const jobs = await lease(hh.app, "w1", 64);
  // the shared batch rolled back; then one commit per run (the bumped run is retried with a fresh rev)
  expect(batches.n).toBe(4);
  expect(jobs).toHaveLength(new Set(jobs.map((j) => j.jobId)).size);
  expect(new Set(jobs.map((j) => j.runId))).toEqual(new Set(ids));
  expect(await lease(hh.app, "w1", 64)).toEqual([]);
  const r = await postResults(
    hh.app,
    "w1",
    jobs.map((j) => okResult(j, "w1")),
  );
  expect(r.body.accepted).toHaveLength(jobs.length);
  expect(batches.n).toBe(8);
  await finishChainedSteps(hh);
  for (const id of ids) expect((await call(hh.app, `/v1/runs/${id}`)).body.status).toBe("succeeded");
  const rows = (await hh.store.db.all(sql`SELECT count(*) AS n FROM jobs WHERE status != 'done'`)) as { n: number }[];
  expect(rows[0]?.n).toBe(0);
});
