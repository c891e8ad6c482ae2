/**
 * The worker's calls against a real loopback server: the lease asks for the binary frame, reads the
 * frame or a JSON answer into the same shape (images as bytes), and turns a malformed frame into
 * an `EdgeError` naming what is wrong; a call on a kept-alive connection the server closed under
 * it is sent once more on a new one.
 */
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { encodeLeaseFrame, LEASE_FRAME_TYPE } from "../../../workflows/index.js";
import { EdgeClient, EdgeError } from "./edge-client.js";

const sha = "ab".repeat(32);
const image = new Uint8Array(2000).map((_, i) => (i * 13) % 256);
const job = {
  jobId: "j1",
  leaseId: "l1",
  runId: "r1",
  stepId: "see",
  attempt: 1,
  deadlineAt: 1,
  model: "metalm-tiny",
  op: "encode",
  recipe: { model: "metalm-tiny", encoder: "vision", image: { sha256: sha } },
};

let answer: { type: string; body: Uint8Array | string } = { type: "application/json", body: "{}" };
let seen: IncomingHttpHeaders = {};
let server: Server;
let client: EdgeClient;
beforeAll(async () => {
  server = createServer((req, res) => {
    seen = req.headers;
    req.resume().on("end", () => {
      res.writeHead(200, { "content-type": answer.type });
      res.end(answer.body);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  client = new EdgeClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "tok", "w1");
});
afterAll(() => {
  client.close();
  server.close();
});

it("asks for the frame and reads its jobs and images", async () => {
  answer = { type: LEASE_FRAME_TYPE, body: encodeLeaseFrame([job], { [sha]: image }) };
  const got = await client.lease(4, 0);
  expect(seen.accept).toContain(LEASE_FRAME_TYPE);
  expect(got.jobs).toEqual([job]);
  expect(got.blobs.get(sha)).toEqual(image);
});

it("reads a JSON answer (an edge without the frame) into the same shape", async () => {
  answer = { type: "application/json; charset=UTF-8", body: JSON.stringify({ jobs: [job], blobs: { [sha]: Buffer.from(image).toString("base64") } }) };
  const got = await client.lease(4, 0);
  expect(got.jobs).toEqual([job]);
  expect(got.blobs.get(sha)).toEqual(image);
});

it("a malformed frame or a head that is not a lease is an EdgeError saying so", async () => {
  const full = encodeLeaseFrame([job], { [sha]: image });
  answer = { type: LEASE_FRAME_TYPE, body: full.subarray(0, full.length - 10) }; // the image cut short
  await expect(client.lease(4, 0)).rejects.toThrow(EdgeError);
  await expect(client.lease(4, 0)).rejects.toThrow(/outside the \d+ bytes of images/);
  answer = { type: LEASE_FRAME_TYPE, body: encodeLeaseFrame([{ ...job, op: "teleport" }], {}) };
  await expect(client.lease(4, 0)).rejects.toThrow(/unexpected response/);
});

it("sends a call once more on a new connection when the edge closed the kept-alive one under it, and only then", async () => {
  // connection 1 is closed at its 2nd request without an answer (the edge's idle timeout racing
  // the write); connection 3 is closed at its 1st (a fresh connection: no retry)
  let conns = 0;
  const log: string[] = [];
  const srv = createServer((req, res) => {
    const s = req.socket as typeof req.socket & { n?: number; k?: number };
    s.n ??= ++conns;
    s.k = (s.k ?? 0) + 1;
    log.push(`${s.n}.${s.k}`);
    req.resume().on("end", () => {
      if ((s.n === 1 && s.k === 2) || s.n === 3) return void req.socket.destroy();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ cancel: [], lost: [] }));
    });
  });
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const c = new EdgeClient(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`, "tok", "w1");
  try {
    expect(await c.heartbeat(["j1"])).toEqual({ cancel: [], lost: [] });
    expect(await c.heartbeat(["j1"])).toEqual({ cancel: [], lost: [] }); // 1.2 dropped → 2.1
    expect(log).toEqual(["1.1", "1.2", "2.1"]);
    c.close(); // the next call opens connection 3, which the server drops at once
    const fresh = new EdgeClient(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`, "tok", "w1");
    await expect(fresh.heartbeat(["j1"])).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(log).toEqual(["1.1", "1.2", "2.1", "3.1"]);
    fresh.close();
  } finally {
    c.close();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
