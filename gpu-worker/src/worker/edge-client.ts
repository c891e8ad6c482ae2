/**
 * The worker's side of the pool protocol (docs/CONTRACTS.md §4), over node:http with
 * keep-alive connections. Every response is validated with the wire schemas; non-2xx answers
 * become `EdgeError`s with the status.
 *
 * Why not `fetch`: a worker makes a few requests per job, and undici's fetch (WHATWG streams,
 * Headers, AbortSignal plumbing) cost more worker CPU per request than the model's own work for a
 * small VQA job (bench/e2e.ts). node:http on a keep-alive agent reuses the connection and does less.
 */
import http from "node:http";
import https from "node:https";
import type { z } from "zod";
import {
  decodeLeaseFrame,
  HeartbeatResponseSchema,
  LEASE_FRAME_TYPE,
  lostToIdleClose,
  LeaseFrameHeadSchema,
  LeaseResponseSchema,
  ProgressResponseSchema,
  RegisterResponseSchema,
  ResultsResponseSchema,
  type HeartbeatResponse,
  type Job,
  type JobResult,
  type ProgressToken,
  type RegisterRequest,
  type ResultsResponse,
} from "../../../workflows/index.js";

export class EdgeError extends Error {
  override name = "EdgeError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface Reply {
  status: number;
  body: Buffer;
  /** The answer's Content-Type. */
  type: string;
}

/** A lease answer with its images as bytes, whichever form the edge sent (binary frame or JSON). */
export interface LeaseAnswer {
  jobs: Job[];
  blobs: Map<string, Uint8Array>;
}

export class EdgeClient {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    readonly workerId: string,
  ) {
    this.url = new URL(baseUrl);
    this.mod = this.url.protocol === "https:" ? https : http;
    // a long-poll, a result post, a heartbeat and a blob fetch can be in flight at once
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: 8 });
  }

  /**
   * One request; resolves with the status and the whole body (rejects on network errors, timeout
   * or abort). A request lost to a kept-alive connection the edge closed under it (its idle
   * timeout racing the write: `lostToIdleClose`, workflows/src/keep-alive.ts) is sent once more
   * on a new connection.
   */
  private request(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    opts: { signal?: AbortSignal; timeoutMs?: number; accept?: string } = {},
    retried = false,
  ): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const headers: Record<string, string | number> = { authorization: `Bearer ${this.token}`, "x-worker-id": this.workerId };
      if (opts.accept) headers.accept = opts.accept;
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(body);
      }
      let answered = false;
      const req = this.mod.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port,
          path: `${this.url.pathname.replace(/\/$/, "")}${path}`,
          method,
          headers,
          agent: this.agent,
          signal: opts.signal,
        },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), type: res.headers["content-type"] ?? "" }));
          res.on("error", reject);
        },
      );
      req.setTimeout(opts.timeoutMs ?? 15_000, () => req.destroy(new Error(`${path}: timed out after ${opts.timeoutMs ?? 15_000} ms`)));
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (!retried && !opts.signal?.aborted && lostToIdleClose(e, req.reusedSocket, answered)) resolve(this.request(method, path, body, opts, true));
        else reject(e);
      });
      req.end(body);
    });
  }

  private async call<S extends z.ZodType>(
    path: string,
    body: unknown,
    schema: S,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<z.infer<S>> {
    return this.parse(path, await this.request("POST", path, JSON.stringify(body), opts), schema);
  }

  /** A JSON answer checked against `schema`; a non-2xx one is an `EdgeError`. */
  private parse<S extends z.ZodType>(path: string, res: Reply, schema: S): z.infer<S> {
    const text = res.body.toString("utf8");
    if (res.status < 200 || res.status >= 300) throw new EdgeError(`${path} → ${res.status}: ${text.slice(0, 500)}`, res.status);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new EdgeError(`${path} → invalid JSON: ${text.slice(0, 200)}`, res.status);
    }
    const r = schema.safeParse(json);
    if (!r.success) throw new EdgeError(`${path} → unexpected response: ${r.error.message.slice(0, 500)}`, res.status);
    return r.data;
  }

  register(req: Omit<RegisterRequest, "workerId">): Promise<{ leaseMs: number }> {
    return this.call("/v1/pool/register", { workerId: this.workerId, ...req }, RegisterResponseSchema);
  }

  /**
   * Long-poll: resolves with ≥ 1 job (and the images they read, inline) or, after `waitMs`, with
   * none. Asks for the binary answer (workflows/src/lease-frame.ts: the images as bytes, not
   * base64 in JSON) and takes the JSON one from an edge that does not send it.
   */
  async lease(max: number, waitMs: number, signal?: AbortSignal): Promise<LeaseAnswer> {
    const path = "/v1/pool/lease";
    const res = await this.request("POST", path, JSON.stringify({ workerId: this.workerId, max, waitMs }), {
      signal,
      timeoutMs: waitMs + 15_000,
      accept: `${LEASE_FRAME_TYPE}, application/json`,
    });
    if (res.status >= 200 && res.status < 300 && res.type.startsWith(LEASE_FRAME_TYPE)) {
      let frame: ReturnType<typeof decodeLeaseFrame>;
      try {
        frame = decodeLeaseFrame(res.body);
      } catch (e) {
        throw new EdgeError(`${path} → ${(e as Error).message}`, res.status);
      }
      const head = LeaseFrameHeadSchema.safeParse(frame.head);
      if (!head.success) throw new EdgeError(`${path} → unexpected response: ${head.error.message.slice(0, 500)}`, res.status);
      return { jobs: head.data.jobs, blobs: frame.blobs };
    }
    const json = this.parse(path, res, LeaseResponseSchema);
    return { jobs: json.jobs, blobs: new Map(Object.entries(json.blobs ?? {}).map(([sha, b64]) => [sha, new Uint8Array(Buffer.from(b64, "base64"))])) };
  }

  heartbeat(jobIds: string[]): Promise<HeartbeatResponse> {
    return this.call("/v1/pool/heartbeat", { workerId: this.workerId, jobIds }, HeartbeatResponseSchema);
  }

  progress(jobId: string, tokens: ProgressToken[]): Promise<{ cancel: boolean }> {
    return this.call("/v1/pool/progress", { workerId: this.workerId, jobId, tokens }, ProgressResponseSchema);
  }

  results(results: JobResult[]): Promise<ResultsResponse> {
    return this.call("/v1/pool/results", { workerId: this.workerId, results }, ResultsResponseSchema);
  }

  /** Input bytes by sha256 (`GET /v1/pool/blobs/:sha256`). */
  async blob(sha256: string): Promise<Uint8Array> {
    const res = await this.request("GET", `/v1/pool/blobs/${sha256}`, undefined, { timeoutMs: 30_000 });
    if (res.status !== 200) throw new EdgeError(`blob ${sha256} → ${res.status}`, res.status);
    return new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength);
  }

  /** Closes idle keep-alive connections (on stop). */
  close(): void {
    this.agent.destroy();
  }
}
