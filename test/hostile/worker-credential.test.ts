/**
 * A real gpu-worker process authenticating with a worker credential (issue 15, item 3): its runs
 * finish with receipts naming the credential; once the credential is revoked, the worker is shut
 * out (401) and a new run is not picked up by it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/net.js";
import { ADMIN_KEY, api, sleep, startEdge, startWorker, tempDir, until, vqaSpec, type Edge, type Proc } from "../faults/procs.js";
import { referencePngs } from "../../gpu-worker/src/testing/fixture.js";

const tmp = tempDir("cred-");
let edge: Edge;
let worker: Proc;
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const image = `data:image/png;base64,${referencePngs.a!.toString("base64")}`;

beforeAll(async () => {
  edge = await startEdge(tmp.dir, await freePort());
}, 90_000);

afterAll(async () => {
  await worker?.kill();
  await edge?.kill();
  tmp.remove();
});

describe("a worker on its own credential", () => {
  it("runs jobs under it, and is shut out when it is revoked", async () => {
    const cred = await api(edge.url, "/v1/admin/worker-credentials", { name: "gpu-box", tenants: ["local"] }, admin);
    expect(cred.status).toBe(201);
    worker = startWorker(edge.url, "w-cred", { POOL_TOKEN: cred.body.token });
    await until("the worker to register", async () => (await api(edge.url, "/v1/models")).body.models?.length > 0, 60_000);

    const r = await api(edge.url, "/v1/runs", { spec: vqaSpec(), inputs: { image } });
    expect(r.status).toBe(202);
    const done = await until("the run", async () => {
      const v = await api(edge.url, `/v1/runs/${r.body.id}`);
      return v.body.status === "succeeded" ? v.body : undefined;
    });
    for (const s of done.steps) expect(s.receipt).toMatchObject({ workerId: "w-cred", credentialId: cred.body.id });

    expect((await api(edge.url, `/v1/admin/worker-credentials/${cred.body.id}`, undefined, admin)).status).toBe(404); // GET by id is not a route
    const del = await fetch(`${edge.url}/v1/admin/worker-credentials/${cred.body.id}`, { method: "DELETE", headers: admin });
    expect(del.status).toBe(200);
    const after = await api(edge.url, "/v1/runs", { spec: vqaSpec(), inputs: { image, question: "after revocation?" } });
    expect(after.status).toBe(202);
    await sleep(4000); // several lease rounds (LEASE_WAIT_MS 1 s)
    // (the image's encode/connect are memoized from the first run: the decode is what needs a worker)
    const steps = (await api(edge.url, `/v1/runs/${after.body.id}`)).body.steps as { id: string; status: string; workerId: string | null }[];
    expect(Object.fromEntries(steps.map((s) => [s.id, s.status]))).toEqual({ see: "cached", dock: "cached", answer: "queued" });
    expect(worker.output()).toMatch(/401|unauthorized/i);
  }, 120_000);
});
