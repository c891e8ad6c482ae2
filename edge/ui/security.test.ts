/**
 * UI hardening (issue 15, item 7): security headers on every UI response and CSRF tokens on its
 * forms. A cross-site form post that carries the cookie (what SameSite=Lax lets through from
 * another port on the same host) is refused and changes nothing. Real SQLite, `app.request`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, makeHarness, pngDataUrl, register, TEST_API_KEY, vqa, type Harness } from "../testing/harness.js";
import { csrfToken, UI_SECURITY_HEADERS } from "./security.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness();
  await register(h.app);
});
afterEach(() => h.close());

const COOKIE = { cookie: `metalm_key=${TEST_API_KEY}` };

function expectHeaders(res: Response, what: string) {
  for (const [k, v] of Object.entries(UI_SECURITY_HEADERS)) expect(res.headers.get(k), `${what}: ${k}`).toBe(v);
  expect(res.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
}

async function queuedRun(): Promise<string> {
  const r = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "q?" } } });
  expect(r.status).toBe(202);
  return r.body.id;
}

describe("security headers", () => {
  it("on pages, fragments, redirects, 404s, the login page and assets", async () => {
    const id = await queuedRun();
    const paths = [
      "/",
      "/ui/runs",
      `/ui/runs/${id}`,
      `/ui/runs/${id}/fragment/head`,
      "/ui/new",
      "/ui/compare",
      "/ui/runs/run_00000000000000000000000000",
      "/ui/assets/app.css",
      "/ui/assets/constructor",
    ];
    for (const p of paths) expectHeaders(await h.app.request(p, { headers: COOKIE }), p);
    // signed out: the login redirect and the login page too
    const out = await h.app.request("/ui/runs", { headers: { cookie: "metalm_key=" } as Record<string, string> });
    expect(out.status).toBe(302);
    expectHeaders(out, "login redirect");
    expectHeaders(await h.app.request("/ui/login", { headers: { cookie: "" } }), "/ui/login");
  });
});

describe("CSRF", () => {
  it("every POST form on a page carries the token; the page head carries it for scripts", async () => {
    const id = await queuedRun();
    const token = await csrfToken(TEST_API_KEY);
    for (const p of [`/ui/runs/${id}`, "/ui/new"]) {
      const text = await (await h.app.request(p, { headers: COOKIE })).text();
      const forms = text.match(/<form\b[^>]*method="post"[^>]*>/gi) ?? [];
      expect(forms.length, p).toBeGreaterThan(0);
      const fields = text.match(new RegExp(`<form\\b[^>]*method="post"[^>]*><input type="hidden" name="_csrf" value="${token}">`, "gi")) ?? [];
      expect(fields.length, p).toBe(forms.length);
      expect(text).toContain(`<meta name="csrf-token" content="${token}">`);
    }
  });

  it("a cookie-signed form post without the token is refused (403) and cancels nothing", async () => {
    const id = await queuedRun();
    const forged = new FormData(); // what a page on another port would post
    const res = await h.app.request(`/ui/runs/${id}/cancel`, {
      method: "POST",
      body: forged,
      headers: { ...COOKIE, "sec-fetch-site": "same-site", origin: "http://localhost:9999" },
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("csrf_rejected");
    expect((await call(h.app, `/v1/runs/${id}`)).body.status).toBe("queued");

    const wrong = new FormData();
    wrong.set("_csrf", "0".repeat(40));
    expect((await h.app.request(`/ui/runs/${id}/cancel`, { method: "POST", body: wrong, headers: COOKIE })).status).toBe(403);
    const json = await h.app.request("/ui/api/validate", {
      method: "POST",
      body: JSON.stringify({ spec: vqa() }),
      headers: { ...COOKIE, "content-type": "application/json" },
    });
    expect(json.status).toBe(403);
  });

  it("with the page's token the same post works (field or header)", async () => {
    const id = await queuedRun();
    const token = await csrfToken(TEST_API_KEY);
    const fd = new FormData();
    fd.set("_csrf", token);
    const res = await h.app.request(`/ui/runs/${id}/cancel`, { method: "POST", body: fd, headers: COOKIE });
    expect(res.status).toBe(303);
    expect((await call(h.app, `/v1/runs/${id}`)).body.status).toBe("canceled");
    const json = await h.app.request("/ui/api/validate", {
      method: "POST",
      body: JSON.stringify({ spec: vqa() }),
      headers: { ...COOKIE, "content-type": "application/json", "x-csrf-token": token },
    });
    expect(json.status).toBe(200);
  });

  it("the sign-in form refuses cross-site posts (login CSRF)", async () => {
    const fd = new FormData();
    fd.set("key", TEST_API_KEY);
    const cross = await h.app.request("/ui/login", { method: "POST", body: fd, headers: { cookie: "", "sec-fetch-site": "same-site" } });
    expect(cross.status).toBe(403);
    const fd2 = new FormData();
    fd2.set("key", TEST_API_KEY);
    const same = await h.app.request("/ui/login", { method: "POST", body: fd2, headers: { cookie: "", "sec-fetch-site": "same-origin" } });
    expect(same.status).toBe(303);
  });
});
