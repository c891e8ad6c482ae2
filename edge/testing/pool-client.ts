/**
 * A minimal pool-protocol client over real HTTP (fetch), for protocol tests. It does only what
 * the test tells it to — the protocol is the subject under test.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { HeartbeatResponse, Job, JobResult, ModelAdvert, ResultsResponse } from "../../workflows/index.js";
import type { EdgeApp } from "../app.js";

export async function listen(app: EdgeApp): Promise<{ url: string; close(): Promise<void> }> {
  let server!: ServerType;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => resolve(info.port));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?(): void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export class PoolClient {
  constructor(
    readonly baseUrl: string,
    readonly workerId: string,
    readonly token: string,
  ) {}

  async post<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  async register(models: ModelAdvert[]): Promise<{ leaseMs: number }> {
    const r = await this.post<{ leaseMs: number }>("/v1/pool/register", {
      workerId: this.workerId,
      executionProvider: "cpu",
      ortVersion: "1.30.0",
      models,
    });
    if (r.status !== 200) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async lease(max: number, waitMs: number): Promise<Job[]> {
    const r = await this.post<{ jobs: Job[] }>("/v1/pool/lease", { workerId: this.workerId, max, waitMs });
    if (r.status !== 200) throw new Error(`lease: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.jobs;
  }

  async heartbeat(jobIds: string[]): Promise<HeartbeatResponse> {
    return (await this.post<HeartbeatResponse>("/v1/pool/heartbeat", { workerId: this.workerId, jobIds })).body;
  }

  async results(results: JobResult[]): Promise<ResultsResponse> {
    return (await this.post<ResultsResponse>("/v1/pool/results", { workerId: this.workerId, results })).body;
  }

  async progress(jobId: string, tokens: { index: number; id: number; text: string; logprob: number }[]) {
    return (await this.post<{ cancel: boolean }>("/v1/pool/progress", { workerId: this.workerId, jobId, tokens })).body;
  }

  async blob(sha256: string): Promise<Uint8Array> {
    const res = await fetch(`${this.baseUrl}/v1/pool/blobs/${sha256}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (res.status !== 200) throw new Error(`blob: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
}
