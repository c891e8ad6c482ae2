/** Limits through the public door: 413 body / image bytes, 422 pixels / steps / maxTokens, 429 + Retry-After. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../app.js";
import { createTenantKeySync } from "../testing/tenants.js";
import { call, makeHarness, PNG_1PX, pngDataUrl, POOL_TOKEN, register, vqa, type Harness } from "../testing/harness.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness({ limits: { bodyBytes: 64 * 1024, imageBytes: 2048, imagePixels: 10_000, maxSteps: vqa().steps.length, maxTokens: 64 } });
  await register(h.app);
});
afterEach(() => h.close());

const expectShape = (body: any, code: string) => {
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect("details" in body.error).toBe(true);
};

/** The 1-px PNG with its IHDR saying w × h (the edge reads the header only). */
function pngClaiming(w: number, h: number): Buffer {
  const b = Buffer.from(PNG_1PX);
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  return b;
}

describe("limits", () => {
  it("413 for a body over bodyBytes, 413 for an image over imageBytes", async () => {
    const big = await call(h.app, "/v1/runs", { body: JSON.stringify({ spec: vqa(), pad: "x".repeat(70_000) }) });
    expect(big.status).toBe(413);
    expectShape(big.body, "payload_too_large");
    const img = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: Buffer.concat([PNG_1PX, Buffer.alloc(4096)]).toString("base64") } } });
    expect(img.status).toBe(413);
    expectShape(img.body, "image_too_large");
  });

  it("422 for an image whose header says too many pixels (PNG and JPEG)", async () => {
    const png = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngClaiming(200, 200).toString("base64") } } });
    expect(png.status).toBe(422);
    expectShape(png.body, "image_too_many_pixels");
    expect(png.body.error.details).toMatchObject({ field: "inputs.image", width: 200, height: 200, limit: 10_000 });
    // SOF0 with 300 × 400
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 11, 8, 0x01, 0x90, 0x01, 0x2c, 3, 1, 0x11, 0]);
    const j = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: jpeg.toString("base64") } } });
    expect(j.status).toBe(422);
    expect(j.body.error.details).toMatchObject({ width: 300, height: 400 });
    expect((await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngClaiming(100, 100).toString("base64") } } })).status).toBe(202);
  });

  it("422 for too many steps and for maxTokens over the limit (runs, plan and saved workflows)", async () => {
    const spec = vqa();
    const four = { ...spec, steps: [...spec.steps, { ...spec.steps.at(-1)!, id: "again" }] };
    for (const path of ["/v1/runs", "/v1/plan"]) {
      const r = await call(h.app, path, { body: { spec: four, inputs: { image: pngDataUrl() } } });
      expect(r.status, path).toBe(422);
      expectShape(r.body, "too_many_steps");
    }
    const save = await call(h.app, "/v1/workflows", { body: { id: "four", spec: four } });
    expect(save.status).toBe(422);
    const greedy = structuredClone(spec) as any;
    greedy.steps.at(-1).params = { maxTokens: 65 };
    const r = await call(h.app, "/v1/runs", { body: { spec: greedy, inputs: { image: pngDataUrl() } } });
    expect(r.status).toBe(422);
    expectShape(r.body, "max_tokens_exceeded");
    expect(r.body.error.details.field).toBe(`steps.${spec.steps.length - 1}.params.maxTokens`);
  });

  it("429 with Retry-After once a key's bucket is empty; other keys are not affected; refills", async () => {
    let now = 1_000_000;
    const app = createApp({ store: h.store, poolToken: POOL_TOKEN, rateLimit: { perSecond: 1, burst: 3 }, now: () => now });
    const a = createTenantKeySync(h.store, "rate-a");
    const b = createTenantKeySync(h.store, "rate-b");
    const get = (k: typeof a) => app.request("/v1/runs", { headers: k.headers });
    for (let i = 0; i < 3; i++) expect((await get(a)).status).toBe(200);
    const limited = await get(a);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expectShape(await limited.json(), "rate_limited");
    expect((await get(b)).status).toBe(200);
    now += 1_000;
    expect((await get(a)).status).toBe(200);
    expect((await get(a)).status).toBe(429);
    expect((await app.request("/healthz")).status).toBe(200);
  });
});
