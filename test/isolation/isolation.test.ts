/**
 * Tenant isolation through the public door: tenant A holds a run (finished, with an input image,
 * an idempotency key, webhook deliveries), a saved workflow and a webhook endpoint; tenant B —
 * another API key — must not read, list, cancel, rerun, redeliver or receive any of it, and every
 * refusal is the same 404 a nonexistent id gets (existence is not leaked). A guard test fails when
 * a route with a path parameter is added without being covered here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispatchDue } from "../../edge/webhooks/dispatcher.js";
import { nodeTransport } from "../../edge/webhooks/transport-node.js";
import { createTenantKeySync, type TenantKey } from "../../edge/testing/tenants.js";
import { call, drive, makeHarness, PNG_1PX, pngDataUrl, register, vqa, type Harness } from "../../edge/testing/harness.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

let h: Harness;
let A: TenantKey;
let B: TenantKey;
let rxA: Receiver;
let rxB: Receiver;
const a: Record<string, any> = {};
const FAKE_RUN = "run_0000000000zzzzzzzzzzzzzz";

const as = (k: TenantKey, path: string, r: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  call(h.app, path, { ...r, headers: { ...k.headers, ...r.headers } });

/** The same status and error code as for an id that does not exist at all. */
async function expectHidden(path: string, fakePath: string, method = "GET", body?: unknown) {
  const theirs = await as(B, path, { method, body });
  const none = await as(B, fakePath, { method, body });
  expect(theirs.status, `${method} ${path}`).toBe(404);
  expect(none.status, `${method} ${fakePath}`).toBe(404);
  if (typeof theirs.body === "object") expect(theirs.body.error.code).toBe(none.body.error.code);
  const s = typeof theirs.body === "string" ? theirs.body : JSON.stringify(theirs.body);
  expect(s).not.toContain("red"); // nothing of A's outputs
  return theirs;
}

beforeAll(async () => {
  h = makeHarness({ webhooks: { allowPrivate: true } });
  await register(h.app);
  A = createTenantKeySync(h.store, "tenant-a");
  B = createTenantKeySync(h.store, "tenant-b");
  rxA = await startReceiver(() => [a.secret]);
  rxB = await startReceiver(() => [a.secretB]);
  const epA = await as(A, "/v1/webhooks/endpoints", { body: { url: rxA.url } });
  a.endpoint = epA.body.id;
  a.secret = epA.body.secret;
  const epB = await as(B, "/v1/webhooks/endpoints", { body: { url: rxB.url } });
  a.secretB = epB.body.secret;
  const wf = await as(A, "/v1/workflows", { body: { id: "secret-flow", spec: vqa() } });
  expect(wf.status).toBe(201);
  // an image only A has (the edge checks magic bytes; the test's worker does not decode)
  const onlyA = `data:image/png;base64,${Buffer.concat([PNG_1PX, Buffer.from("tenant-a-only")]).toString("base64")}`;
  a.onlyA = onlyA;
  const run = await as(A, "/v1/runs", { body: { spec: vqa(), inputs: { image: onlyA }, tags: ["a-only"] }, headers: { "idempotency-key": "shared-key" } });
  expect(run.status).toBe(202);
  a.run = run.body.id;
  await drive(h.app);
  const live = await as(A, "/v1/runs", { body: { workflowId: "secret-flow", inputs: { image: pngDataUrl(), question: "still running?" } } });
  a.live = live.body.id;
  const got = await as(A, `/v1/runs/${a.run}`);
  expect(got.body.status).toBe("succeeded");
  a.sha = got.body.inputs.image.sha256;
  for (let i = 0; i < 20 && (await dispatchDue({ store: h.store }, { allowPrivate: true, transport: nodeTransport })) > 0; i++);
  const log = await as(A, `/v1/runs/${a.run}/webhooks`);
  a.delivery = log.body.messages[0].deliveries[0].id;
});
afterAll(async () => {
  await rxA?.close();
  await rxB?.close();
  h?.close();
});

const COVERED = new Set<string>();
const cover = (method: string, path: string) => COVERED.add(`${method} ${path}`);

describe("tenant B cannot see tenant A's things", () => {
  it("runs: get, events (SSE), webhook log, cancel, rerun → 404 like a nonexistent run", async () => {
    await expectHidden(`/v1/runs/${a.run}`, `/v1/runs/${FAKE_RUN}`);
    cover("GET", "/v1/runs/:id");
    await expectHidden(`/v1/runs/${a.run}/events`, `/v1/runs/${FAKE_RUN}/events`);
    cover("GET", "/v1/runs/:id/events");
    await expectHidden(`/v1/runs/${a.run}/webhooks`, `/v1/runs/${FAKE_RUN}/webhooks`);
    cover("GET", "/v1/runs/:id/webhooks");
    await expectHidden(`/v1/runs/${a.live}/cancel`, `/v1/runs/${FAKE_RUN}/cancel`, "POST", {});
    cover("POST", "/v1/runs/:id/cancel");
    expect((await as(A, `/v1/runs/${a.live}`)).body.status).not.toBe("canceled");
    await expectHidden(`/v1/runs/${a.run}/rerun`, `/v1/runs/${FAKE_RUN}/rerun`, "POST", { fromStep: "answer" });
    cover("POST", "/v1/runs/:id/rerun");
  });

  it("runs: list and counts show only B's own; filters do not reach across", async () => {
    const list = await as(B, "/v1/runs");
    expect(list.body.runs).toEqual([]);
    expect(Object.values(list.body.counts).every((n) => n === 0)).toBe(true);
    expect((await as(B, "/v1/runs?tag=a-only")).body.runs).toEqual([]);
    expect((await as(B, "/v1/runs?workflow=secret-flow")).body.runs).toEqual([]);
    expect((await as(A, "/v1/runs")).body.runs.length).toBe(2);
    cover("GET", "/v1/runs");
  });

  it("create: A's idempotency key, saved workflow and stored image are not B's", async () => {
    const idem = await as(B, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } }, headers: { "idempotency-key": "shared-key" } });
    expect(idem.status).toBe(202);
    expect(idem.body.id).not.toBe(a.run);
    expect(idem.headers.get("idempotent-replayed")).toBeNull();
    const wf = await as(B, "/v1/runs", { body: { workflowId: "secret-flow", inputs: { image: pngDataUrl() } } });
    expect(wf.status).toBe(404);
    expect(wf.body.error.code).toBe("workflow_not_found");
    const plan = await as(B, "/v1/plan", { body: { workflowId: "secret-flow", inputs: { image: pngDataUrl() } } });
    expect(plan.status).toBe(404);
    const bySha = await as(B, "/v1/runs", { body: { spec: vqa(), inputs: { image: { sha256: a.sha } } } });
    const byNone = await as(B, "/v1/runs", { body: { spec: vqa(), inputs: { image: { sha256: "0".repeat(64) } } } });
    expect(bySha.status).toBe(400);
    expect(bySha.body.error.code).toBe(byNone.body.error.code);
    cover("POST", "/v1/runs");
    cover("POST", "/v1/plan");
  });

  it("memoization never crosses tenants: B's identical run executes its own steps", async () => {
    const own = await as(B, "/v1/runs", { body: { spec: vqa(), inputs: { image: a.onlyA } } });
    const steps = (await as(B, `/v1/runs/${own.body.id}`)).body.steps;
    expect(steps.some((s: { status: string }) => s.status === "cached")).toBe(false);
    const again = await as(A, "/v1/runs", { body: { spec: vqa(), inputs: { image: a.onlyA } } });
    expect((await as(A, `/v1/runs/${again.body.id}`)).body.steps.every((s: { status: string }) => s.status === "cached")).toBe(true);
  });

  it("workflows: list, get, versions → only B's own; A's → 404", async () => {
    expect((await as(B, "/v1/workflows")).body.workflows).toEqual([]);
    cover("GET", "/v1/workflows");
    await expectHidden("/v1/workflows/secret-flow", "/v1/workflows/no-such-flow");
    cover("GET", "/v1/workflows/:id");
    await expectHidden("/v1/workflows/secret-flow/versions", "/v1/workflows/no-such-flow/versions");
    cover("GET", "/v1/workflows/:id/versions");
    await expectHidden("/v1/workflows/secret-flow/versions/1", "/v1/workflows/no-such-flow/versions/1");
    cover("GET", "/v1/workflows/:id/versions/:version");
    // saving under the same id makes B's own version 1, A's stays untouched
    const saved = await as(B, "/v1/workflows", { body: { id: "secret-flow", spec: vqa() } });
    expect(saved.body.version).toBe(1);
    expect((await as(A, "/v1/workflows/secret-flow/versions")).body.versions).toHaveLength(1);
    cover("POST", "/v1/workflows");
  });

  it("webhooks: endpoints, secrets, rotation, deliveries → 404; B's receiver never sees A's events", async () => {
    const ids = (await as(B, "/v1/webhooks/endpoints")).body.endpoints.map((e: { id: string }) => e.id);
    expect(ids).not.toContain(a.endpoint);
    cover("GET", "/v1/webhooks/endpoints");
    cover("POST", "/v1/webhooks/endpoints");
    const fake = "wh_0000000000000000";
    await expectHidden(`/v1/webhooks/endpoints/${a.endpoint}`, `/v1/webhooks/endpoints/${fake}`);
    cover("GET", "/v1/webhooks/endpoints/:id");
    await expectHidden(`/v1/webhooks/endpoints/${a.endpoint}/secret`, `/v1/webhooks/endpoints/${fake}/secret`);
    cover("GET", "/v1/webhooks/endpoints/:id/secret");
    await expectHidden(`/v1/webhooks/endpoints/${a.endpoint}`, `/v1/webhooks/endpoints/${fake}`, "PATCH", { url: rxB.url });
    cover("PATCH", "/v1/webhooks/endpoints/:id");
    await expectHidden(`/v1/webhooks/endpoints/${a.endpoint}/rotate-secret`, `/v1/webhooks/endpoints/${fake}/rotate-secret`, "POST", {});
    cover("POST", "/v1/webhooks/endpoints/:id/rotate-secret");
    await expectHidden(`/v1/webhooks/endpoints/${a.endpoint}`, `/v1/webhooks/endpoints/${fake}`, "DELETE");
    cover("DELETE", "/v1/webhooks/endpoints/:id");
    await expectHidden(`/v1/webhooks/deliveries/${a.delivery}/redeliver`, `/v1/webhooks/deliveries/msg_x.wh_x/redeliver`, "POST", {});
    cover("POST", "/v1/webhooks/deliveries/:id/redeliver");
    // A's endpoint is intact and its secret unchanged
    expect((await as(A, `/v1/webhooks/endpoints/${a.endpoint}/secret`)).body.secret).toBe(a.secret);
    for (let i = 0; i < 20 && (await dispatchDue({ store: h.store }, { allowPrivate: true, transport: nodeTransport })) > 0; i++);
    expect(rxA.received.length).toBeGreaterThan(0);
    expect(rxA.received.every((m) => m.verified && m.body.data.id !== undefined)).toBe(true);
    const aRuns = new Set((await as(A, "/v1/runs")).body.runs.map((r: { id: string }) => r.id));
    expect(rxB.received.every((m) => m.verified && !aRuns.has(m.body.data.id))).toBe(true);
    expect(rxA.received.some((m) => aRuns.has(m.body.data.id))).toBe(true);
    expect(rxA.received.every((m) => aRuns.has(m.body.data.id))).toBe(true);
  });

  it("the UI: run page, fragments, input image, cancel, rerun, compare, history → 404 / nothing", async () => {
    const ui = async (path: string, method = "GET", body?: FormData) => {
      const res = await h.app.request(path, { method, headers: B.headers, body });
      return { status: res.status, text: await res.text() };
    };
    for (const [path, method] of [
      [`/ui/runs/${a.run}`, "GET"],
      [`/ui/runs/${a.run}/fragment/head`, "GET"],
      [`/ui/runs/${a.run}/fragment/cell/answer`, "GET"],
      [`/ui/runs/${a.run}/inputs/image`, "GET"],
      [`/ui/runs/${a.live}/cancel`, "POST"],
      [`/ui/runs/${a.run}/rerun`, "POST"],
      [`/ui/runs/${a.run}/rerun-inputs`, "POST"],
    ] as const) {
      const fd = new FormData();
      fd.set("fromStep", "answer");
      const r = await ui(path, method, method === "POST" ? fd : undefined);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.text).not.toContain(a.sha);
      cover(method, path.replace(a.run, ":id").replace(a.live, ":id").replace("/answer", "/:stepId").replace("/image", "/:name"));
    }
    expect((await as(A, `/v1/runs/${a.live}`)).body.status).not.toBe("canceled");
    const cmp = await ui(`/ui/compare?a=${a.run}&b=${a.run}`);
    expect(cmp.text).not.toContain("because it is red");
    cover("GET", "/ui/compare");
    const hist = await ui("/ui/runs");
    expect(hist.text).not.toContain(a.run);
    cover("GET", "/ui/runs");
  });

  it("covers every route that takes an id", () => {
    const withParam = new Set(
      h.app.routes
        .filter((r) => r.path.includes("/:") && r.method !== "ALL" && !r.path.startsWith("/v1/pool") && !r.path.startsWith("/v1/admin"))
        .filter((r) => !["/ui/assets/:name", "/ui/examples/files/:file"].includes(r.path))
        .map((r) => `${r.method} ${r.path}`),
    );
    const missing = [...withParam].filter((r) => !COVERED.has(r));
    expect(withParam.size).toBeGreaterThanOrEqual(20);
    expect(missing).toEqual([]);
    console.log(`[isolation] ${COVERED.size} routes covered (${withParam.size} with an id: all)`);
  });
});
