/**
 * Worker processes (real child processes via the pool launcher) against an in-process edge that
 * speaks the pool protocol: results with receipts and progress, /healthz + /metrics, a worker
 * SIGKILLed mid-job (its job is re-leased and finished by another), cancel, graceful SIGTERM.
 */
import type { ChildProcess } from "node:child_process";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../../workflows/index.js";
import { sha256Hex } from "../../../workflows/index.js";
import { FakeEdge } from "../testing/fake-edge.js";
import { FIXTURE_DIR, referencePngs } from "../testing/fixture.js";
import { readFileSync } from "node:fs";
import { startSupervisor, workerNodeFlags, type Supervisor } from "./supervisor.js";

const MODEL = "metalm-tiny-fixture";
const imageA = sha256Hex(referencePngs.a!);
let edge: FakeEdge;
let pool: Supervisor;
const ports = new Map<number, number>();
let n = 0;
const job = (extra: Partial<Job> & Pick<Job, "op">): Omit<Job, "leaseId"> =>
  ({ jobId: `job-${++n}`, runId: "run-1", stepId: `s${n}`, attempt: 1, deadlineAt: Date.now() + 60_000, model: MODEL, ...extra }) as Omit<Job, "leaseId">;
const vqa = { kind: "span" as const, recipe: { connector: "vision", source: { model: MODEL, encoder: "vision", image: { sha256: imageA } } } };
const params = { maxTokens: 8, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] };
const until = async (cond: () => boolean | Promise<boolean>, ms = 15_000, what = "") => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting${what ? ` for ${what}` : ""} (${ms} ms)`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
/** Jobs worker `slot` finished and then dropped because the edge said their lease was lost (its /metrics). */
const lostJobs = async (slot: number) => {
  const text = await fetch(`http://127.0.0.1:${ports.get(slot)}/metrics`).then((r) => r.text());
  return [...text.matchAll(/^metalm_worker_jobs_total\{[^}]*outcome="lost"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
};
/** The bound of a wait that a loaded machine can stretch (the SIGKILL test). */
const SLOW_MS = 60_000;
let shade = 40;
/** A span over a new image, in no worker's encoder cache: its job must fetch the blob (which a test may delay). */
const freshSpan = () => {
  const png = new PNG({ width: 8, height: 8 });
  png.data.fill(++shade);
  const bytes = PNG.sync.write(png);
  edge.blobs.set(sha256Hex(bytes), bytes);
  return { kind: "span" as const, recipe: { connector: "vision", source: { model: MODEL, encoder: "vision", image: { sha256: sha256Hex(bytes) } } } };
};
const watch = (i: number, c: ChildProcess | undefined) =>
  c?.on("message", (m: { type?: string; port?: number }) => m.type === "listening" && ports.set(i, m.port!));

beforeAll(async () => {
  edge = await new FakeEdge(900).start();
  edge.blobs.set(imageA, referencePngs.a!);
  // LOG_LEVEL error: the warnings these scenarios provoke (409 → register again, a stolen job's
  // result ignored) are what the tests assert through the protocol, not output to read
  pool = startSupervisor({
    workers: 2,
    idPrefix: "wt",
    env: {
      EDGE_URL: edge.url,
      POOL_TOKEN: edge.token,
      MODELS_DIR: FIXTURE_DIR,
      MAX_QUEUE_DELAY_MS: "2",
      LOG_LEVEL: "error",
      LEASE_WAIT_MS: "500",
      SHUTDOWN_GRACE_MS: "10000",
    },
  });
  watch(0, pool.child(0));
  watch(1, pool.child(1));
  await until(() => edge.workers.size === 2, 60_000);
}, 90_000);
afterAll(async () => {
  await pool?.stop();
  await edge?.stop();
});

describe("worker processes through the pool protocol", () => {
  it("registers its models and runs encode / decode / explain jobs with receipts, progress, health and metrics", async () => {
    const reg = edge.workers.get("wt-0") as { models: { name: string; sha256: string }[]; ortVersion: string; executionProvider: string };
    expect(reg.models.map((m) => m.name)).toEqual([MODEL]);
    expect(reg).toMatchObject({ ortVersion: "1.30.0", executionProvider: "cpu" });
    const jobs = [
      job({ op: "encode", recipe: { model: MODEL, encoder: "vision", image: { sha256: imageA } } }),
      job({ op: "decode", segments: [vqa, { kind: "text", text: "question: what color is the circle? answer:" }], params }),
      job({
        op: "explain",
        segments: [vqa, { kind: "text", text: "hypothesis: the circle is red it is" }],
        labels: ["entailment", "contradiction", "neutral"],
        params,
      }),
    ];
    jobs.forEach((j) => edge.enqueue(j));
    await edge.allDone();
    const results = jobs.map((j) => edge.jobs.get(j.jobId)!.done!);
    for (const r of results) {
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.receipt).toMatchObject({ model: MODEL, modelSha256: reg.models[0]!.sha256, ortVersion: "1.30.0", executionProvider: "cpu" });
    }
    const dec = results[1]!;
    if (!dec.ok || dec.output.op !== "decode") throw new Error("decode failed");
    expect(dec.output.tokens).toEqual([54, 53, 53, 89, 89, 51, 22, 32]); // reference.json "vqa" case
    await until(() => (edge.progress.get(jobs[1]!.jobId)?.length ?? 0) === 8);
    expect(edge.progress.get(jobs[1]!.jobId)!.map((t) => t.id)).toEqual(dec.output.tokens);

    await until(() => ports.size === 2);
    const health = await fetch(`http://127.0.0.1:${ports.get(0)}/healthz`).then((r) => r.json());
    expect(health).toMatchObject({ status: "ok", workerId: "wt-0", models: [MODEL] });
    const metrics = (await Promise.all([0, 1].map((i) => fetch(`http://127.0.0.1:${ports.get(i)}/metrics`).then((r) => r.text())))).join("\n");
    for (const name of [
      "metalm_worker_queue_wait_seconds",
      "metalm_worker_compute_seconds",
      "metalm_worker_batch_size",
      "metalm_worker_tokens_generated_total",
      "metalm_worker_encoder_cache_hits",
    ]) {
      expect(metrics).toContain(name);
    }
  }, 30_000);

  it(
    "a worker SIGKILLed mid-job loses no job: the lease expires and another worker finishes it (and the pool restarts the dead one)",
    async () => {
      let victim: string | undefined;
      edge.blobDelay = (wid) => {
        if (!victim) victim = wid;
        return wid === victim && victim !== "done" ? Infinity : 0;
      };
      const j = job({ op: "decode", segments: [freshSpan(), { kind: "text", text: "caption:" }], params });
      edge.enqueue(j);
      // Bounded but generous waits: on a heavily loaded machine a child's exit, the lease expiry and
      // the other worker's decode can each take many seconds (a 15 s wait for the restart once
      // failed in CI-like conditions). Every wait still ends in a failure if it never happens.
      await until(() => victim !== undefined, SLOW_MS, "the first blob fetch");
      const slot = victim === "wt-0" ? 0 : 1;
      const restartsBefore = pool.restarts;
      const child = pool.child(slot)!;
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
      child.kill("SIGKILL");
      victim = "done"; // later fetches (another worker, or the restarted one) are served
      await edge.allDone(SLOW_MS);
      const e = edge.jobs.get(j.jobId)!;
      expect(e.done!.ok).toBe(true);
      expect(e.leases).toBe(2);
      await Promise.race([
        exited,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`worker ${slot} did not exit within ${SLOW_MS} ms of SIGKILL`)), SLOW_MS).unref()),
      ]);
      await until(() => pool.restarts > restartsBefore, SLOW_MS, "the pool to restart the killed worker");
      edge.blobDelay = () => 0;
      watch(slot, pool.child(slot));
    },
    4 * SLOW_MS,
  );

  it("starts each worker with a capped young generation and a roomier old one (WORKER_SEMI_SPACE_MB 4, WORKER_HEAP_GROWING_PERCENT 100)", () => {
    for (const i of [0, 1]) {
      const argv = readFileSync(`/proc/${pool.child(i)!.pid}/cmdline`, "utf8").split("\0");
      expect(argv).toContain("--max-semi-space-size=4");
      expect(argv).toContain("--heap-growing-percent=100");
    }
    expect(workerNodeFlags({})).toEqual(["--max-semi-space-size=4", "--heap-growing-percent=100"]);
    expect(workerNodeFlags({ WORKER_SEMI_SPACE_MB: "16", WORKER_HEAP_GROWING_PERCENT: "50" })).toEqual([
      "--max-semi-space-size=16",
      "--heap-growing-percent=50",
    ]);
    expect(workerNodeFlags({ WORKER_SEMI_SPACE_MB: "0", WORKER_HEAP_GROWING_PERCENT: "0" })).toEqual([]); // V8's own sizing
    expect(() => workerNodeFlags({ WORKER_SEMI_SPACE_MB: "4mb" })).toThrow(/WORKER_SEMI_SPACE_MB must be an integer/);
    expect(() => workerNodeFlags({ WORKER_HEAP_GROWING_PERCENT: "-5" })).toThrow(/WORKER_HEAP_GROWING_PERCENT must be an integer from 0 to 1000/);
  });

  it("honours cancel from the edge: decoding stops with finishReason canceled", async () => {
    edge.blobDelay = () => 1500;
    const j = job({ op: "decode", segments: [freshSpan(), { kind: "text", text: "answer:" }], params: { ...params, maxTokens: 64 } });
    edge.enqueue(j);
    await until(() => edge.jobs.get(j.jobId)!.leases > 0);
    edge.cancel(j.jobId);
    await edge.allDone();
    const r = edge.jobs.get(j.jobId)!.done!;
    expect(r.ok && r.output.op === "decode" && r.output.finishReason).toBe("canceled");
    edge.blobDelay = () => 0;
  }, 30_000);

  it("drops a job the edge says is lost (never posts its result)", async () => {
    edge.blobDelay = () => 1200;
    const fresh = freshSpan();
    const j = job({ op: "decode", segments: [fresh, { kind: "text", text: "question: what is on the left? answer:" }], params });
    edge.enqueue(j);
    await until(() => edge.jobs.get(j.jobId)!.leases > 0);
    const holder = edge.jobs.get(j.jobId)!.worker!;
    const slot = holder === "wt-0" ? 0 : 1;
    await until(() => ports.has(slot), 15_000, "the holder's metrics port");
    const lostBefore = await lostJobs(slot);
    edge.steal(j.jobId);
    const beat = edge.calls.length;
    await until(() => edge.calls.slice(beat).some((c) => c.path === "/v1/pool/heartbeat" && c.workerId === holder));
    // the blob arrives, the job runs to its end and is dropped: the worker counts it as lost
    await until(async () => (await lostJobs(slot)) > lostBefore, 30_000, "the stolen job to finish and be dropped");
    expect(edge.posted.filter((p) => p.jobId === j.jobId)).toEqual([]);
    edge.jobs.delete(j.jobId);
    edge.blobDelay = () => 0;
  }, 30_000);

  it("registers again when the edge has forgotten it (409) and goes on serving", async () => {
    edge.forget();
    const j = job({ op: "decode", segments: [{ kind: "text", text: "caption:" }], params });
    edge.enqueue(j);
    await edge.allDone();
    expect(edge.jobs.get(j.jobId)!.done!.ok).toBe(true);
    await until(() => edge.workers.size === 2);
  }, 30_000);

  it("stops gracefully on SIGTERM: stops leasing, finishes its held job, exits 0", async () => {
    await until(() => edge.workers.size === 2 && pool.child(0)?.connected === true);
    edge.blobDelay = () => 700;
    const j = job({ op: "decode", segments: [freshSpan(), { kind: "text", text: "answer:" }], params });
    edge.enqueue(j);
    await until(() => edge.jobs.get(j.jobId)!.leases > 0);
    const holder = edge.jobs.get(j.jobId)!.worker!;
    const child = pool.child(holder === "wt-0" ? 0 : 1)!;
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const e = edge.jobs.get(j.jobId)!;
    expect(e.done?.ok).toBe(true);
    expect(e.done?.workerId).toBe(holder);
    expect(e.leases).toBe(1);
  }, 30_000);
});
