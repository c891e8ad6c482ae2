/**
 * Byte budgets of the edge's in-memory state (issue 15, item 1), through `app.request` on a real
 * SQLite file: run views are cached by bytes and a view over the per-entry bound is not cached at
 * all; the RSS backstop refuses bodies (503 memory_pressure) but keeps serving reads.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_AUTH, call, makeHarness, pngDataUrl, register, TEST_ADMIN_KEY, vqa, type Harness } from "../testing/harness.js";

let h: Harness | undefined;
afterEach(() => h?.close());

const gauge = (text: string, name: string, label: string) => Number(new RegExp(`^${name}\\{${label}\\} (\\S+)$`, "m").exec(text)?.[1]);

describe("edge memory budgets", () => {
  it("caches small run views by bytes and never a view over the entry bound", async () => {
    h = makeHarness({ adminKey: TEST_ADMIN_KEY, memory: { viewCacheBytes: 64 << 10, viewCacheEntryBytes: 8 << 10 } });
    await register(h.app);
    const small = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "q?" } } });
    const big = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "x".repeat(5000) } } });
    const metrics = async () => (await h!.app.request("/metrics", { headers: ADMIN_AUTH })).text();
    expect((await call(h.app, `/v1/runs/${small.body.id}`)).status).toBe(200);
    const afterSmall = gauge(await metrics(), "metalm_edge_cache_bytes", 'cache="run_views"');
    expect(afterSmall).toBeGreaterThan(0);
    expect(afterSmall).toBeLessThanOrEqual(8 << 10);
    expect((await call(h.app, `/v1/runs/${big.body.id}`)).status).toBe(200); // > 8 KiB as JSON (×2 bytes a char)
    const m = await metrics();
    expect(gauge(m, "metalm_edge_cache_bytes", 'cache="run_views"')).toBe(afterSmall);
    expect(gauge(m, "metalm_edge_cache_limit_bytes", 'cache="run_views"')).toBe(64 << 10);
  });

  it("over the RSS bound: bodies are refused before they are read, reads still work", async () => {
    h = makeHarness({ memory: { rssLimitBytes: 1 } }); // any process is over 1 byte
    await register(h.app); // pool calls are exempt: they finish runs
    const r = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ code: "memory_pressure", details: { limitBytes: 1 } });
    expect((await call(h.app, "/v1/runs")).status).toBe(200);
  });
});
