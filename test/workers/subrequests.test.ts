/**
 * What one VQA run costs on Workers in D1 round trips (each a subrequest of the serving
 * request), per phase of the pool protocol: create, lease, results. The same app and protocol as
 * on Node (edge/app.ts on openD1Store); the D1 binding is wrapped to count its calls. Bounds are
 * loose ceilings (they catch a query added per job or per step, not a tuning change); the counts
 * are printed so the README can quote them.
 */
import { applyD1Migrations, env } from "cloudflare:test";
import type { D1Database } from "@cloudflare/workers-types";
import { beforeAll, expect, it } from "vitest";
import { openD1Store } from "../../db/d1.js";
import { wipe } from "../../db/suite/store-suite.js";
import { createApiKey } from "../../edge/auth/keys.js";
import { createApp } from "../../edge/app.js";
import { DEFAULT_TENANT } from "../../db/schema.js";
import { tinyAdvert, vqaSpec } from "../../workflows/src/fixtures.js";
import { decodeLeaseFrame, LEASE_FRAME_TYPE, LeaseFrameHeadSchema, type Job, type JobResult } from "../../workflows/index.js";

let calls = 0;
/** env.DB with every round trip to D1 counted (a prepared statement's first/all/run/raw, a batch, exec). */
function counted(db: D1Database): D1Database {
  const wrapStmt = (st: object): object =>
    new Proxy(st, {
      get(t, k, r) {
        const v = Reflect.get(t, k, r);
        if (typeof v !== "function") return v;
        if (k === "bind") return (...a: unknown[]) => wrapStmt(v.apply(t, a));
        if (k === "first" || k === "all" || k === "run" || k === "raw") return (...a: unknown[]) => (calls++, v.apply(t, a));
        return v.bind(t);
      },
    });
  return new Proxy(db, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r);
      if (typeof v !== "function") return v;
      if (k === "prepare") return (sql: string) => wrapStmt(v.call(t, sql));
      if (k === "batch" || k === "exec") return (...a: unknown[]) => (calls++, v.apply(t, a));
      return v.bind(t);
    },
  });
}

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const store = openD1Store(counted(env.DB));

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  await wipe(store);
});

it("a VQA run's create, lease and results phases each take a bounded number of D1 round trips", async () => {
  const app = createApp({ store, poolToken: "t", rateLimit: false });
  const { key } = await createApiKey(store, { tenantId: DEFAULT_TENANT, name: "subrequests" });
  const pool = { authorization: "Bearer t", "content-type": "application/json" };
  const api = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const post = async (path: string, body: unknown, headers: Record<string, string>) => {
    const before = calls;
    const res = await app.request(path, { method: "POST", headers, body: JSON.stringify(body) });
    return { res, d1: calls - before };
  };
  expect((await post("/v1/pool/register", { workerId: "w1", executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] }, pool)).res.status).toBe(
    200,
  );
  // warm: the first lease/results of a process also touch the worker row
  const counts: { create: number; lease: number; results: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const create = await post("/v1/runs", { spec: vqaSpec(), inputs: { image: `data:image/png;base64,${PNG}`, question: `how many ${i}?` } }, api);
    expect(create.res.status).toBe(202);
    // the second lease in the binary form a worker asks for (workflows/src/lease-frame.ts)
    const frame = i === 1;
    const lease = await post("/v1/pool/lease", { workerId: "w1", max: 16, waitMs: 0 }, frame ? { ...pool, accept: LEASE_FRAME_TYPE } : pool);
    let jobs: Job[];
    let images: Uint8Array[];
    if (frame) {
      expect(lease.res.headers.get("content-type")).toBe(LEASE_FRAME_TYPE);
      const f = decodeLeaseFrame(new Uint8Array(await lease.res.arrayBuffer()));
      jobs = LeaseFrameHeadSchema.parse(f.head).jobs;
      images = [...f.blobs.values()];
    } else {
      const body = (await lease.res.json()) as { jobs: Job[]; blobs: Record<string, string> };
      jobs = body.jobs;
      images = Object.values(body.blobs).map((b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
    }
    // encode + connect + decode on the first run; the memo serves encode/connect of the same image later
    expect(jobs.length).toBeGreaterThan(0);
    expect(images.map((b) => btoa(String.fromCharCode(...b)))).toEqual([PNG]); // the image rides on the lease
    const results: JobResult[] = jobs.map((j) => ({
      jobId: j.jobId,
      leaseId: j.leaseId,
      ok: true,
      output:
        j.op === "decode" || j.op === "explain"
          ? { op: "decode", text: "two", tokens: [1], tokenTexts: ["two"], logprobs: [-0.1], finishReason: "length" }
          : { op: j.op, tensor: { shape: [1, 16, 128], dtype: "float32", norm: 1, mean: 0, std: 1 } },
      receipt: {
        workerId: "w1",
        model: j.model,
        modelVersion: "0",
        modelSha256: "0",
        tokenizerSha256: "0",
        ortVersion: "1.30.0",
        executionProvider: "cpu",
        seed: 0,
        params: {},
      },
      timings: { computeMs: 1 },
      cacheHit: false,
    })) as JobResult[];
    const res = await post("/v1/pool/results", { workerId: "w1", results }, pool);
    expect(((await res.res.json()) as { accepted: string[] }).accepted).toHaveLength(jobs.length);
    counts.push({ create: create.d1, lease: lease.d1, results: res.d1 });
  }
  console.log(`D1 round trips per VQA run phase (runs 1–3): ${JSON.stringify(counts)}`);
  for (const c of counts) {
    expect(c.create).toBeLessThanOrEqual(12);
    expect(c.lease).toBeLessThanOrEqual(10);
    expect(c.results).toBeLessThanOrEqual(10);
  }
});
