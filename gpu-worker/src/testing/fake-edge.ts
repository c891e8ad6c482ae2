/**
 * A minimal in-process edge speaking the pool protocol (docs/CONTRACTS.md §4), for testing
 * worker processes through their real HTTP door: leases with expiry and re-lease, long-poll,
 * heartbeats with cancel/lost, results applied at most once, progress, blobs. Hooks let a test
 * delay blobs or see calls.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { JobResultSchema, type Job, type JobResult, type ProgressToken } from "../../../workflows/index.js";

interface Entry {
  job: Job;
  worker?: string;
  leaseUntil: number;
  leases: number;
  done?: JobResult & { workerId: string };
  cancel: boolean;
}

export class FakeEdge {
  readonly token = "test-pool-token";
  readonly jobs = new Map<string, Entry>();
  readonly workers = new Map<string, unknown>();
  readonly progress = new Map<string, ProgressToken[]>();
  readonly blobs = new Map<string, Uint8Array>();
  readonly calls: { path: string; workerId?: string }[] = [];
  /** Delay (ms) before serving a blob to a worker; Infinity = never answer. */
  blobDelay: (workerId: string | undefined) => number = () => 0;
  private server?: Server;
  private waiters: (() => void)[] = [];
  private seq = 0;
  url = "";

  constructor(readonly leaseMs = 1000) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((e) => this.send(res, 500, { error: String(e) })));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.waiters.splice(0)) w();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  enqueue(job: Omit<Job, "leaseId">): void {
    this.jobs.set(job.jobId, { job: { ...job, leaseId: "none" } as Job, leaseUntil: 0, leases: 0, cancel: false });
    for (const w of this.waiters.splice(0)) w();
  }

  /** Hands a job's lease to someone else (as if it expired and was re-leased): its holder is told `lost`. */
  steal(jobId: string, to = "thief"): void {
    const e = this.jobs.get(jobId)!;
    e.worker = to;
    e.job = { ...e.job, leaseId: `lease-${++this.seq}` };
  }

  /** Results posted for a job, by any worker (accepted or not). */
  readonly posted: { jobId: string; workerId: string }[] = [];

  /** Forgets every registration (as an edge that lost its state would): calls answer 409 until workers register again. */
  forget(): void {
    this.workers.clear();
  }

  cancel(jobId: string): void {
    this.jobs.get(jobId)!.cancel = true;
  }

  /** Resolves when every job has a result. */
  async allDone(timeoutMs = 20_000): Promise<void> {
    const t0 = Date.now();
    while ([...this.jobs.values()].some((e) => !e.done)) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`jobs not done: ${[...this.jobs.values()].filter((e) => !e.done).map((e) => e.job.jobId)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private available(): Entry[] {
    const now = Date.now();
    return [...this.jobs.values()].filter((e) => !e.done && (!e.worker || e.leaseUntil < now));
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${this.token}`) return this.send(res, 401, { error: { code: "unauthorized" } });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    const path = req.url ?? "";
    this.calls.push({ path, workerId: body.workerId });
    const now = () => Date.now();
    if (path.startsWith("/v1/pool/blobs/")) {
      const sha = path.split("/").pop()!;
      const b = this.blobs.get(sha);
      if (!b) return this.send(res, 404, { error: { code: "not_found" } });
      const delay = this.blobDelay(req.headers["x-worker-id"] as string | undefined);
      if (delay === Infinity) return; // never answer
      await new Promise((r) => setTimeout(r, delay));
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(b);
      return;
    }
    if (path !== "/v1/pool/register" && !this.workers.has(body.workerId)) return this.send(res, 409, { error: { code: "worker_not_registered" } });
    switch (path) {
      case "/v1/pool/register":
        this.workers.set(body.workerId, body);
        return this.send(res, 200, { leaseMs: this.leaseMs });
      case "/v1/pool/lease": {
        const deadline = now() + body.waitMs;
        let avail = this.available();
        while (avail.length === 0 && now() < deadline && !res.destroyed) {
          await new Promise<void>((r) => {
            const t = setTimeout(r, Math.min(100, deadline - now()));
            this.waiters.push(() => (clearTimeout(t), r()));
          });
          avail = this.available();
        }
        const jobs = avail.slice(0, body.max).map((e) => {
          e.worker = body.workerId;
          e.leaseUntil = now() + this.leaseMs;
          e.leases++;
          e.job = { ...e.job, leaseId: `lease-${++this.seq}`, attempt: e.leases };
          return e.job;
        });
        return this.send(res, 200, { jobs });
      }
      case "/v1/pool/heartbeat": {
        const cancel: string[] = [];
        const lost: string[] = [];
        for (const id of body.jobIds as string[]) {
          const e = this.jobs.get(id);
          if (!e || e.worker !== body.workerId || e.done) lost.push(id);
          else {
            e.leaseUntil = now() + this.leaseMs;
            if (e.cancel) cancel.push(id);
          }
        }
        return this.send(res, 200, { cancel, lost });
      }
      case "/v1/pool/progress": {
        this.progress.set(body.jobId, [...(this.progress.get(body.jobId) ?? []), ...body.tokens]);
        return this.send(res, 200, { cancel: this.jobs.get(body.jobId)?.cancel ?? false });
      }
      case "/v1/pool/results": {
        const accepted: string[] = [];
        const ignored: string[] = [];
        for (const raw of body.results) {
          const r = JobResultSchema.parse(raw);
          this.posted.push({ jobId: r.jobId, workerId: body.workerId });
          const e = this.jobs.get(r.jobId);
          if (!e || e.done || e.worker !== body.workerId || e.job.leaseId !== r.leaseId) ignored.push(r.jobId);
          else {
            e.done = { ...r, workerId: body.workerId };
            // tokens the worker did not post as progress ride on the result (as the edge stores them)
            if (r.ok && r.progress?.length) this.progress.set(r.jobId, [...(this.progress.get(r.jobId) ?? []), ...r.progress]);
            accepted.push(r.jobId);
          }
        }
        return this.send(res, 200, { accepted, ignored });
      }
    }
    return this.send(res, 404, { error: { code: "not_found", path } });
  }
}
