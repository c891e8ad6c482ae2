/**
 * ONE database suite, run against every driver: better-sqlite3 in Node (db/suite/sqlite.test.ts)
 * and D1 inside workerd (test/workers/d1.test.ts, `npm run test:workers`). It checks what the
 * engine relies on from a `Store` — the D1-safe write rules (atomic `batch`, ≤ 100 bound
 * parameters, guards that roll a whole batch back) and how each driver reports constraint errors —
 * then drives the real app (engine + pool protocol + history) on top of it.
 *
 * Each driver passes a skip list: test name → the reason it does not apply to that driver. A
 * reason is required, so a skip is a documented difference, never a silent gap. Every test makes
 * its own state (`fresh()` returns an empty, migrated database).
 *
 * @example
 * defineStoreSuite("d1", { fresh: async () => { await wipe(store); return store; }, skip: D1_SKIPS });
 */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createApp, type EdgeApp } from "../../edge/app.js";
import { createApiKey } from "../../edge/auth/keys.js";
import type { AppDeps } from "../../edge/context.js";
import { defaultKey } from "../../edge/testing/tenants.js";
import { claimGuard, isJobConflict, isRevConflict, jobGuard, revGuard } from "../../edge/engine/commit.js";
import { tinyAdvert, vqaSpec } from "../../workflows/src/fixtures.js";
import type { Job, JobResult, StepOutput } from "../../workflows/index.js";
import { errorMentions, type Store } from "../driver.js";
import { queries } from "../queries.js";
import { blobs, jobs, runEvents, runs, steps } from "../schema.js";

export interface SuiteOptions {
  /** An empty database with every migration applied, as the driver's `Store`. */
  fresh(): Promise<Store>;
  /** Test name → why it does not apply to this driver. */
  skip?: Readonly<Record<string, string>>;
}

/** Delete every row of every app table (for drivers whose database outlives a test, like a D1 binding). */
export async function wipe(store: Store): Promise<void> {
  const rows = (await store.db.all(
    sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT IN ('d1_migrations', '__drizzle_migrations')`,
  )) as { name: string }[];
  await store.batch(rows.map((r) => store.db.run(sql.raw(`DELETE FROM "${r.name.replace(/"/g, '""')}"`))));
}

const POOL_TOKEN = "suite-pool-token";
const AUTH = { authorization: `Bearer ${POOL_TOKEN}` };
const PNG_1PX = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="), (c) =>
  c.charCodeAt(0),
);
const b64 = (u: Uint8Array) => btoa(String.fromCharCode(...u));

const runRow = (id: string, extra: Partial<typeof runs.$inferInsert> = {}) => ({
  id,
  spec: { inputs: {}, steps: [], outputs: {} } as never,
  inputs: {},
  catalog: {},
  status: "queued" as const,
  createdAt: 1,
  updatedAt: 1,
  ...extra,
});

const jobRow = (id: string, extra: Partial<typeof jobs.$inferInsert> = {}) => ({
  id,
  runId: "r1",
  stepId: id,
  stepIdx: 0,
  model: "m",
  op: "encode",
  payload: {} as never,
  status: "queued" as const,
  maxAttempts: 3,
  backoffMs: 0,
  timeoutMs: 1000,
  availableAt: 0,
  createdAt: 0,
  updatedAt: 0,
  ...extra,
});

async function call(app: EdgeApp, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit =
    body === undefined ? { headers } : { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
  const res = await app.request(path, init);
  const text = await res.text();
  return { status: res.status, text, body: (text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined) as any };
}

function output(job: Job): StepOutput {
  switch (job.op) {
    case "encode":
    case "connect":
      return { op: job.op, tensor: { shape: [1, 16, 128], dtype: "float32", norm: 1, mean: 0, std: 1 } };
    case "decode":
      return { op: "decode", text: "red", tokens: [5], tokenTexts: ["red"], logprobs: [-0.1], finishReason: "eos" };
    case "explain":
      return {
        op: "explain",
        label: "entailment",
        scores: { entailment: -0.1, contradiction: -3, neutral: -2 },
        explanation: "because",
        text: "entailment because",
        tokens: [7],
        logprobs: [-0.2],
      };
  }
}

const ok = (job: Job, workerId: string): JobResult => ({
  jobId: job.jobId,
  leaseId: job.leaseId,
  ok: true,
  output: output(job),
  receipt: {
    workerId,
    model: job.model,
    modelVersion: "0.1.0",
    modelSha256: tinyAdvert.sha256,
    tokenizerSha256: "b".repeat(64),
    ortVersion: "1.30.0",
    executionProvider: "cpu",
    seed: 0,
    params: {},
  },
  timings: { computeMs: 3 },
  cacheHit: false,
});

export function defineStoreSuite(driver: string, opts: SuiteOptions): void {
  const skip = opts.skip ?? {};
  const test = (name: string, fn: (store: Store) => Promise<void>) => {
    const why = skip[name];
    if (why !== undefined) {
      if (!why.trim()) throw new Error(`skip of "${name}" on ${driver} needs a reason`);
      it.skip(`${name} — skipped on ${driver}: ${why}`, () => {});
      return;
    }
    it(name, async () => fn(await opts.fresh()));
  };

  describe(`Store on ${driver}`, () => {
    test("migrations created every table of the schema", async (store) => {
      const rows = (await store.db.all(sql`SELECT name FROM sqlite_master WHERE type = 'table'`)) as { name: string }[];
      const names = rows.map((r) => r.name);
      for (const t of ["runs", "steps", "jobs", "run_events", "blobs", "workers", "workflows"]) expect(names).toContain(t);
      expect(await store.ping()).toBe(true);
    });

    test("the database runs in WAL mode with a busy timeout", async (store) => {
      const mode = (await store.db.all(sql`PRAGMA journal_mode`)) as { journal_mode: string }[];
      expect(["wal", "memory"]).toContain(mode[0]!.journal_mode); // ":memory:" databases cannot use WAL
      const bt = (await store.db.all(sql`PRAGMA busy_timeout`)) as Record<string, number>[];
      expect(Object.values(bt[0]!)[0]).toBeGreaterThan(0);
    });

    test("wrangler recorded the applied migrations in d1_migrations", async (store) => {
      const rows = (await store.db.all(sql`SELECT name FROM d1_migrations ORDER BY id`)) as { name: string }[];
      expect(rows.map((r) => r.name)).toContain("0000_init.sql");
    });

    test("defaults and JSON columns round-trip", async (store) => {
      await store.batch([store.db.insert(runs).values(runRow("r1", { tags: ["a", "b"], outputs: { answer: "red", n: 1.5 } }))]);
      const [r] = await store.db.select().from(runs).where(eq(runs.id, "r1"));
      expect(r!.tenantId).toBe("local");
      expect(r!.rev).toBe(0);
      expect(r!.tags).toEqual(["a", "b"]);
      expect(r!.outputs).toEqual({ answer: "red", n: 1.5 });
      expect(r!.spec).toEqual({ inputs: {}, steps: [], outputs: {} });
    });

    test("blob bytes round-trip exactly", async (store) => {
      const bytes = new Uint8Array(4096).map((_, i) => (i * 7) & 255);
      await store.batch([
        store.db.insert(blobs).values({ sha256: "f".repeat(64), mime: "image/png", size: bytes.length, data: Buffer.from(bytes), createdAt: 1 }),
      ]);
      const [row] = await store.db.select().from(blobs);
      expect(new Uint8Array(row!.data)).toEqual(bytes);
    });

    test("batch is all or nothing", async (store) => {
      await expect(store.batch([store.db.insert(runs).values(runRow("r1")), store.db.insert(runs).values(runRow("r1"))])).rejects.toThrow();
      expect(await store.db.select().from(runs)).toHaveLength(0);
    });

    test("a statement with 96 bound parameters (16 events) is accepted", async (store) => {
      const rows = Array.from({ length: 16 }, (_, i) => ({
        runId: "r1",
        type: "token" as const,
        data: { index: i, id: i, text: `t${i}`, logprob: 0 },
        createdAt: i,
      }));
      await store.batch([store.db.insert(runEvents).values(rows)]);
      const got = await store.db.select().from(runEvents).orderBy(runEvents.id);
      expect(got.map((e) => e.data)).toEqual(rows.map((r) => r.data));
      // ids are assigned in insertion order (the SSE cursor relies on it)
      expect(got.every((e, i) => i === 0 || e.id > got[i - 1]!.id)).toBe(true);
    });

    test("a statement with 101 bound parameters is refused (the engine stays at ≤ 100)", async (store) => {
      const args = Array.from({ length: 101 }, (_, i) => sql`${i}`);
      // better-sqlite3 would throw synchronously, D1 rejects: catch both
      const err = await Promise.resolve()
        .then(() => store.db.all(sql`SELECT json_array(${sql.join(args, sql`, `)}) AS a`))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(errorMentions(err, "too many SQL variables"), String(err)).toBe(true);
    });

    test("the rev guard rolls back a commit computed from a stale snapshot", async (store) => {
      await store.batch([store.db.insert(runs).values(runRow("r1"))]);
      const ev = (stepId: string) =>
        store.db.insert(runEvents).values({ runId: "r1", type: "step.canceled", stepId, data: { status: "canceled" }, createdAt: 1 });
      await store.batch([revGuard("r1", 0, 2), ev("first")]);
      const stale = store.batch([revGuard("r1", 0, 3), ev("stale")]);
      await expect(stale).rejects.toSatisfy(isRevConflict);
      const [r] = await store.db.select().from(runs).where(eq(runs.id, "r1"));
      expect(r!.rev).toBe(1);
      expect((await store.db.select().from(runEvents)).map((e) => e.stepId)).toEqual(["first"]);
    });

    test("the job guard applies an outcome only under the current lease", async (store) => {
      await store.batch([store.db.insert(jobs).values(jobRow("j1", { status: "leased", leaseId: "L1" }))]);
      await expect(store.batch([jobGuard("j1", "L0", { status: "done" })])).rejects.toSatisfy(isJobConflict);
      await store.batch([jobGuard("j1", "L1", { status: "done" })]);
      expect((await store.db.select().from(jobs))[0]!.status).toBe("done");
      await expect(store.batch([jobGuard("j1", "L1", { status: "done" })])).rejects.toSatisfy(isJobConflict);
    });

    test("the claim guard leases a queued job once: a second claim of the same attempt fails the whole batch", async (store) => {
      await store.batch([store.db.insert(jobs).values(jobRow("j1", { status: "queued", attempts: 0 }))]);
      const claim = (worker: string) => ({ leaseId: `L-${worker}`, leasedBy: worker, leasedAt: 10, leaseExpiresAt: 1010, deadlineAt: 5010, attempts: 1 });
      await store.batch([claimGuard("j1", 0, claim("a"), 10)]);
      // b read the job while it was queued (attempts 0): its claim and everything batched with it roll back
      await expect(
        store.batch([
          claimGuard("j1", 0, claim("b"), 11),
          store.db.insert(runEvents).values({ runId: "r1", type: "step.canceled", stepId: "lost", data: { status: "canceled" }, createdAt: 1 }),
        ]),
      ).rejects.toSatisfy(isJobConflict);
      const [j] = await store.db.select().from(jobs);
      expect(j).toMatchObject({ status: "leased", leaseId: "L-a", leasedBy: "a", attempts: 1, deadlineAt: 5010 });
      expect(await store.db.select().from(runEvents)).toEqual([]);
    });

    test("a duplicate idempotency key is reported as runs.idempotency_key", async (store) => {
      await store.batch([store.db.insert(runs).values(runRow("r1", { idempotencyKey: "k" }))]);
      const err = await store.batch([store.db.insert(runs).values(runRow("r2", { idempotencyKey: "k" }))]).catch((e: unknown) => e);
      expect(errorMentions(err, "runs.idempotency_key"), String(err)).toBe(true);
    });

    test("UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING claims each row once", async (store) => {
      await store.batch([store.db.insert(jobs).values([1, 2, 3, 4, 5].map((i) => jobRow(`j${i}`, { stepIdx: i })))]);
      const claim = (by: string) =>
        store.db
          .update(jobs)
          .set({ status: "leased", leasedBy: by, leaseId: sql`lower(hex(randomblob(12)))` })
          .where(
            sql`${jobs.id} IN (${store.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.status, "queued")).orderBy(jobs.stepIdx).limit(2)}) AND ${jobs.status} = 'queued'`,
          )
          .returning();
      const [a, b, c] = await Promise.all([claim("a"), claim("b"), claim("c")]);
      const ids = [...a, ...b, ...c].map((j) => j.id).sort();
      expect(ids).toEqual(["j1", "j2", "j3", "j4", "j5"]);
      expect(new Set(ids).size).toBe(5);
      expect(a.every((j) => /^[0-9a-f]{24}$/.test(j.leaseId!))).toBe(true);
    });

    test("prepared queries are reusable", async (store) => {
      await store.batch([store.db.insert(runs).values([runRow("r1"), runRow("r2", { idempotencyKey: "k2" })])]);
      const q = queries(store);
      expect((await q.runById.all({ id: "r1" }))[0]?.id).toBe("r1");
      expect((await q.runById.all({ id: "r2" }))[0]?.id).toBe("r2");
      expect((await q.runByIdempotencyKey.all({ tenantId: "local", key: "k2" }))[0]?.id).toBe("r2");
      expect(await q.jobById.all({ id: "nope" })).toEqual([]);
    });
  });

  describe(`the edge app on ${driver}`, () => {
    /** The real app; client calls without a credential act as a fresh tenant's API key. */
    const app = async (store: Store, deps: Partial<AppDeps> = {}) => {
      const { key } = await createApiKey(store, { tenantId: "suite", name: "suite" });
      return defaultKey(createApp({ store, poolToken: POOL_TOKEN, leaseMs: 5_000, rateLimit: false, ...deps }), key);
    };
    const register = (a: EdgeApp, workerId: string) =>
      call(a, "/v1/pool/register", { workerId, executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] }, AUTH);
    const lease = async (a: EdgeApp, workerId: string, waitMs = 0): Promise<Job[]> => {
      const r = await call(a, "/v1/pool/lease", { workerId, max: 16, waitMs }, AUTH);
      expect(r.status, r.text).toBe(200);
      return r.body.jobs;
    };

    test("a VQA-then-explain run: create, lease, results, history, SSE", async (store) => {
      const a = await app(store);
      expect((await register(a, "w1")).status).toBe(200);
      const created = await call(a, "/v1/runs", { spec: vqaSpec(), inputs: { image: `data:image/png;base64,${b64(PNG_1PX)}` }, tags: ["suite"] });
      expect(created.status, created.text).toBe(202);
      const id = created.body.id as string;
      // tensor deps are not waited for: encode, connect and decode lease together; explain waits for the answer
      for (let round = 0; round < 4; round++) {
        const jobs = await lease(a, "w1");
        if (!jobs.length) break;
        const blob = jobs.find((j) => j.op === "encode");
        if (blob && blob.op === "encode" && blob.recipe.image) {
          const res = await a.request(`/v1/pool/blobs/${blob.recipe.image.sha256}`, { headers: AUTH });
          expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG_1PX);
        }
        const r = await call(a, "/v1/pool/results", { workerId: "w1", results: jobs.map((j) => ok(j, "w1")) }, AUTH);
        expect(r.body.accepted).toHaveLength(jobs.length);
      }
      const run = await call(a, `/v1/runs/${id}`);
      expect(run.body.status, run.text).toBe("succeeded");
      expect(run.body.outputs.answer).toBe("red");
      const list = await call(a, "/v1/runs?tag=suite");
      expect(list.body.runs.map((r: { id: string }) => r.id)).toEqual([id]);
      expect(list.body.counts.succeeded).toBe(1);
      const sse = await a.request(`/v1/runs/${id}/events`);
      const text = await sse.text();
      expect(text).toContain("event: run.created");
      expect(text).toContain("event: run.completed");
    });

    test("a result for a lease that expired and was re-leased is ignored", async (store) => {
      let now = 1_000_000;
      const a = await app(store, { leaseMs: 1_000, now: () => now });
      await register(a, "w1");
      await register(a, "w2");
      const created = await call(a, "/v1/runs", { spec: vqaSpec(), inputs: { image: b64(PNG_1PX) } });
      expect(created.status, created.text).toBe(202);
      const first = await lease(a, "w1");
      expect(first.length).toBeGreaterThan(0);
      now += 5_000; // w1 stops heartbeating: w2's lease call sweeps, re-queuing with backoff
      expect(await lease(a, "w2")).toEqual([]);
      now += 60_000; // past the longest backoff
      const again = await lease(a, "w2");
      expect(again.map((j) => j.jobId).sort()).toEqual(first.map((j) => j.jobId).sort());
      const late = await call(a, "/v1/pool/results", { workerId: "w1", results: first.map((j) => ok(j, "w1")) }, AUTH);
      expect(late.body.ignored).toHaveLength(first.length);
      const fresh = await call(a, "/v1/pool/results", { workerId: "w2", results: again.map((j) => ok(j, "w2")) }, AUTH);
      expect(fresh.body.accepted).toHaveLength(again.length);
    });

    test("cancel withdraws the jobs; the holder hears it at its heartbeat and its result is ignored", async (store) => {
      const a = await app(store);
      await register(a, "w1");
      const created = await call(a, "/v1/runs", { spec: vqaSpec(), inputs: { image: b64(PNG_1PX) } });
      const jobs = await lease(a, "w1");
      expect(jobs.length).toBe(3);
      const canceled = await call(a, `/v1/runs/${created.body.id}/cancel`, {});
      expect(canceled.status, canceled.text).toBe(200);
      expect(canceled.body.status).toBe("canceled");
      const hb = await call(a, "/v1/pool/heartbeat", { workerId: "w1", jobIds: jobs.map((j) => j.jobId) }, AUTH);
      expect(hb.body.cancel.sort()).toEqual(jobs.map((j) => j.jobId).sort());
      const late = await call(a, "/v1/pool/results", { workerId: "w1", results: jobs.map((j) => ok(j, "w1")) }, AUTH);
      expect(late.body.ignored).toHaveLength(jobs.length);
      expect((await call(a, `/v1/runs/${created.body.id}`)).body.status).toBe("canceled");
    });

    test("an identical second run is served from the memo: every step cached, no job", async (store) => {
      const a = await app(store);
      await register(a, "w1");
      const body = { spec: vqaSpec(), inputs: { image: b64(PNG_1PX) } };
      const first = await call(a, "/v1/runs", body);
      for (let round = 0; round < 4; round++) {
        const jobs = await lease(a, "w1");
        if (!jobs.length) break;
        await call(a, "/v1/pool/results", { workerId: "w1", results: jobs.map((j) => ok(j, "w1")) }, AUTH);
      }
      expect((await call(a, `/v1/runs/${first.body.id}`)).body.status).toBe("succeeded");
      const second = await call(a, "/v1/runs", body);
      expect(second.status, second.text).toBe(200);
      expect(second.body.status).toBe("succeeded");
      expect(second.body.steps.map((s: { status: string }) => s.status)).toEqual(["cached", "cached", "cached", "cached"]);
      expect(await lease(a, "w1")).toEqual([]);
    });

    test("memoByKeys: per key the first succeeded step of the tenant, one row however many", async (store) => {
      await store.batch([store.db.insert(runs).values([runRow("r1"), runRow("r2"), runRow("r3", { tenantId: "other" })])]);
      const out = (text: string) => ({ kind: "decode", text, tokens: [1], logprobs: [-0.1], finishReason: "stop" }) as never;
      const step = (runId: string, stepId: string, idx: number, extra: Partial<typeof steps.$inferInsert>) => ({
        runId,
        stepId,
        idx,
        op: "decode",
        status: "succeeded" as const,
        valueDeps: [],
        tensorDeps: [],
        maxAttempts: 1,
        backoffMs: 0,
        timeoutMs: 1000,
        ...extra,
      });
      await store.batch([
        store.db
          .insert(steps)
          .values([
            step("r1", "a", 0, { cacheKey: "k1", output: out("first") }),
            step("r1", "b", 1, { cacheKey: "k2", status: "failed" }),
            step("r2", "a", 0, { cacheKey: "k1", output: out("second") }),
            step("r2", "b", 1, { cacheKey: "k2", output: out("k2") }),
            step("r3", "a", 0, { cacheKey: "k3", output: out("other tenant"), tenantId: "other" }),
          ]),
      ]);
      const q = queries(store).memoByKeys;
      const rows = await q.all({ tenantId: "local", keys: JSON.stringify(["k1", "k2", "k3", "none"]) });
      const byKey = Object.fromEntries(rows.map((r) => [r.cacheKey, `${r.runId}/${r.stepId} ${(r.output as { text: string }).text}`]));
      expect(rows).toHaveLength(2);
      expect(byKey).toEqual({ k1: "r1/a first", k2: "r2/b k2" });
      expect(await q.all({ tenantId: "other", keys: JSON.stringify(["k3"]) })).toHaveLength(1);
      expect(await q.all({ tenantId: "local", keys: "[]" })).toEqual([]);
    });

    test("concurrent lease calls never hand one job to two workers", async (store) => {
      const a = await app(store);
      for (const w of ["w1", "w2", "w3"]) await register(a, w);
      for (let i = 0; i < 3; i++) {
        const r = await call(a, "/v1/runs", { spec: vqaSpec(), inputs: { image: b64(PNG_1PX), question: `q${i}` } });
        expect(r.status, r.text).toBe(202);
      }
      const got = await Promise.all(["w1", "w2", "w3"].map((w) => lease(a, w)));
      const ids = got.flat().map((j) => j.jobId);
      expect(ids.length).toBe(9); // 3 runs × (encode, connect, decode)
      expect(new Set(ids).size).toBe(ids.length);
    });
  });
}
