/** API keys through the public door: what is open, 401s in the one error shape, the admin API, hashing at rest, the UI login. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiKeys } from "../../db/schema.js";
import { createApp, type EdgeApp } from "../app.js";
import { makeHarness, POOL_TOKEN, type Harness } from "../testing/harness.js";

const ADMIN = "mla_test-admin-key";
let h: Harness;
let app: EdgeApp; // no default key: requests carry exactly what the test gives
beforeEach(() => {
  h = makeHarness();
  app = createApp({ store: h.store, poolToken: POOL_TOKEN, adminKey: ADMIN, rateLimit: false });
});
afterEach(() => h.close());

const req = async (path: string, init: RequestInit = {}) => {
  const res = await app.request(path, init);
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* html */
  }
  return { status: res.status, headers: res.headers, body };
};
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

describe("API keys", () => {
  it("only /healthz, /readyz, the API description and UI assets are open; everything else is a 401 in the error shape", async () => {
    expect((await req("/healthz")).status).toBe(200);
    expect((await req("/readyz")).status).toBe(503); // open (no worker yet)
    expect((await req("/ui/assets/app.css")).status).toBe(200);
    expect((await req("/ui/login")).status).toBe(200);
    expect((await req("/openapi.json")).status).toBe(200);
    expect((await req("/docs")).status).toBe(200);
    for (const path of ["/v1/runs", "/v1/workflows", "/v1/models", "/metrics", "/v1/webhooks/endpoints", "/v1/runs/run_x/webhooks", "/nope"]) {
      const r = await req(path);
      expect(r.status, path).toBe(401);
      expect(r.body.error.code).toBe("unauthorized");
      expect(r.headers.get("www-authenticate")).toMatch(/Bearer/);
    }
    expect((await req("/v1/runs", json({}))).status).toBe(401);
    expect((await req("/v1/runs", { headers: bearer("mlk_not-a-key") })).status).toBe(401);
    expect((await req("/v1/runs", { headers: bearer(POOL_TOKEN) })).status).toBe(401); // the pool token is not an API key
    expect((await req("/v1/pool/lease", json({ workerId: "w", max: 1, waitMs: 0 }, bearer(h.key.key)))).status).toBe(401); // nor the reverse
  });

  it("the admin key creates, lists and revokes keys; keys are stored hashed", async () => {
    expect((await req("/v1/admin/keys", json({ tenantId: "acme" }))).status).toBe(401);
    expect((await req("/v1/admin/keys", json({ tenantId: "acme" }, bearer(h.key.key)))).status).toBe(401);
    const made = await req("/v1/admin/keys", json({ tenantId: "acme", name: "ci" }, bearer(ADMIN)));
    expect(made.status).toBe(201);
    expect(made.body.key).toMatch(/^mlk_[A-Za-z0-9_-]{43}$/);
    expect(made.body.tenantId).toBe("acme");
    const key = made.body.key as string;
    expect((await req("/v1/runs", { headers: bearer(key) })).status).toBe(200);
    expect((await req("/v1/runs", { headers: { "x-api-key": key } })).status).toBe(200);
    const rows = await h.store.db.select().from(apiKeys);
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows.find((r) => r.id === made.body.id)?.hash).toMatch(/^[0-9a-f]{64}$/);
    const list = await req("/v1/admin/keys?tenantId=acme", { headers: bearer(ADMIN) });
    expect(list.body.keys).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(key);
    const anon = await req("/v1/admin/keys", json({}, bearer(ADMIN)));
    expect(anon.body.tenantId).toMatch(/^t_/);
    const revoked = await req(`/v1/admin/keys/${made.body.id}`, { method: "DELETE", headers: bearer(ADMIN) });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(Number));
    expect((await req("/v1/runs", { headers: bearer(key) })).status).toBe(401);
    expect((await req("/v1/admin/keys/key_nope", { method: "DELETE", headers: bearer(ADMIN) })).status).toBe(404);
    expect((await req("/v1/admin/keys", json({ tenantId: "../bad" }, bearer(ADMIN)))).status).toBe(400);
  });

  it("without ADMIN_KEY the admin API is off", async () => {
    const off = createApp({ store: h.store, poolToken: POOL_TOKEN });
    const r = await off.request("/v1/admin/keys", { headers: bearer("anything") });
    expect(r.status).toBe(401);
  });

  it("the UI: pages redirect to the login form; the form and ?key= set an HttpOnly cookie", async () => {
    const page = await req("/ui/runs?status=failed");
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/ui/login?next=%2Fui%2Fruns%3Fstatus%3Dfailed");
    const bad = await req("/ui/login", { method: "POST", body: new URLSearchParams({ key: "mlk_wrong", next: "/ui/runs" }) });
    expect(bad.status).toBe(401);
    const ok = await req("/ui/login", { method: "POST", body: new URLSearchParams({ key: h.key.key, next: "/ui/runs?status=failed" }) });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/ui/runs?status=failed");
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/metalm_key=.*HttpOnly.*SameSite=Lax/i);
    const withCookie = await req("/ui/runs", { headers: { cookie: cookie.split(";")[0]! } });
    expect(withCookie.status).toBe(200);
    const offsite = await req("/ui/login", { method: "POST", body: new URLSearchParams({ key: h.key.key, next: "//evil.example/" }) });
    expect(offsite.headers.get("location")).toBe("/ui/runs");
    const link = await req(`/ui/runs?key=${h.key.key}&status=failed`);
    expect(link.status).toBe(302);
    expect(link.headers.get("location")).toBe("/ui/runs?status=failed");
    expect(link.headers.get("set-cookie")).toContain("metalm_key=");
  });
});
