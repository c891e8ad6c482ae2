/**
 * The pool protocol on Workers (docs/CONTRACTS.md §8): waiting lease long-polls are woken through
 * the PoolHub Durable Object, across isolates. Two notifier/app instances here stand for two
 * isolates: they share the D1 database and the Durable Object namespace, not memory.
 */
import { applyD1Migrations, env } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openD1Store } from "../../db/d1.js";
import { wipe } from "../../db/suite/store-suite.js";
import { createApp } from "../../edge/app.js";
import { createApiKey } from "../../edge/auth/keys.js";
import { durableNotifier, HUB_RECHECK_MS } from "../../edge/cloudflare/hub.js";
import { tinyAdvert, vqaSpec } from "../../workflows/src/fixtures.js";

const AUTH = { authorization: `Bearer ${env.POOL_TOKEN}`, "content-type": "application/json" };
const PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const store = openD1Store(env.DB);
const pending: Promise<unknown>[] = [];
const keep = (p: Promise<unknown>) => void pending.push(p);

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
});
beforeEach(async () => {
  await Promise.allSettled(pending.splice(0));
  await wipe(store);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("durableNotifier (PoolHub)", () => {
  it("a publish from one isolate wakes a waiter in another", async () => {
    const a = durableNotifier(env.POOL_HUB, keep);
    const b = durableNotifier(env.POOL_HUB, keep);
    const t0 = Date.now();
    const waited = a.wait("jobs", 10_000);
    await sleep(200); // let the wait reach the object
    b.publish("jobs");
    await waited;
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it("topics are separate objects: a run's publish does not wake the lease waiters", async () => {
    const n = durableNotifier(env.POOL_HUB, keep);
    const t0 = Date.now();
    const waited = n.wait("jobs", 1_000);
    await sleep(100);
    n.publish("run:other");
    await waited;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it("a wait with no publish ends after its timeout, and an aborted wait ends at once", async () => {
    const n = durableNotifier(env.POOL_HUB, keep);
    let t0 = Date.now();
    await n.wait("quiet", 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t0).toBeLessThan(2_000);
    const ctl = new AbortController();
    t0 = Date.now();
    const waited = n.wait("quiet", 10_000, ctl.signal);
    await sleep(50);
    ctl.abort();
    await waited;
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it("stretches the database recheck interval (fewer D1 queries per long-poll)", () => {
    expect(durableNotifier(env.POOL_HUB).recheckMs).toBe(HUB_RECHECK_MS);
    expect(HUB_RECHECK_MS).toBeGreaterThan(500);
  });
});

describe("lease long-poll across isolates on D1", () => {
  it("a lease waiting on one instance is woken by a run created on another, well before its D1 recheck", async () => {
    // recheck far above the expected wake-up: only the PoolHub publish can answer this fast
    const recheckMs = 20_000;
    const mk = () => createApp({ store, poolToken: env.POOL_TOKEN, rateLimit: false, notifier: durableNotifier(env.POOL_HUB, keep, { recheckMs }) });
    const { key } = await createApiKey(store, { tenantId: "hub" });
    const leaser = mk();
    const api = mk();
    const reg = await leaser.request("/v1/pool/register", {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ workerId: "w1", executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] }),
    });
    expect(reg.status).toBe(200);
    const t0 = Date.now();
    const leased = leaser.request("/v1/pool/lease", { method: "POST", headers: AUTH, body: JSON.stringify({ workerId: "w1", max: 16, waitMs: 15_000 }) });
    await sleep(300); // the lease is now parked in the hub
    const created = await api.request("/v1/runs", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ spec: vqaSpec(), inputs: { image: PNG_1PX } }),
    });
    expect(created.status, await created.clone().text()).toBe(202);
    const res = await leased;
    const { jobs } = (await res.json()) as { jobs: { op: string }[] };
    expect(jobs.map((j) => j.op)).toEqual(["encode", "connect", "decode"]);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
