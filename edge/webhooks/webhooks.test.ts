/**
 * Webhooks end to end in-process: the real app on SQLite, runs driven through the pool protocol,
 * the dispatcher sending over real HTTP (Node transport) to a loopback receiver that verifies every
 * request with the `standardwebhooks` library.
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookDeliveries } from "../../db/schema.js";
import { startReceiver, type Receiver } from "../../test/helpers/receiver.js";
import { call, drive, makeHarness, pngDataUrl, register, vqa, type Harness } from "../testing/harness.js";
import { dispatchDue } from "./dispatcher.js";
import type { WebhookOptions } from "./options.js";
import { nodeTransport } from "./transport-node.js";

let h: Harness;
let rx: Receiver;
let secrets: string[] = [];
const OPTS: Partial<WebhookOptions> = { allowPrivate: true, transport: nodeTransport, backoffBaseMs: 1, backoffMaxMs: 5, timeoutMs: 1_000, maxAttempts: 5 };

beforeEach(async () => {
  h = makeHarness({ webhooks: { allowPrivate: true } });
  await register(h.app);
  secrets = [];
  rx = await startReceiver(() => secrets);
});
afterEach(async () => {
  await rx.close();
  h.close();
});

/** Dispatch until nothing is due (bounded). */
async function flush(opts: Partial<WebhookOptions> = OPTS, rounds = 50) {
  for (let i = 0; i < rounds; i++) {
    const n = await dispatchDue({ store: h.store }, opts);
    if (n === 0) {
      const pending = await h.store.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.status, "pending"));
      if (!pending.length) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

async function endpoint(body: Record<string, unknown> = {}) {
  const r = await call(h.app, "/v1/webhooks/endpoints", { body: { url: rx.url, ...body } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  secrets.push(r.body.secret);
  return r.body as { id: string; secret: string; events: string[] };
}

async function finishedRun(question = "what color is the circle?") {
  const created = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question } } });
  expect(created.status).toBe(202);
  await drive(h.app);
  return created.body.id as string;
}

describe("webhooks", () => {
  it("delivers every subscribed event, signed per Standard Webhooks, payload = the run object", async () => {
    const ep = await endpoint();
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    expect(ep.events).toEqual(["run.started", "step.completed", "run.completed", "run.failed", "run.canceled"]);
    const runId = await finishedRun();
    await flush();
    expect(rx.received.every((m) => m.verified)).toBe(true);
    const types = rx.received.map((m) => m.type);
    // Deliveries are concurrent: arrival order is not part of the contract, the counts are.
    expect(types.filter((t) => t === "run.started")).toHaveLength(1);
    expect(types.filter((t) => t === "step.completed")).toHaveLength(vqa().steps.length);
    expect(types.filter((t) => t === "run.completed")).toHaveLength(1);
    const done = rx.received.find((m) => m.type === "run.completed")!.body;
    expect(done.data.id).toBe(runId);
    expect(done.data.status).toBe("succeeded");
    expect(done.data.outputs.answer).toBe("red");
    expect(new Set(rx.received.map((m) => m.id)).size).toBe(rx.received.length);
    const step = rx.received.find((m) => m.type === "step.completed")!.body;
    expect(typeof step.stepId).toBe("string");
    // the delivery log
    const log = await call(h.app, `/v1/runs/${runId}/webhooks`);
    expect(log.status).toBe(200);
    expect(log.body.messages).toHaveLength(rx.received.length);
    for (const m of log.body.messages) {
      expect(m.deliveries[0].status).toBe("delivered");
      expect(m.deliveries[0].log[0].status).toBe(204);
    }
  });

  it("filters events per endpoint; a failed run is run.failed, a canceled one run.canceled", async () => {
    await endpoint({ events: ["run.failed", "run.canceled"] });
    const a = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    await call(h.app, `/v1/runs/${a.body.id}/cancel`, { body: {} });
    await finishedRun();
    await flush();
    expect(rx.received.map((m) => m.type)).toEqual(["run.canceled"]);
    expect(rx.received[0]!.body.data.status).toBe("canceled");
  });

  it("retries with backoff, keeping the same webhook-id; a 3xx is not followed", async () => {
    await endpoint({ events: ["run.completed"] });
    let n = 0;
    rx.answer = () => (++n === 1 ? { status: 500 } : n === 2 ? { status: 302, headers: { location: "http://169.254.169.254/" } } : { status: 200 });
    const runId = await finishedRun();
    await flush();
    expect(rx.received).toHaveLength(3);
    expect(new Set(rx.received.map((m) => m.id)).size).toBe(1);
    expect(rx.received.every((m) => m.verified)).toBe(true);
    const log = (await call(h.app, `/v1/runs/${runId}/webhooks`)).body;
    const d = log.messages[0].deliveries[0];
    expect(d.status).toBe("delivered");
    expect(d.log.map((a: { status: number }) => a.status)).toEqual([500, 302, 200]);
    expect(d.log[1].error).toMatch(/redirects are not followed/);
  });

  it("gives up after maxAttempts; redeliver sends the same message again with the same webhook-id", async () => {
    await endpoint({ events: ["run.completed"] });
    rx.answer = () => ({ status: 503 });
    const runId = await finishedRun();
    await flush({ ...OPTS, maxAttempts: 3 });
    expect(rx.received).toHaveLength(3);
    let d = (await call(h.app, `/v1/runs/${runId}/webhooks`)).body.messages[0].deliveries[0];
    expect(d.status).toBe("failed");
    expect(d.lastStatus).toBe(503);
    rx.answer = () => ({ status: 200 });
    const re = await call(h.app, `/v1/webhooks/deliveries/${d.id}/redeliver`, { body: {} });
    expect(re.status).toBe(202);
    await flush();
    expect(rx.received).toHaveLength(4);
    expect(rx.received[3]!.id).toBe(rx.received[0]!.id);
    expect(rx.received[3]!.raw).toBe(rx.received[0]!.raw);
    d = (await call(h.app, `/v1/runs/${runId}/webhooks`)).body.messages[0].deliveries[0];
    expect(d.status).toBe("delivered");
  });

  it("410 Gone disables the endpoint; later events are not sent", async () => {
    const ep = await endpoint({ events: ["run.completed"] });
    rx.answer = () => ({ status: 410 });
    await finishedRun();
    await flush();
    const got = await call(h.app, `/v1/webhooks/endpoints/${ep.id}`);
    expect(got.body.enabled).toBe(false);
    expect(got.body.disabledReason).toMatch(/410/);
    await finishedRun("q2");
    await flush();
    expect(rx.received).toHaveLength(1);
  });

  it("times out a slow receiver and retries", async () => {
    await endpoint({ events: ["run.completed"] });
    let n = 0;
    rx.answer = () => (++n === 1 ? { status: 200, delayMs: 600 } : { status: 200 });
    const runId = await finishedRun();
    await flush({ ...OPTS, timeoutMs: 200 });
    const d = (await call(h.app, `/v1/runs/${runId}/webhooks`)).body.messages[0].deliveries[0];
    expect(d.status).toBe("delivered");
    expect(d.log[0].error).toMatch(/timeout/);
    expect(rx.received.length).toBeGreaterThanOrEqual(2);
  });

  it("rotation: both secrets sign during the grace period, then only the new one", async () => {
    const ep = await endpoint({ events: ["run.completed"] });
    const rot = await call(h.app, `/v1/webhooks/endpoints/${ep.id}/rotate-secret`, { body: { graceSeconds: 3600 } });
    expect(rot.status).toBe(200);
    expect(rot.body.secret).not.toBe(ep.secret);
    await finishedRun();
    await flush();
    const m = rx.received[0]!;
    expect(m.signatures).toHaveLength(2);
    secrets = [ep.secret];
    const { Webhook } = await import("standardwebhooks");
    const headers = { "webhook-id": m.id, "webhook-timestamp": m.timestamp, "webhook-signature": m.signatures.join(" ") };
    expect(() => new Webhook(ep.secret).verify(m.raw, headers)).not.toThrow();
    expect(() => new Webhook(rot.body.secret).verify(m.raw, headers)).not.toThrow();
    const rot2 = await call(h.app, `/v1/webhooks/endpoints/${ep.id}/rotate-secret`, { body: { graceSeconds: 0 } });
    secrets = [rot2.body.secret];
    await finishedRun("q3");
    await flush();
    const last = rx.received.at(-1)!;
    expect(last.verified).toBe(true);
    // still signed by the first rotation's old secret (grace 1 h) and the current one, not by a dropped one
    expect(last.signatures.length).toBe(2);
    expect(() =>
      new Webhook(rot.body.secret).verify(last.raw, {
        "webhook-id": last.id,
        "webhook-timestamp": last.timestamp,
        "webhook-signature": last.signatures.join(" "),
      }),
    ).toThrow();
  });

  it("endpoints are validated: http(s) only, no private addresses unless allowed", async () => {
    const strict = makeHarness();
    try {
      for (const url of [
        "http://127.0.0.1:9/x",
        "http://[::1]/x",
        "http://[::ffff:10.0.0.1]/",
        "http://169.254.169.254/latest",
        "http://localhost/",
        "http://localhost..:8080/",
        "http://localhost.:8080/",
        "http://127.0.0.1..:9/",
        "http://a..example.com/",
        "ftp://example.com/",
        "http://user:pw@example.com/",
      ]) {
        const r = await call(strict.app, "/v1/webhooks/endpoints", { body: { url } });
        expect(r.status, url).toBe(422);
        expect(r.body.error.code).toBe("invalid_webhook_url");
      }
      expect((await call(strict.app, "/v1/webhooks/endpoints", { body: { url: "https://example.com/hook" } })).status).toBe(201);
    } finally {
      strict.close();
    }
  });
});
