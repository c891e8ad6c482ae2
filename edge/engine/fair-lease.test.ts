/**
 * Leasing is fair between tenants (issue 15, item 5): a tenant's backlog cannot push another
 * tenant's run to the back of the queue. Real SQLite, the pool protocol through `app.request`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, lease, makeHarness, pngDataUrl, register, vqa, type Harness } from "../testing/harness.js";
import { createTenantKeySync } from "../testing/tenants.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness();
  await register(h.app);
});
afterEach(() => h.close());

async function runs(headers: Record<string, string>, n: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: `${tag} ${i}?` } }, headers });
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  return ids;
}

describe("fair leasing", () => {
  it("a tenant that queued 20 runs first does not delay another tenant's run", async () => {
    const a = createTenantKeySync(h.store, "flood");
    const b = createTenantKeySync(h.store, "small");
    const flood = await runs(a.headers, 20, "a");
    const [mine] = await runs(b.headers, 1, "b");
    // a worker with room for 4 jobs: 2 turns each — b's run is in the first lease, not after 60 of a's jobs
    const first = await lease(h.app, "w1", 4);
    expect(first.map((j) => j.runId)).toContain(mine);
    expect(first.filter((j) => j.runId === mine).map((j) => j.stepId)).toEqual(["see", "dock"]); // a run's jobs in spec order
    expect(first.filter((j) => flood.includes(j.runId)).map((j) => j.stepId)).toEqual(["see", "dock"]); // oldest first within a tenant
  });

  it("one tenant alone is served oldest first, a run's jobs in spec order (unchanged)", async () => {
    const ids = await runs({}, 3, "x");
    const jobs = await lease(h.app, "w1", 6);
    expect(jobs.map((j) => [ids.indexOf(j.runId), j.stepId])).toEqual([
      [0, "see"],
      [0, "dock"],
      [0, "answer"],
      [1, "see"],
      [1, "dock"],
      [1, "answer"],
    ]);
  });
});
