/**
 * The lease route answers in the form the worker asks for (Accept): the binary frame with the
 * images as bytes, or JSON with them in base64 — the same jobs, the same images. Through
 * `app.request` on a real SQLite file.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decodeLeaseFrame, LEASE_FRAME_TYPE, LeaseFrameHeadSchema, LeaseResponseSchema } from "../../workflows/index.js";
import { AUTH, call, makeHarness, PNG_1PX, pngDataUrl, register, vqa, type Harness } from "../testing/harness.js";

let h: Harness;
beforeEach(() => (h = makeHarness({ leaseMs: 60_000 })));
afterEach(() => h.close());

const sha = createHash("sha256").update(PNG_1PX).digest("hex");
const createRun = async () =>
  expect((await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "q?" } } })).status).toBe(202);
const leaseRaw = (accept?: string) =>
  h.app.request("/v1/pool/lease", {
    method: "POST",
    body: JSON.stringify({ workerId: "w1", max: 16, waitMs: 0 }),
    headers: { ...AUTH, "content-type": "application/json", ...(accept ? { accept } : {}) },
  });

it("a worker that accepts the frame gets its jobs and the image as bytes; one that does not gets JSON with base64", async () => {
  expect((await register(h.app)).status).toBe(200);
  await createRun();
  const bin = await leaseRaw(`${LEASE_FRAME_TYPE}, application/json`);
  expect(bin.status).toBe(200);
  expect(bin.headers.get("content-type")).toBe(LEASE_FRAME_TYPE);
  const frame = decodeLeaseFrame(new Uint8Array(await bin.arrayBuffer()));
  const head = LeaseFrameHeadSchema.parse(frame.head);
  expect(head.jobs.map((j) => j.stepId).sort()).toEqual(["answer", "dock", "see"]);
  expect([...frame.blobs.keys()]).toEqual([sha]);
  expect(Buffer.from(frame.blobs.get(sha)!)).toEqual(PNG_1PX);

  await createRun(); // a second run, leased by a worker that asks for JSON (or says nothing)
  const js = await leaseRaw();
  expect(js.headers.get("content-type")).toMatch(/^application\/json/);
  const body = LeaseResponseSchema.parse(await js.json());
  expect(body.jobs).toHaveLength(3);
  expect(Buffer.from(body.blobs![sha]!, "base64")).toEqual(PNG_1PX);
});

it("an empty long-poll answer is a frame with no jobs and no images", async () => {
  expect((await register(h.app)).status).toBe(200);
  const res = await leaseRaw(LEASE_FRAME_TYPE);
  expect(res.headers.get("content-type")).toBe(LEASE_FRAME_TYPE);
  const frame = decodeLeaseFrame(new Uint8Array(await res.arrayBuffer()));
  expect(LeaseFrameHeadSchema.parse(frame.head)).toEqual({ jobs: [], blobs: {} });
});
