/**
 * Fault tests with real processes (npm run test:faults): an edge process (SQLite file, webhook
 * dispatcher) and gpu-worker processes on the tiny fixture (real ONNX sessions), a webhook
 * receiver that verifies every request with the `standardwebhooks` library.
 *
 * 1. SIGKILL a worker mid-decode while 100 runs are in flight → 100 succeed, none twice.
 * 2. The webhook receiver goes down, then comes back (and fails each message's first arrival):
 *    every event is delivered, with the same webhook-id on every attempt.
 * 3. SIGKILL the edge while runs are in flight and start it again → all finish; the outbox loses
 *    no event.
 * Invariants checked on the SQLite file: one `step.completed` per step, one `run.completed` per
 * run, one webhook message per event, every message delivered and received.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referencePngs } from "../../gpu-worker/src/testing/fixture.js";
import { isRunTerminal, type RunStatus } from "../../workflows/index.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { api, peek, sleep, startEdge, startWorker, tempDir, until, vqaSpec, type Edge, type Proc } from "./procs.js";
import { freePort } from "../helpers/net.js";

const image = `data:image/png;base64,${referencePngs.a!.toString("base64")}`;
const tmp = tempDir("faults-");
let port = 0;
let edge: Edge;
const workers: Proc[] = [];
let rx: Receiver;
let secret = "";
const figures: Record<string, unknown> = {};

async function createRuns(n: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, j) =>
        api(edge.url, "/v1/runs", { spec: vqaSpec(), inputs: { image, question: `what color is the circle ${tag} ${i + j}?` }, tags: [tag] }),
      ),
    );
    for (const r of batch) {
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      ids.push(r.body.id);
    }
  }
  return ids;
}

const statusOf = (ids: string[]) =>
  peek(tmp.dir, (db) => {
    const rows = db.prepare(`SELECT id, status FROM runs WHERE id IN (${ids.map(() => "?").join(",")})`).all(...ids) as { id: string; status: RunStatus }[];
    return new Map(rows.map((r) => [r.id, r.status]));
  });

async function allFinished(ids: string[], ms: number) {
  return until(
    `${ids.length} runs to finish`,
    async () => {
      const s = statusOf(ids);
      return [...s.values()].every((v) => isRunTerminal(v)) && s.size === ids.length ? s : undefined;
    },
    ms,
    250,
  );
}

/** Steps completed twice, runs completed twice: both must be empty. */
function duplicates() {
  return peek(tmp.dir, (db) => ({
    steps: db.prepare("SELECT run_id, step_id, count(*) AS n FROM run_events WHERE type = 'step.completed' GROUP BY run_id, step_id HAVING n > 1").all(),
    runs: db.prepare("SELECT run_id, count(*) AS n FROM run_events WHERE type = 'run.completed' GROUP BY run_id HAVING n > 1").all(),
    messages: db.prepare("SELECT run_id, type, count(*) AS n FROM webhook_messages WHERE type != 'step.completed' GROUP BY run_id, type HAVING n > 1").all(),
  }));
}

beforeAll(async () => {
  port = await freePort();
  rx = await startReceiver(() => [secret]);
  edge = await startEdge(tmp.dir, port);
  const ep = await api(edge.url, "/v1/webhooks/endpoints", { url: rx.url });
  expect(ep.status, JSON.stringify(ep.body)).toBe(201);
  secret = ep.body.secret;
}, 90_000);

afterAll(async () => {
  console.log(`[faults] ${JSON.stringify(figures)}`);
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  await edge?.kill("SIGKILL");
  await rx?.close();
  tmp.remove();
});

describe("fault tolerance with real processes", () => {
  it("SIGKILL a worker mid-decode with 100 runs in flight: 100 succeed, none twice", async () => {
    const victim = startWorker(edge.url, "victim", { MAX_BATCH: "16", MAX_QUEUE_DELAY_MS: "50" });
    workers.push(victim);
    await until("the victim to register", async () => (await api(edge.url, "/v1/models")).body.models?.length > 0, 60_000);
    // frozen while the 100 runs are created, so all of them are in flight when it works again
    victim.child.kill("SIGSTOP");
    const ids = await createRuns(100, "kill-worker");
    victim.child.kill("SIGCONT");
    // mid-decode: the victim has leased decode jobs and their steps are running on it
    const held: number = await until(
      "the victim to be decoding",
      async () => {
        const n = peek(
          tmp.dir,
          (db) =>
            (
              db
                .prepare(
                  "SELECT count(*) AS n FROM jobs j JOIN steps s ON s.run_id = j.run_id AND s.step_id = j.step_id WHERE j.status = 'leased' AND j.leased_by = 'victim' AND j.op = 'decode' AND s.status = 'running'",
                )
                .get() as { n: number }
            ).n,
        );
        return n >= 4 ? n : undefined;
      },
      60_000,
      20,
    );
    const before = statusOf(ids);
    victim.child.kill("SIGKILL");
    await victim.exited;
    const rescuer = startWorker(edge.url, "rescuer");
    workers.push(rescuer);
    const done = await allFinished(ids, 150_000);
    const dup = duplicates();
    const statuses = [...done.values()];
    Object.assign(figures, {
      killWorker: {
        inFlight: [...before.values()].filter((s) => !isRunTerminal(s)).length,
        decodeJobsHeldByVictim: held,
        succeeded: statuses.filter((s) => s === "succeeded").length,
        lost: ids.length - statuses.filter((s) => s === "succeeded").length,
        duplicated: dup.steps.length + dup.runs.length,
      },
    });
    expect(statuses.filter((s) => s === "succeeded")).toHaveLength(100);
    expect(dup).toEqual({ steps: [], runs: [], messages: [] });
    const retried = peek(
      tmp.dir,
      (db) =>
        (
          db.prepare("SELECT count(*) AS n FROM run_events WHERE type = 'step.retrying' AND json_extract(data, '$.error.code') = 'lease_expired'").get() as {
            n: number;
          }
        ).n,
    );
    expect(retried).toBeGreaterThan(0);
    (figures.killWorker as Record<string, unknown>).reLeasedAfterKill = retried;
  }, 240_000);

  it("webhook receiver down, then up: every event delivered, same webhook-id across attempts", async () => {
    await rx.down();
    const ids = await createRuns(20, "receiver-down");
    await allFinished(ids, 120_000);
    // attempts fail while it is down (connection refused) …
    const inList = ids.map(() => "?").join(",");
    await until(
      "every delivery to have failed at least once",
      async () =>
        peek(
          tmp.dir,
          (db) =>
            (
              db
                .prepare(
                  `SELECT count(*) AS n FROM webhook_deliveries d WHERE d.run_id IN (${inList}) AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.delivery_id = d.id AND a.error LIKE 'network_error%')`,
                )
                .get(...ids) as { n: number }
            ).n === 0,
        ),
      60_000,
    );
    // … it comes back and refuses each message's first arrival once more
    const seen = new Set<string>();
    rx.answer = (m) => {
      if (seen.has(m.id)) return { status: 204 };
      seen.add(m.id);
      return { status: 503 };
    };
    await rx.up();
    const expected = peek(tmp.dir, (db) =>
      (db.prepare(`SELECT id FROM webhook_messages WHERE run_id IN (${ids.map(() => "?").join(",")})`).all(...ids) as { id: string }[]).map((r) => r.id),
    );
    expect(expected.length).toBe(20 * 5); // run.started, 3 × step.completed, run.completed
    await until(
      "every delivery delivered",
      async () =>
        peek(tmp.dir, (db) => (db.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE status != 'delivered'").get() as { n: number }).n === 0),
      120_000,
      250,
    );
    const got = new Map<string, typeof rx.received>();
    for (const m of rx.received) got.set(m.id, [...(got.get(m.id) ?? []), m]);
    for (const id of expected) {
      const copies = got.get(id) ?? [];
      expect(copies.length, id).toBeGreaterThanOrEqual(2); // the refused first arrival and the retry: one webhook-id
      expect(copies.every((c) => c.verified && c.raw === copies[0]!.raw)).toBe(true);
    }
    const attempts = peek(tmp.dir, (db) =>
      db
        .prepare(
          `SELECT d.message_id AS id, count(a.id) AS n FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.run_id IN (${ids.map(() => "?").join(",")}) GROUP BY d.id`,
        )
        .all(...ids),
    ) as { id: string; n: number }[];
    expect(attempts.every((a) => a.n >= 3)).toBe(true); // refused while down, 503, delivered
    figures.receiverDown = {
      runs: ids.length,
      events: expected.length,
      delivered: expected.filter((id) => got.has(id)).length,
      minAttempts: Math.min(...attempts.map((a) => a.n)),
    };
    rx.answer = () => ({ status: 204 });
  }, 240_000);

  it("SIGKILL the edge with runs in flight and start it again: all finish, no event lost", async () => {
    for (const w of workers) w.child.kill("SIGSTOP");
    const ids = await createRuns(40, "restart-edge");
    for (const w of workers) w.child.kill("SIGCONT");
    await until(
      "jobs leased",
      async () => peek(tmp.dir, (db) => (db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'leased'").get() as { n: number }).n > 0),
      30_000,
      20,
    );
    const before = statusOf(ids);
    await edge.kill("SIGKILL");
    await sleep(1_000); // workers meet connection refused, keep their jobs, retry
    edge = await startEdge(tmp.dir, port);
    const done = await allFinished(ids, 150_000);
    expect([...done.values()].filter((s) => s === "succeeded")).toHaveLength(40);
    await until(
      "every delivery delivered after the restart",
      async () =>
        peek(tmp.dir, (db) => (db.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE status != 'delivered'").get() as { n: number }).n === 0),
      120_000,
      250,
    );
    const dup = duplicates();
    expect(dup).toEqual({ steps: [], runs: [], messages: [] });
    // every event of every run reached the receiver: 5 messages per run, all verified
    const all = peek(tmp.dir, (db) => db.prepare("SELECT id, run_id AS runId, type FROM webhook_messages").all()) as {
      id: string;
      runId: string;
      type: string;
    }[];
    const received = new Set(rx.received.filter((m) => m.verified).map((m) => m.id));
    const missing = all.filter((m) => !received.has(m.id));
    expect(missing).toEqual([]);
    const perRun = new Map<string, number>();
    for (const m of all) perRun.set(m.runId, (perRun.get(m.runId) ?? 0) + 1);
    expect([...perRun.values()].every((n) => n === 5)).toBe(true);
    expect(perRun.size).toBe(160);
    figures.restartEdge = {
      inFlight: [...before.values()].filter((s) => !isRunTerminal(s)).length,
      succeeded: [...done.values()].filter((s) => s === "succeeded").length,
      lost: 40 - [...done.values()].filter((s) => s === "succeeded").length,
      duplicated: dup.steps.length + dup.runs.length,
    };
    figures.webhooksTotal = { messages: all.length, received: received.size, missing: missing.length, runs: perRun.size };
  }, 300_000);
});
