/**
 * What one tenant can learn about another (issue 15, item 6), with real processes (edge +
 * gpu-worker on the fixture model, SQLite file): tenant B's first use of an image tenant A
 * already processed is a cache *miss* (the worker's encoder cache is partitioned by tenant), while
 * A's own reuse still hits; `/metrics` (every tenant's totals) answers only the admin key.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referencePngs } from "../../gpu-worker/src/testing/fixture.js";
import { freePort } from "../helpers/net.js";
import { ADMIN_KEY, api, DEV_KEY, startEdge, startWorker, tempDir, until, vqaSpec, type Edge, type Proc } from "../faults/procs.js";

const tmp = tempDir("privacy-");
let edge: Edge;
let worker: Proc;
let keyB = "";
const image = `data:image/png;base64,${referencePngs.b!.toString("base64")}`;

beforeAll(async () => {
  edge = await startEdge(tmp.dir, await freePort());
  worker = startWorker(edge.url, "w-privacy");
  await until("the worker to register", async () => (await api(edge.url, "/v1/models")).body.models?.length > 0, 60_000);
  const made = await api(edge.url, "/v1/admin/keys", { tenantId: "tenant-b", name: "b" }, { authorization: `Bearer ${ADMIN_KEY}` });
  expect(made.status).toBe(201);
  keyB = made.body.key;
}, 90_000);

afterAll(async () => {
  await worker?.kill();
  await edge?.kill();
  tmp.remove();
});

async function finished(id: string, key: string) {
  return until(`run ${id}`, async () => {
    const r = await api(edge.url, `/v1/runs/${id}`, undefined, { authorization: `Bearer ${key}` });
    return r.body.status === "succeeded" ? r.body : r.body.status === "failed" ? Promise.reject(new Error(JSON.stringify(r.body))) : undefined;
  });
}

async function run(key: string, question: string) {
  const r = await api(edge.url, "/v1/runs", { spec: vqaSpec(), inputs: { image, question } }, { authorization: `Bearer ${key}` });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return finished(r.body.id, key);
}

const hits = (run: { steps: { id: string; status: string; cacheHit: boolean | null }[] }) => Object.fromEntries(run.steps.map((s) => [s.id, s.cacheHit]));

describe("tenant privacy", () => {
  it("B's first use of an image A processed is a miss; A's own reuse hits", async () => {
    await run(DEV_KEY, "what color is the circle?");
    // A again, another question: encode/connect are memoized, the decode's spans hit the worker cache
    const again = await run(DEV_KEY, "what shape is it?");
    expect(hits(again).answer).toBe(true);
    // B, the same image: nothing B did before, so nothing may say "hit"
    const b = await run(keyB, "what color is the circle?");
    expect(b.steps.map((s: { status: string }) => s.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    // (its decode may hit: B's own encode/connect steps of this run computed the spans first)
    expect(hits(b)).toMatchObject({ see: false, dock: false });
    // and B's own reuse hits in B's partition
    const b2 = await run(keyB, "what shape is it?");
    expect(hits(b2).answer).toBe(true);
  }, 90_000);

  it("/metrics answers the admin key only", async () => {
    const asTenant = await api(edge.url, "/metrics", undefined, { authorization: `Bearer ${keyB}` });
    expect(asTenant.status).toBe(403);
    expect(asTenant.body.error.code).toBe("admin_only");
    expect((await api(edge.url, "/metrics", undefined, { authorization: "" })).status).toBe(401);
    const asAdmin = await api(edge.url, "/metrics", undefined, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(asAdmin.status).toBe(200);
    expect(String(asAdmin.body)).toContain("metalm_runs");
  });
});
