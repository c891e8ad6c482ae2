/**
 * Webhooks on Workers, through the real entrypoint (SELF) in workerd: a delivery leaves in the
 * `waitUntil` pass after the request that finished the run, signed per Standard Webhooks; a failed
 * attempt is retried by the `webhooks` PoolHub alarm (no cron runs here), not a minute later.
 */
import { applyD1Migrations, env, SELF } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openD1Store } from "../../db/d1.js";
import { wipe } from "../../db/suite/store-suite.js";
import { createApiKey } from "../../edge/auth/keys.js";
import { Webhook } from "standardwebhooks";
import { tinyAdvert, vqaSpec } from "../../workflows/src/fixtures.js";
import type { Job } from "../../workflows/index.js";
import type { Received } from "./hook-sink.js";

const POOL = { authorization: `Bearer ${env.POOL_TOKEN}`, "content-type": "application/json" };
const PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const store = openD1Store(env.DB);
let key = "";

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
});
beforeEach(async () => {
  await wipe(store);
  await env.HOOKS.fetch("https://hooks/", { method: "DELETE" });
  key = (await createApiKey(store, { tenantId: "hooks" })).key;
});

const call = async (path: string, body?: unknown, headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${key}` }) => {
  const res = await SELF.fetch(`https://edge.test${path}`, body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};
const received = async (): Promise<Received[]> => (await (await env.HOOKS.fetch("https://hooks/")).json()) as Received[];
const until = async <T>(f: () => Promise<T | undefined>, ms = 5_000): Promise<T> => {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out; received: ${JSON.stringify(await received())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Register a worker and complete every job of the tenant's runs through the pool protocol. */
async function runToCompletion(): Promise<string> {
  expect((await call("/v1/pool/register", { workerId: "w1", executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] }, POOL)).status).toBe(200);
  const created = await call("/v1/runs", { spec: vqaSpec(), inputs: { image: PNG_1PX } });
  expect(created.status).toBe(202);
  for (let round = 0; round < 4; round++) {
    const { body } = await call("/v1/pool/lease", { workerId: "w1", max: 16, waitMs: 0 }, POOL);
    const jobs = body.jobs as Job[];
    if (!jobs.length) break;
    const results = jobs.map((j) => ({
      jobId: j.jobId,
      leaseId: j.leaseId,
      ok: true,
      output:
        j.op === "decode"
          ? { op: "decode", text: "red", tokens: [5], tokenTexts: ["red"], logprobs: [-0.1], finishReason: "eos" }
          : j.op === "explain"
            ? {
                op: "explain",
                label: "entailment",
                scores: { entailment: -0.1, contradiction: -2, neutral: -3 },
                explanation: "because",
                text: "entailment because",
                tokens: [7],
                logprobs: [-0.2],
              }
            : { op: j.op, tensor: { shape: [1, 16, 128], dtype: "float32", norm: 1, mean: 0, std: 1 } },
      receipt: {
        workerId: "w1",
        model: j.model,
        modelVersion: "0.1.0",
        modelSha256: tinyAdvert.sha256,
        tokenizerSha256: "b".repeat(64),
        ortVersion: "1.30.0",
        executionProvider: "cpu",
        seed: 0,
        params: {},
      },
      timings: { computeMs: 1 },
      cacheHit: false,
    }));
    expect((await call("/v1/pool/results", { workerId: "w1", results }, POOL)).body.accepted).toHaveLength(jobs.length);
  }
  const run = await call(`/v1/runs/${created.body.id}`);
  expect(run.body.status).toBe("succeeded");
  return created.body.id;
}

describe("webhooks on Workers", () => {
  it("run.completed is delivered after the finishing request, with a valid Standard Webhooks signature", async () => {
    const ep = await call("/v1/webhooks/endpoints", { url: "https://hooks.example.com/metalm", events: ["run.completed"] });
    expect(ep.status, JSON.stringify(ep.body)).toBe(201);
    const runId = await runToCompletion();
    const [hook] = await until(async () => {
      const r = (await received()).filter((h) => h.url.endsWith("/metalm"));
      return r.length ? r : undefined;
    });
    expect(JSON.parse(hook!.body).type).toBe("run.completed");
    expect(hook!.body).toContain(runId);
    // verified by the reference library, not by our own signing code
    expect(() => new Webhook(ep.body.secret).verify(hook!.body, hook!.headers)).not.toThrow();
    expect(() => new Webhook(`whsec_${btoa("not the secret, not the secret!!")}`).verify(hook!.body, hook!.headers)).toThrow();
  });

  it("a failed attempt is retried by the PoolHub alarm, with the same webhook-id", async () => {
    expect((await call("/v1/webhooks/endpoints", { url: "https://hooks.example.com/flaky", events: ["run.completed"] })).status).toBe(201);
    await runToCompletion();
    const attempts = await until(async () => {
      const r = (await received()).filter((h) => h.url.endsWith("/flaky"));
      return r.length >= 2 ? r : undefined;
    });
    expect(attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(attempts[1]!.headers["webhook-id"]).toBe(attempts[0]!.headers["webhook-id"]);
  });
});
