/**
 * The worker's side of the pool protocol (ARCHITECTURE.md section 4), over fetch. Every response
 * is validated with the wire schemas; non-2xx answers become `EdgeError`s with the status.
 */
import type { z } from "zod";
import {
  HeartbeatResponseSchema,
  LeaseResponseSchema,
  ProgressResponseSchema,
  RegisterResponseSchema,
  ResultsResponseSchema,
  type HeartbeatResponse,
  type JobResult,
  type LeaseResponse,
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

export class EdgeClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    readonly workerId: string,
  ) {}

  private async call<S extends z.ZodType>(path: string, body: unknown, schema: S, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<z.infer<S>> {
    const signals = [AbortSignal.timeout(opts.timeoutMs ?? 15_000), ...(opts.signal ? [opts.signal] : [])];
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
    const text = await res.text();
    if (!res.ok) throw new EdgeError(`${path} → ${res.status}: ${text.slice(0, 500)}`, res.status);
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

  /** Long-poll: resolves with ≥ 1 job or, after `waitMs`, with none. */
  lease(max: number, waitMs: number, signal?: AbortSignal): Promise<LeaseResponse> {
    return this.call("/v1/pool/lease", { workerId: this.workerId, max, waitMs }, LeaseResponseSchema, { signal, timeoutMs: waitMs + 15_000 });
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
    const res = await fetch(`${this.baseUrl}/v1/pool/blobs/${sha256}`, { headers: { authorization: `Bearer ${this.token}`, "x-worker-id": this.workerId }, signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new EdgeError(`blob ${sha256} → ${res.status}`, res.status);
    return new Uint8Array(await res.arrayBuffer());
  }
}
