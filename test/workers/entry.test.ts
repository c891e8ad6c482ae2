/**
 * The Workers entrypoint itself (edge/cloudflare/main.ts, the `main` of wrangler.toml) inside workerd,
 * called through its real `fetch` handler: bindings → app, D1-sized image limit, pool token.
 */
import { applyD1Migrations, env, SELF } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openD1Store } from "../../db/d1.js";
import { wipe } from "../../db/suite/store-suite.js";
import { createApiKey } from "../../edge/auth/keys.js";
import { appsBuilt, D1_IMAGE_BYTES } from "../../edge/cloudflare/entry.js";
import { tinyAdvert, vqaSpec } from "../../workflows/src/fixtures.js";

const POOL = { authorization: `Bearer ${env.POOL_TOKEN}`, "content-type": "application/json" };
const JSON_CT = { "content-type": "application/json" };
const store = openD1Store(env.DB);

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
});
beforeEach(async () => {
  await wipe(store);
});

const post = (path: string, body: unknown, headers: Record<string, string> = JSON_CT) =>
  SELF.fetch(`https://edge.test${path}`, { method: "POST", headers, body: JSON.stringify(body) });

describe("edge/cloudflare/main.ts fetch handler", () => {
  it("the main module exports only handlers and the Durable Object class (workerd refuses anything else)", async () => {
    const mod = await import("../../edge/cloudflare/main.js");
    expect(Object.keys(mod).sort()).toEqual(["PoolHub", "default"]);
  });

  it("serves the app on the D1 binding, built once per isolate", async () => {
    const health = await SELF.fetch("https://edge.test/healthz");
    expect(health.status).toBe(200);
    const before = appsBuilt();
    for (let i = 0; i < 3; i++) expect((await SELF.fetch("https://edge.test/healthz")).status).toBe(200);
    expect(appsBuilt()).toBe(before);
    expect(before).toBe(1);
    const ready = await SELF.fetch("https://edge.test/readyz");
    expect(((await ready.json()) as { db: boolean }).db).toBe(true);
  });

  it("the API needs a key; the ADMIN_KEY secret makes one", async () => {
    expect((await SELF.fetch("https://edge.test/v1/runs")).status).toBe(401);
    const made = await post("/v1/admin/keys", { name: "entry" }, { ...JSON_CT, authorization: `Bearer ${env.ADMIN_KEY}` });
    expect(made.status).toBe(201);
    const { key } = (await made.json()) as { key: string };
    expect((await SELF.fetch("https://edge.test/v1/runs", { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  });

  it("pool routes take the POOL_TOKEN secret, and only it", async () => {
    const reg = { workerId: "w1", executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] };
    expect((await post("/v1/pool/register", reg, { ...JSON_CT, authorization: "Bearer wrong" })).status).toBe(401);
    expect((await post("/v1/pool/register", reg, POOL)).status).toBe(200);
  });

  it("caps image inputs below D1's 2 MB row limit with a 413", async () => {
    await post("/v1/pool/register", { workerId: "w1", executionProvider: "cpu", ortVersion: "1.30.0", models: [tinyAdvert] }, POOL);
    const big = new Uint8Array(D1_IMAGE_BYTES + 1);
    big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]); // PNG magic
    let bin = "";
    for (let i = 0; i < big.length; i += 0x8000) bin += String.fromCharCode(...big.subarray(i, i + 0x8000));
    const { key } = await createApiKey(store, { tenantId: "entry" });
    const res = await post("/v1/runs", { spec: vqaSpec(), inputs: { image: btoa(bin) } }, { ...JSON_CT, authorization: `Bearer ${key}` });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("image_too_large");
  });
});
