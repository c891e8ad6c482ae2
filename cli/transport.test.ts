/**
 * The client's Node transport against a real node:http server on loopback, and its multipart
 * bytes against both of the edge's parsers (the fast one and the standard one it falls back to).
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMultipartFast } from "../edge/lib/multipart.js";
import { ApiError, MetalmClient } from "./client.js";
import { multipartBody, nodeFetch } from "./transport.js";

let server: Server;
let base: string;
const seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: Buffer; socket: number }[] = [];
let sockets = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const s = req.socket as typeof req.socket & { n?: number };
      s.n ??= ++sockets;
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks), socket: s.n });
      if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2_000);
      if (req.url === "/error") {
        res.writeHead(422, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ error: { code: "bad_input", message: "step s1: field x is wrong", details: { step: "s1" } } }));
      }
      if (req.url === "/v1/runs") {
        res.writeHead(202, { "content-type": "application/json", "idempotent-replayed": "true" });
        return void res.end(JSON.stringify({ id: "run_1", status: "queued" }));
      }
      res.writeHead(200, { "content-type": "application/json", "x-multi": ["a", "b"] });
      res.end(JSON.stringify({ echo: req.url, len: Buffer.concat(chunks).length }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("nodeFetch", () => {
  it("sends method, headers and a body with its Content-Length, and reads status, headers and JSON", async () => {
    const res = await nodeFetch(`${base}/x?q=1`, { method: "POST", headers: { "x-test": "yes" }, body: "héllo" });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(res.headers.get("x-multi")).toBe("a, b");
    expect(res.headers.get("absent")).toBeNull();
    expect(await res.json()).toEqual({ echo: "/x?q=1", len: 6 });
    const got = seen.at(-1)!;
    expect(got.method).toBe("POST");
    expect(got.headers["x-test"]).toBe("yes");
    expect(got.headers["content-length"]).toBe("6");
    expect(got.headers["transfer-encoding"]).toBeUndefined();
  });

  it("keeps the connection alive between calls", async () => {
    await (await nodeFetch(`${base}/a`, { method: "GET", headers: {} })).text();
    await (await nodeFetch(`${base}/b`, { method: "GET", headers: {} })).text();
    const [a, b] = seen.slice(-2);
    expect(a!.socket).toBe(b!.socket);
  });

  it("rejects with the network error, and with the signal's reason when aborted", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(nodeFetch(`http://127.0.0.1:${port}/`, { method: "GET", headers: {} })).rejects.toThrow(/ECONNREFUSED/);
    const ac = new AbortController();
    const p = nodeFetch(`${base}/slow`, { method: "GET", headers: {}, signal: ac.signal });
    setTimeout(() => ac.abort(new Error("given up")), 50);
    await expect(p).rejects.toThrow("given up");
    await expect(nodeFetch(`${base}/a`, { method: "GET", headers: {}, signal: AbortSignal.abort() })).rejects.toThrow();
    await expect(nodeFetch("ftp://127.0.0.1/", { method: "GET", headers: {} })).rejects.toThrow(/unsupported protocol/);
  });
});

describe("nodeFetch on a connection the server closes", () => {
  /** A server whose `drop(n, k)` says whether to close connection n at its k-th request without answering. */
  async function dropping(drop: (conn: number, k: number) => boolean) {
    let conns = 0;
    const requests: { conn: number; k: number; body: string }[] = [];
    const srv = createServer((req, res) => {
      const s = req.socket as typeof req.socket & { n?: number; k?: number };
      s.n ??= ++conns;
      s.k = (s.k ?? 0) + 1;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        requests.push({ conn: s.n!, k: s.k!, body: Buffer.concat(chunks).toString() });
        if (drop(s.n!, s.k!)) return void req.socket.destroy();
        res.end(`conn ${s.n} request ${s.k}`);
      });
    });
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`, requests, close: () => new Promise<void>((r) => srv.close(() => r())) };
  }

  it("sends a request once more on a new connection when a kept-alive one was closed under it (the idle-timeout race)", async () => {
    const s = await dropping((conn, k) => conn === 1 && k === 2); // connection 1 dies at its second request
    try {
      expect(await (await nodeFetch(s.url, { method: "POST", headers: {}, body: "one" })).text()).toBe("conn 1 request 1");
      expect(await (await nodeFetch(s.url, { method: "POST", headers: {}, body: "two" })).text()).toBe("conn 2 request 1");
      expect(s.requests.map((r) => `${r.conn}.${r.k}:${r.body}`)).toEqual(["1.1:one", "1.2:two", "2.1:two"]);
    } finally {
      await s.close();
    }
  });

  it("does not retry a request on a fresh connection, nor a second time", async () => {
    const fresh = await dropping(() => true);
    try {
      await expect(nodeFetch(fresh.url, { method: "POST", headers: {}, body: "x" })).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect(fresh.requests).toHaveLength(1);
    } finally {
      await fresh.close();
    }
    const twice = await dropping((conn, k) => (conn === 1 && k === 2) || conn === 2); // the retry dies too
    try {
      await (await nodeFetch(twice.url, { method: "GET", headers: {} })).text();
      await expect(nodeFetch(twice.url, { method: "GET", headers: {} })).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect(twice.requests.map((r) => `${r.conn}.${r.k}`)).toEqual(["1.1", "1.2", "2.1"]);
    } finally {
      await twice.close();
    }
  });
});

describe("multipartBody", () => {
  it("is parsed the same by the edge's fast parser and by the standard FormData parser", async () => {
    const png = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
    const blob = new Blob([new Uint8Array([1, 2, 3])], { type: "image/jpeg" });
    const { body, contentType } = await multipartBody({ request: JSON.stringify({ inputs: { q: "é?" } }) }, { image: png, other: blob });
    const fast = parseMultipartFast(body, contentType);
    expect(fast).toBeDefined();
    expect(fast!.request).toBe('{"inputs":{"q":"é?"}}');
    expect(fast!.image).toEqual(png);
    expect(fast!.other).toEqual(new Uint8Array([1, 2, 3]));
    const std = await new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } }).formData();
    expect(std.get("request")).toBe('{"inputs":{"q":"é?"}}');
    const file = std.get("image") as File;
    expect(file.name).toBe("image");
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(png);
    expect((std.get("other") as File).type).toBe("image/jpeg");
  });

  it("escapes quotes and line breaks in part names (WHATWG), and uses a fresh boundary each time", async () => {
    const a = await multipartBody({ 'we"ird\r\nname': "v" }, {});
    const b = await multipartBody({}, {});
    expect(new TextDecoder().decode(a.body)).toContain('name="we%22ird%0D%0Aname"');
    expect(a.contentType).not.toBe(b.contentType);
  });
});

describe("MetalmClient on Node", () => {
  it("posts a run with files as one multipart body with a Content-Length, and reads the answer's headers", async () => {
    const api = new MetalmClient(base, { validate: false, apiKey: "mlk_x" });
    const out = await api.createRun(
      { workflowId: "vqa", inputs: { question: "q" }, files: { image: new Uint8Array([9, 9]) } },
      { wait: 5, idempotencyKey: "k1" },
    );
    expect(out).toMatchObject({ finished: false, replayed: true, run: { id: "run_1" } });
    const got = seen.at(-1)!;
    expect(got.headers.authorization).toBe("Bearer mlk_x");
    expect(got.headers.prefer).toBe("wait=5");
    expect(got.headers["idempotency-key"]).toBe("k1");
    expect(Number(got.headers["content-length"])).toBe(got.body.length);
    const form = parseMultipartFast(new Uint8Array(got.body), got.headers["content-type"]!);
    expect(JSON.parse(form!.request as string)).toEqual({ workflowId: "vqa", inputs: { question: "q" } });
    expect(form!.image).toEqual(new Uint8Array([9, 9]));
  });

  it("turns an error answer into an ApiError with the API's code, message and details", async () => {
    const api = new MetalmClient(base, { validate: false });
    const e = await (api as unknown as { call(m: string, p: string): Promise<unknown> }).call("GET", "/error").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 422, code: "bad_input", message: "step s1: field x is wrong", details: { step: "s1" } });
  });

  it("sends through a given fetch instead when one is passed", async () => {
    const calls: string[] = [];
    const api = new MetalmClient(base, {
      validate: false,
      fetch: (async (url: string, init: RequestInit) => {
        calls.push(`${init.method} ${url}`);
        return fetch(url, init);
      }) as typeof fetch,
    });
    await api.readyz();
    expect(calls).toEqual([`GET ${base}/readyz`]);
  });
});
