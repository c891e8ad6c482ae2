/**
 * The outbox is part of the state change's batch: a commit that loses the rev guard writes no
 * webhook message; the one that wins writes exactly its messages and one delivery per subscribed
 * endpoint. And the backoff schedule: exponential, capped, jittered into [0.5, 1) of the step.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookDeliveries, webhookEndpoints, webhookMessages } from "../../db/schema.js";
import { loadRun, revGuard } from "../engine/commit.js";
import { RunDraft } from "../engine/draft.js";
import { AUTH, call, makeHarness, pngDataUrl, register, TEST_TENANT, vqa, type Harness } from "../testing/harness.js";
import { backoffMs } from "./dispatcher.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness({ webhooks: { allowPrivate: true } });
  await register(h.app);
});
afterEach(() => h.close());

describe("outbox", () => {
  it("messages commit with the state change or not at all", async () => {
    await call(h.app, "/v1/webhooks/endpoints", { body: { url: "http://127.0.0.1:9/a", events: ["run.canceled"] } });
    await call(h.app, "/v1/webhooks/endpoints", { body: { url: "http://127.0.0.1:9/b" } });
    await call(h.app, "/v1/webhooks/endpoints", { body: { url: "http://127.0.0.1:9/c", events: ["run.completed"], enabled: false } });
    const run = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    const snap = (await loadRun(h.store, run.body.id))!;
    const draft = () => {
      const d = new RunDraft(snap.run, snap.steps, Date.now());
      for (const s of d.steps) if (s.status === "pending" || s.status === "queued") d.patchStep(s.stepId, { status: "skipped" });
      d.patchRun({ status: "canceled", finishedAt: d.now });
      d.event("run.completed", null, { status: "canceled", outputs: null, error: null });
      return d;
    };
    const stale = draft();
    await expect(h.store.batch([revGuard(snap.run.id, snap.run.rev + 7, stale.now), ...stale.toUpdateStatements(h.app.engine)])).rejects.toThrow();
    expect(await h.store.db.select().from(webhookMessages)).toEqual([]);
    const ok = draft();
    await h.store.batch([revGuard(snap.run.id, snap.run.rev, ok.now), ...ok.toUpdateStatements(h.app.engine)]);
    const msgs = await h.store.db.select().from(webhookMessages);
    expect(msgs.map((m) => m.type)).toEqual(["run.canceled"]);
    expect(JSON.parse(msgs[0]!.payload)).toMatchObject({ type: "run.canceled", data: { id: run.body.id, status: "canceled" } });
    const deliveries = await h.store.db.select().from(webhookDeliveries);
    expect(deliveries).toHaveLength(2); // a (filter matches) and b (all events); c is disabled
    expect(deliveries.every((d) => d.messageId === msgs[0]!.id && d.status === "pending")).toBe(true);
  });

  it("a tenant seen without endpoints skips the payloads, yet an endpoint another edge adds later gets the next event", async () => {
    const run = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    expect(run.status).toBe(202);
    // the lease commit (run.started) builds payloads and looks up the tenant's endpoints: none
    await call(h.app, "/v1/pool/lease", { body: { workerId: "w1", max: 16, waitMs: 0 }, headers: AUTH });
    await new Promise((r) => setTimeout(r, 50));
    expect(await h.store.db.select().from(webhookMessages)).toEqual([]);
    // another edge process creates an endpoint: this process's cache cannot know
    await h.store.db
      .insert(webhookEndpoints)
      .values({ id: "ep_other", tenantId: TEST_TENANT, url: "http://127.0.0.1:9/x", events: ["run.canceled"], secret: "whsec_x", createdAt: 1, updatedAt: 1 });
    const canceled = await call(h.app, `/v1/runs/${run.body.id}/cancel`, { body: {} });
    expect(canceled.body.status).toBe("canceled");
    const msgs = await h.store.db.select().from(webhookMessages);
    expect(msgs.map((m) => m.type)).toEqual(["run.canceled"]);
    expect((await h.store.db.select().from(webhookDeliveries)).map((d) => d.endpointId)).toEqual(["ep_other"]);
  });

  it("no endpoint, no message", async () => {
    const run = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    await call(h.app, `/v1/runs/${run.body.id}/cancel`, { body: {} });
    expect(await h.store.db.select().from(webhookMessages)).toEqual([]);
  });

  it("backoff: base × 2^(n−1), capped, times a jitter in [0.5, 1)", () => {
    const o = { backoffBaseMs: 5_000, backoffMaxMs: 3_600_000 };
    expect(backoffMs(1, o, () => 0)).toBe(2_500);
    expect(backoffMs(1, o, () => 0.999999)).toBe(5_000);
    expect(backoffMs(4, o, () => 0)).toBe(20_000);
    expect(backoffMs(30, o, () => 0.999999)).toBeCloseTo(3_600_000, -1);
    expect(backoffMs(30, o, () => 0)).toBe(1_800_000);
    const spread = new Set(Array.from({ length: 50 }, () => backoffMs(3, o)));
    expect(spread.size).toBeGreaterThan(10);
    for (const v of spread) expect(v >= 10_000 && v <= 20_000).toBe(true);
  });
});
