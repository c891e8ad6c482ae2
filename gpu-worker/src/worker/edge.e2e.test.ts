/**
 * Worker processes against the REAL edge (edge/app.ts on SQLite, served over HTTP): a VQA-then-
 * explain run posted to /v1/runs is served by the pool; and a worker SIGKILLed while holding the
 * run's decode job loses nothing: the lease expires, another worker re-leases the job, recomputes
 * encode → connect from the recipe, and the run succeeds.
 */
import { serve, type ServerType } from "@hono/node-server";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../../db/driver.js";
import { openSqliteStore } from "../../../db/store.js";
import { createApp } from "../../../edge/app.js";
import { sweepExpired } from "../../../edge/engine/results.js";
import { createTenantKeySync, defaultKey } from "../../../edge/testing/tenants.js";
import { isRunTerminal } from "../../../workflows/index.js";
import { FIXTURE_DIR, referencePngs } from "../testing/fixture.js";
import { startSupervisor, type Supervisor } from "./supervisor.js";

const TOKEN = "e2e-pool-token";
const MODEL = "metalm-tiny-fixture";
let dir: string;
let store: Store;
let server: ServerType;
let sweep: NodeJS.Timeout;
let url = "";
const pools: Supervisor[] = [];

const spec = {
  name: "vqa-then-explain",
  inputs: { image: { type: "image" }, question: { type: "text", default: "what color is the circle?" } },
  steps: [
    { id: "see", op: "encode", model: MODEL, encoder: "vision", image: "{{inputs.image}}" },
    { id: "dock", op: "connect", from: "see" },
    { id: "answer", op: "decode", model: MODEL, segments: [{ span: "dock" }, { text: "question: {{inputs.question}} answer:" }], params: { maxTokens: 8 } },
    {
      id: "why",
      op: "explain",
      model: MODEL,
      segments: [{ span: "dock" }, { text: "hypothesis: the circle is {{steps.answer.text}} it is" }],
      labels: ["entailment", "contradiction", "neutral"],
      params: { maxTokens: 6 },
    },
  ],
  outputs: { answer: "{{steps.answer.text}}", label: "{{steps.why.label}}", explanation: "{{steps.why.explanation}}" },
};
const image = `data:image/png;base64,${referencePngs.a!.toString("base64")}`;

const api = async (path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(
    `${url}${path}`,
    body === undefined ? { headers } : { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) },
  );
  return { status: res.status, body: (await res.json()) as any };
};
const until = async <T>(f: () => Promise<T | undefined>, ms = 30_000): Promise<T> => {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
};
const pool = (prefix: string, env: Record<string, string> = {}) => {
  const p = startSupervisor({
    workers: 1,
    idPrefix: prefix,
    env: { EDGE_URL: url, POOL_TOKEN: TOKEN, MODELS_DIR: FIXTURE_DIR, LOG_LEVEL: "error", LEASE_WAIT_MS: "500", ...env },
  });
  pools.push(p);
  return p;
};
const finished = (id: string) =>
  until(async () => {
    const { body } = await api(`/v1/runs/${id}`);
    return isRunTerminal(body.status) ? body : undefined;
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "e2e-edge-"));
  store = openSqliteStore(join(dir, "metalm.sqlite"));
  // API calls below carry no key: they act as a test tenant's key (edge/testing/tenants.ts)
  const app = defaultKey(createApp({ store, poolToken: TOKEN, leaseMs: 1500 }), createTenantKeySync(store).key);
  server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((r) => server.once("listening", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sweep = setInterval(() => void sweepExpired(app.engine).catch(() => {}), 200);
}, 30_000);
afterAll(async () => {
  clearInterval(sweep);
  await Promise.all(pools.map((p) => p.stop()));
  server?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("worker pool against the real edge", () => {
  it("serves a VQA-then-explain run end to end", async () => {
    pool("e2e-a");
    const created = await until(async () => {
      const r = await api("/v1/runs", { spec, inputs: { image } });
      return r.status < 300 ? r.body : undefined; // 4xx until a worker advertising the model registers
    });
    const run = await finished(created.id);
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    const steps = Object.fromEntries(run.steps.map((s: { id: string }) => [s.id, s]));
    expect(steps.answer.workerId).toBe("e2e-a-0");
    expect(run.outputs.answer).toBe("objects object object teacher teacher shape how red"); // reference.json "vqa"
    expect(["entailment", "contradiction", "neutral"]).toContain(run.outputs.label);
  }, 60_000);

  it("a worker SIGKILLed while holding the decode job: another worker re-leases and finishes it", async () => {
    await Promise.all(pools.splice(0).map((p) => p.stop()));
    // A lone decode job runs the moment it is leased (an idle batcher does not wait), so to kill
    // the worker while it holds the job, the worker is frozen (SIGSTOP) while its lease long-poll
    // waits at the edge: the edge hands it the new run's jobs (the step shows running there) and
    // the frozen worker can never compute or post them. If no poll was waiting at that instant,
    // the job stays queued: thaw, let that run finish, and try again with a new question (a new
    // question, so the memo does not answer it).
    const slow = pool("e2e-slow");
    await until(async () => ((await api("/readyz")).body.workers > 0 ? true : undefined));
    const answerOf = async (id: string) => (await api(`/v1/runs/${id}`)).body.steps.find((s: { id: string }) => s.id === "answer");
    const questions = [
      "what shape is on the left?",
      "what shape is on the right?",
      "what is in the middle?",
      "what color is the square?",
      "what color is the triangle?",
    ];
    let created: { id: string } | undefined;
    for (const question of questions) {
      slow.child(0)!.kill("SIGSTOP");
      const run = (await api("/v1/runs", { spec, inputs: { image, question } })).body as { id: string };
      const held = await until(async () => ((await answerOf(run.id)).workerId === "e2e-slow-0" ? true : undefined), 3000).catch(() => false);
      if (held) {
        created = run;
        break;
      }
      slow.child(0)!.kill("SIGCONT");
      await finished(run.id);
    }
    if (!created) throw new Error(`no lease poll of the frozen worker was waiting, ${questions.length} times`);
    expect((await answerOf(created.id)).status).toBe("running");
    slow.child(0)!.kill("SIGKILL");
    await slow.stop();
    pool("e2e-rescue");
    const run = await finished(created.id);
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    const answer = run.steps.find((s: { id: string }) => s.id === "answer");
    expect(answer.workerId).toBe("e2e-rescue-0");
    expect(answer.attempts).toBeGreaterThanOrEqual(2);
  }, 90_000);
});
