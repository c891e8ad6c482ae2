/**
 * How the API client (cli/client.ts) sends a request. On Node it defaults to `nodeFetch`: HTTP/1.1
 * over node:http / node:https on keep-alive agents, the answer read whole (an `Answer`: status,
 * headers, text/json — what the client reads of a `Response`). The global `fetch` (undici) costs about 1 ms of CPU per call more on a loopback
 * VQA POST (header normalisation, a body stream per request and per answer, its FormData
 * encoder), which on a 2-core box is CPU the service's own processes do not get — see
 * bench/client.ts. Streamed answers (the SSE events) still go through `fetch`, as does everything
 * in a browser. `multipartBody` encodes form parts as one byte array with its Content-Length, so
 * either transport sends the same bytes.
 *
 * @example
 * const res = await nodeFetch("http://127.0.0.1:8787/readyz", { method: "GET", headers: {} });
 * await res.json();
 */
import type * as Http from "node:http";
import { lostToIdleClose } from "../workflows/index.js";

export interface TransportInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}
/** What the client reads of an answer: a `Response` has it all; `nodeFetch` answers with just this. */
export interface Answer {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}
export type Transport = (url: string, init: TransportInit) => Promise<Answer>;

/** A whole answer in memory (no body stream to set up and drain, as a `Response` has). */
class BufferedAnswer implements Answer {
  constructor(
    readonly status: number,
    readonly statusText: string,
    private readonly raw: Http.IncomingHttpHeaders,
    private readonly bytes: Buffer,
  ) {}
  get ok() {
    return this.status >= 200 && this.status < 300;
  }
  readonly headers = {
    get: (name: string): string | null => {
      const v = this.raw[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    },
  };
  async text() {
    return this.bytes.toString("utf8");
  }
  async json() {
    return JSON.parse(this.bytes.toString("utf8")) as unknown;
  }
}

/** On Node (not in a browser, not in a bundle for one). */
export const onNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

let mods: { http: typeof Http; https: typeof import("node:https"); agents: { "http:": Http.Agent; "https:": Http.Agent } } | undefined;

async function load() {
  if (mods) return mods;
  const [http, https] = await Promise.all([import("node:http"), import("node:https")]);
  // keep-alive: a connection is reused by the next call instead of a TCP handshake per request
  const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };
  mods = { http, https, agents };
  return mods;
}

/**
 * A `fetch` for the client's non-streaming calls on Node: no redirects followed, no compression
 * asked for, the whole answer buffered. Network errors reject with Node's error (ECONNREFUSED…),
 * an aborted signal with the signal's reason.
 *
 * A request lost to a kept-alive connection the server closed under it (its idle timeout: 5 s on
 * Node's server; `lostToIdleClose`, workflows/src/keep-alive.ts) is sent once more on a new
 * connection; a request on a fresh connection, or one that got any answer, is never retried.
 */
export const nodeFetch: Transport = async (url, init): Promise<Answer> => {
  const { http, https, agents } = await load();
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`unsupported protocol ${u.protocol} in ${url}`);
  init.signal?.throwIfAborted();
  const body = typeof init.body === "string" ? Buffer.from(init.body) : init.body;
  const headers: Record<string, string | number> = { ...init.headers };
  if (body) headers["content-length"] = body.byteLength;
  const attempt = (retried: boolean) =>
    new Promise<Answer>((resolve, reject) => {
      let answered = false;
      const req = (u.protocol === "https:" ? https : http).request(
        u,
        { method: init.method, headers, agent: agents[u.protocol as "http:" | "https:"] },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => resolve(new BufferedAnswer(res.statusCode ?? 0, res.statusMessage ?? "", res.headers, Buffer.concat(chunks))));
        },
      );
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (!retried && !init.signal?.aborted && lostToIdleClose(e, req.reusedSocket, answered)) resolve(attempt(true));
        else reject(e);
      });
      if (init.signal) {
        const onAbort = () => req.destroy(init.signal!.reason as Error);
        init.signal.addEventListener("abort", onAbort, { once: true });
        req.on("close", () => init.signal!.removeEventListener("abort", onAbort));
      }
      req.end(body);
    });
  return attempt(false);
};

/** A form part's name or file name inside its quoted header parameter (WHATWG's escaping). */
const quoted = (s: string) => s.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");

/**
 * `multipart/form-data` as bytes: text fields first, then files (filename = the part's name,
 * Content-Type = the Blob's type or application/octet-stream) — the shape a FormData with
 * `set(name, blob, name)` has, encoded once, with a random boundary.
 */
export async function multipartBody(
  fields: Record<string, string>,
  files: Record<string, Uint8Array | Blob>,
): Promise<{ body: Uint8Array; contentType: string }> {
  const rand = crypto.getRandomValues(new Uint8Array(12));
  const boundary = `----metalm${Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(fields))
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`));
  for (const [name, f] of Object.entries(files)) {
    const type = f instanceof Blob && f.type ? f.type : "application/octet-stream";
    parts.push(
      enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"; filename="${quoted(name)}"\r\nContent-Type: ${type}\r\n\r\n`),
    );
    parts.push(f instanceof Blob ? new Uint8Array(await f.arrayBuffer()) : f);
    parts.push(enc.encode("\r\n"));
  }
  parts.push(enc.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.byteLength;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
