/**
 * Worker credentials (issue 15, item 3), through `app.request` on a real SQLite file: made and
 * revoked with the admin key, limited to tenants and models, worker ids owned by their
 * credential, results only from the lease holder, receipts naming the credential — and the
 * shared POOL_TOKEN still working as the local default.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tinyAdvert } from "../../workflows/src/fixtures.js";
import { ADMIN_AUTH, AUTH, call, makeHarness, okResult, PNG_1PX, pngDataUrl, TEST_ADMIN_KEY, vqa, type Harness } from "../testing/harness.js";
import { createTenantKeySync } from "../testing/tenants.js";

let h: Harness;
beforeEach(() => (h = makeHarness({ adminKey: TEST_ADMIN_KEY })));
afterEach(() => h.close());

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function credential(body: Record<string, unknown> = {}) {
  const r = await call(h.app, "/v1/admin/worker-credentials", { body, headers: ADMIN_AUTH });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  expect(r.body.token).toMatch(/^mlw_/);
  return r.body as { id: string; token: string };
}

const register = (token: string, workerId: string, models = [tinyAdvert]) =>
  call(h.app, "/v1/pool/register", { body: { workerId, executionProvider: "cpu", ortVersion: "1.30.0", models }, headers: bearer(token) });
const lease = (token: string, workerId: string) => call(h.app, "/v1/pool/lease", { body: { workerId, max: 64, waitMs: 0 }, headers: bearer(token) });
const results = (token: string, workerId: string, body: unknown[]) =>
  call(h.app, "/v1/pool/results", { body: { workerId, results: body }, headers: bearer(token) });

async function runFor(headers: Record<string, string>, question = "q?") {
  const r = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question } }, headers });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.id as string;
}

describe("worker credentials", () => {
  it("only the admin key manages them; tokens are shown once and never listed", async () => {
    expect((await call(h.app, "/v1/admin/worker-credentials", { body: {} })).status).toBe(401); // a tenant key
    const c = await credential({ name: "gpu-a", tenants: ["acme"], models: ["metalm-tiny"] });
    const list = await call(h.app, "/v1/admin/worker-credentials", { headers: ADMIN_AUTH });
    expect(list.body.credentials).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(c.token);
    expect(list.body.credentials[0]).toMatchObject({ id: c.id, name: "gpu-a", tenants: ["acme"], models: ["metalm-tiny"], revokedAt: null });
    const bad = await call(h.app, "/v1/admin/worker-credentials", { body: { tenants: ["no spaces"] }, headers: ADMIN_AUTH });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].field).toBe("tenants.0");
  });

  it("a revoked credential gets 401 on every pool call", async () => {
    const c = await credential();
    expect((await register(c.token, "w-rev")).status).toBe(200);
    expect((await call(h.app, `/v1/admin/worker-credentials/${c.id}`, { method: "DELETE", headers: ADMIN_AUTH })).body.revokedAt).toBeTypeOf("number");
    for (const r of [await register(c.token, "w-rev"), await lease(c.token, "w-rev"), await results(c.token, "w-rev", [])]) {
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthorized");
    }
    expect((await call(h.app, "/v1/admin/worker-credentials/wc_nope", { method: "DELETE", headers: ADMIN_AUTH })).status).toBe(404);
  });

  it("a lease long-poll that began before a revocation hands out nothing after it", async () => {
    const c = await credential();
    await register(c.token, "gpu-lp");
    const pending = call(h.app, "/v1/pool/lease", { body: { workerId: "gpu-lp", max: 8, waitMs: 1500 }, headers: bearer(c.token) });
    await new Promise((r) => setTimeout(r, 100));
    await call(h.app, `/v1/admin/worker-credentials/${c.id}`, { method: "DELETE", headers: ADMIN_AUTH });
    await runFor({}); // wakes the long-poll
    expect((await pending).body.jobs).toEqual([]);
  });

  it("a worker id belongs to its credential: no takeover, no use of another's id, no empty id", async () => {
    const a = await credential({ name: "a" });
    const b = await credential({ name: "b" });
    expect((await register(a.token, "gpu-1")).status).toBe(200);
    const takeover = await register(b.token, "gpu-1", []);
    expect(takeover.status).toBe(409);
    expect(takeover.body.error.code).toBe("worker_id_taken");
    // the shared pool token is a credential too: it cannot take over a's id either
    expect(
      (await call(h.app, "/v1/pool/register", { body: { workerId: "gpu-1", executionProvider: "cpu", ortVersion: "x", models: [] }, headers: AUTH })).status,
    ).toBe(409);
    // a's model list is untouched: a's worker still leases a run's jobs
    await runFor({});
    expect((await lease(b.token, "gpu-1")).status).toBe(403);
    expect((await lease(b.token, "gpu-1")).body.error.code).toBe("worker_not_yours");
    expect((await lease(a.token, "gpu-1")).body.jobs.length).toBeGreaterThan(0);
    for (const id of ["", " ", "a b", "tab\t"]) {
      const r = await register(a.token, id);
      expect(r.status, JSON.stringify(id)).toBe(400);
      expect(r.body.error.details.field ?? r.body.error.details.issues?.[0]?.field).toBe("workerId");
    }
  });

  it("results only from the lease holder; receipts record the credential and the worker the edge saw", async () => {
    const a = await credential({ name: "a" });
    const b = await credential({ name: "b" });
    await register(a.token, "gpu-a");
    await register(b.token, "gpu-b");
    const runId = await runFor({});
    const jobs = (await lease(a.token, "gpu-a")).body.jobs as Parameters<typeof okResult>[0][];
    expect(jobs.length).toBeGreaterThan(0);
    // b forges a's results, under its own id and under a's
    const forged = jobs.map((j) => okResult(j, "forger", "FORGED ANSWER"));
    expect((await results(b.token, "gpu-b", forged)).body).toEqual({ accepted: [], ignored: jobs.map((j) => j.jobId) });
    expect((await results(b.token, "gpu-a", forged)).status).toBe(403);
    // the holder's results, with a lying receipt: the stored receipt says who really sent it
    const honest = await results(
      a.token,
      "gpu-a",
      jobs.map((j) => okResult(j, "someone-else", "red")),
    );
    expect(honest.body.accepted).toHaveLength(jobs.length);
    const run = await call(h.app, `/v1/runs/${runId}`);
    const done = run.body.steps.filter((s: { status: string }) => s.status === "succeeded");
    expect(done.length).toBe(jobs.length);
    for (const s of done) expect(s.receipt).toMatchObject({ workerId: "gpu-a", credentialId: a.id });
    expect(JSON.stringify(run.body)).not.toContain("FORGED");
  });

  it("limited to tenants and models: leases only those tenants' jobs, reads only their images, registers only those models", async () => {
    const acme = createTenantKeySync(h.store, "acme");
    const other = createTenantKeySync(h.store, "other");
    const c = await credential({ tenants: ["acme"], models: ["metalm-tiny"] });
    const banned = await register(c.token, "gpu-acme", [tinyAdvert, { ...tinyAdvert, name: "secret-model" }]);
    expect(banned.status).toBe(403);
    expect(banned.body.error).toMatchObject({ code: "model_not_allowed", details: { field: "models.1.name" } });
    expect((await register(c.token, "gpu-acme")).status).toBe(200);

    const otherRun = await runFor(other.headers, "other's question");
    const acmeRun = await runFor(acme.headers, "acme's question");
    const leased = (await lease(c.token, "gpu-acme")).body.jobs as { runId: string }[];
    expect(leased.length).toBeGreaterThan(0);
    expect(new Set(leased.map((j) => j.runId))).toEqual(new Set([acmeRun]));
    expect(leased.map((j) => j.runId)).not.toContain(otherRun);

    // images: the same bytes stored by "other" only are not readable; acme's are
    const sha = (await call(h.app, `/v1/runs/${acmeRun}`, { headers: acme.headers })).body.inputs.image.sha256 as string;
    expect((await h.app.request(`/v1/pool/blobs/${sha}`, { headers: bearer(c.token) })).status).toBe(200);
    const onlyOther = Buffer.from(PNG_1PX);
    onlyOther[onlyOther.length - 5]! ^= 1; // a different (still PNG-headed) blob
    const stored = await call(h.app, "/v1/runs", {
      body: { spec: vqa(), inputs: { image: `data:image/png;base64,${onlyOther.toString("base64")}` } },
      headers: other.headers,
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(202);
    const otherSha = stored.body.inputs.image.sha256 as string;
    expect(otherSha).not.toBe(sha);
    expect((await h.app.request(`/v1/pool/blobs/${otherSha}`, { headers: bearer(c.token) })).status).toBe(404);
    expect((await h.app.request(`/v1/pool/blobs/${otherSha}`, { headers: AUTH })).status).toBe(200); // the unlimited pool token
  });

  it("the shared POOL_TOKEN keeps working as the unlimited local default", async () => {
    expect(
      (
        await call(h.app, "/v1/pool/register", {
          body: { workerId: "local-1", executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] },
          headers: AUTH,
        })
      ).status,
    ).toBe(200);
    await runFor({});
    const jobs = await call(h.app, "/v1/pool/lease", { body: { workerId: "local-1", max: 8, waitMs: 0 }, headers: AUTH });
    expect(jobs.body.jobs.length).toBeGreaterThan(0);
    const r = await call(h.app, "/v1/pool/results", {
      body: { workerId: "local-1", results: jobs.body.jobs.map((j: never) => okResult(j, "local-1")) },
      headers: AUTH,
    });
    expect(r.body.accepted.length).toBe(jobs.body.jobs.length);
  });
});
