/**
 * Bad input: every case answers 4xx with the one error shape, names the field / step at fault,
 * and leaves the database unchanged.
 */
import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, JPEG_BYTES, makeHarness, pngB64, pngDataUrl, register, vqa, type Harness } from "./testing/harness.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness({ limits: { bodyBytes: 64 * 1024, imageBytes: 1024 } });
  await register(h.app);
});
afterEach(() => h.close());

async function rowCounts() {
  const n = async (t: string) => ((await h.store.db.all(sql.raw(`SELECT count(*) AS n FROM ${t}`))) as { n: number }[])[0]!.n;
  return { runs: await n("runs"), steps: await n("steps"), jobs: await n("jobs"), blobs: await n("blobs"), events: await n("run_events") };
}

function expectErrorShape(body: any, code: string) {
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "details", "message"]);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
}

describe("POST /v1/runs rejects bad input with 4xx, changing nothing", () => {
  const post = (body: unknown, headers: Record<string, string> = {}) => call(h.app, "/v1/runs", { body, headers });

  const cases: [string, () => unknown, number, string, (details: any) => void][] = [
    ["malformed JSON", () => "{ not json", 400, "invalid_json", () => {}],
    ["empty body", () => "", 400, "invalid_json", () => {}],
    [
      "unknown top-level field",
      () => ({ spec: vqa(), inputs: { image: pngDataUrl() }, nope: 1 }),
      400,
      "invalid_request",
      (d) => expect(JSON.stringify(d)).toContain("nope"),
    ],
    ["neither spec nor workflowId", () => ({ inputs: {} }), 400, "invalid_request", (d) => expect(d.field).toBe("spec")],
    [
      "unknown op",
      () => {
        const s: any = vqa();
        s.steps[2].op = "summon";
        return { spec: s, inputs: { image: pngDataUrl() } };
      },
      400,
      "invalid_workflow",
      (d) => expect(d.answer[0].field).toBe("op"),
    ],
    [
      "cycle",
      () => {
        const s: any = vqa();
        s.steps[2].segments[1].text = "{{steps.why.text}}";
        return { spec: s, inputs: { image: pngDataUrl() } };
      },
      400,
      "invalid_workflow",
      (d) => expect(d.answer.map((i: any) => i.code)).toContain("cycle"),
    ],
    [
      "dangling reference",
      () => {
        const s: any = vqa();
        s.steps[1].from = "nowhere";
        return { spec: s, inputs: { image: pngDataUrl() } };
      },
      400,
      "invalid_workflow",
      (d) => expect(d.dock[0]).toMatchObject({ code: "unknown_reference", field: "from" }),
    ],
    ["missing input", () => ({ spec: vqa(), inputs: {} }), 400, "invalid_workflow", (d) => expect(d.$inputs[0].code).toBe("missing_input")],
    [
      "wrong input type",
      () => ({ spec: vqa(), inputs: { image: pngDataUrl(), n: "three" } }),
      400,
      "invalid_workflow",
      (d) => expect(JSON.stringify(d.$inputs)).toContain("input_type"),
    ],
    [
      "number out of range",
      () => ({ spec: vqa(), inputs: { image: pngDataUrl(), n: 11 } }),
      400,
      "invalid_workflow",
      (d) => expect(d.$inputs[0].code).toBe("input_range"),
    ],
    [
      "unknown model",
      () => {
        const s: any = vqa();
        s.steps[2].model = "gpt-9";
        return { spec: s, inputs: { image: pngDataUrl() } };
      },
      400,
      "invalid_workflow",
      (d) => expect(d.answer.map((i: any) => i.code)).toContain("unknown_model"),
    ],
    [
      "unknown encoder",
      () => {
        const s: any = vqa();
        s.steps[0].encoder = "sonar";
        return { spec: s, inputs: { image: pngDataUrl() } };
      },
      400,
      "invalid_workflow",
      (d) => expect(d.see[0].code).toBe("unknown_encoder"),
    ],
    ["bad base64", () => ({ spec: vqa(), inputs: { image: "###not base64###" } }), 400, "invalid_base64", (d) => expect(d.field).toBe("inputs.image")],
    [
      "bytes that are not an image",
      () => ({ spec: vqa(), inputs: { image: Buffer.from("GIF89a hello").toString("base64") } }),
      400,
      "invalid_image",
      (d) => expect(d.field).toBe("inputs.image"),
    ],
    [
      "image too large",
      () => ({ spec: vqa(), inputs: { image: Buffer.concat([JPEG_BYTES, Buffer.alloc(2000)]).toString("base64") } }),
      413,
      "image_too_large",
      (d) => expect(d.field).toBe("inputs.image"),
    ],
    ["oversized body", () => ({ spec: vqa(), inputs: { image: pngB64() }, tags: [], pad: "x".repeat(70 * 1024) }), 413, "payload_too_large", () => {}],
    ["unknown saved workflow", () => ({ workflowId: "nope", inputs: {} }), 404, "workflow_not_found", (d) => expect(d.field).toBe("workflowId")],
    [
      "bad tag",
      () => ({ spec: vqa(), inputs: { image: pngDataUrl() }, tags: ["has space"] }),
      400,
      "invalid_request",
      (d) => expect(d.issues[0].field).toBe("tags.0"),
    ],
  ];

  it.each(cases)("%s", async (_name, body, status, code, check) => {
    const before = await rowCounts();
    const r = await post(body());
    expect(r.status).toBe(status);
    expectErrorShape(r.body, code);
    check(r.body.error.details);
    expect(await rowCounts()).toEqual(before);
  });

  it("bad Idempotency-Key header is a 400", async () => {
    const r = await post({ spec: vqa(), inputs: { image: pngDataUrl() } }, { "idempotency-key": "x".repeat(300) });
    expect(r.status).toBe(400);
    expect(r.body.error.details.field).toBe("Idempotency-Key");
  });
});

describe("other endpoints", () => {
  it("unknown run → 404 with the error shape, for get, cancel, rerun and events", async () => {
    for (const [path, method] of [
      ["/v1/runs/run_nope", "GET"],
      ["/v1/runs/run_nope/cancel", "POST"],
      ["/v1/runs/run_nope/events", "GET"],
    ] as const) {
      const r = await call(h.app, path, { method });
      expect(r.status, path).toBe(404);
      expectErrorShape(r.body, "run_not_found");
    }
    const rr = await call(h.app, "/v1/runs/run_nope/rerun", { body: { fromStep: "answer" } });
    expect(rr.status).toBe(404);
  });

  it("unknown route → 404 with the error shape", async () => {
    const r = await call(h.app, "/v1/nothing");
    expect(r.status).toBe(404);
    expectErrorShape(r.body, "not_found");
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=abc", "limit"],
    ["status=bogus", "status"],
    ["cursor=!!!", "cursor"],
    [`cursor=${Buffer.from("12.run_x").toString("base64url")}`, "cursor"],
    ["unknown=1", ""],
  ])("GET /v1/runs?%s → 400", async (q, field) => {
    const r = await call(h.app, `/v1/runs?${q}`);
    expect(r.status).toBe(400);
    if (field) expect(JSON.stringify(r.body.error.details)).toContain(field);
  });

  it("pool calls need the bearer token", async () => {
    const r = await call(h.app, "/v1/pool/lease", { body: { workerId: "w1", max: 1, waitMs: 0 } });
    expect(r.status).toBe(401);
    expectErrorShape(r.body, "unauthorized");
    const bad = await call(h.app, "/v1/pool/lease", { body: { workerId: "w1", max: 1, waitMs: 0 }, headers: { authorization: "Bearer nope" } });
    expect(bad.status).toBe(401);
  });

  it("pool bodies are validated; unknown workers are told to register", async () => {
    const auth = { authorization: "Bearer test-pool-token" };
    const r = await call(h.app, "/v1/pool/lease", { body: { workerId: "w1", max: 0, waitMs: 0 }, headers: auth });
    expect(r.status).toBe(400);
    expect(r.body.error.details.issues[0].field).toBe("max");
    const u = await call(h.app, "/v1/pool/lease", { body: { workerId: "ghost", max: 1, waitMs: 0 }, headers: auth });
    expect(u.status).toBe(409);
    expect(u.body.error.code).toBe("worker_not_registered");
    const blob = await call(h.app, "/v1/pool/blobs/xyz", { headers: auth });
    expect(blob.status).toBe(400);
  });
});
