/**
 * A small typed client of the edge's public API. Request and response types are inferred from
 * the same zod schemas the edge validates with and documents in /openapi.json (edge/api/schemas.ts,
 * workflows/src/spec.ts), and responses are checked against them (turn off with
 * `validate: false`, e.g. in benchmarks). Works on Node ≥ 20 (node:http on keep-alive
 * connections, cli/transport.ts; the SSE stream through fetch) and in browsers (fetch).
 *
 * @example
 * const api = new MetalmClient("http://127.0.0.1:8787");
 * const { run } = await api.createRun({ workflowId: "vqa", inputs: { question: "what color is the circle?" }, files: { image: png } }, { wait: 30 });
 * run.outputs; // { answer: "red" }
 */
import type { z } from "zod";
import { ListRunsResponseSchema, RunSchema, WorkflowVersionSchema, type CreateRunBodySchema, type ListRunsQuerySchema } from "../edge/api/schemas.js";
import { multipartBody, nodeFetch, onNode, type Answer, type Transport } from "./transport.js";
import { RunEventSchema, type ModelAdvert, type RunEvent as RunEventData, type WorkflowSpecSchema } from "../workflows/index.js";

export type Run = z.infer<typeof RunSchema>;
export type StepView = Run["steps"][number];
export type RunList = z.infer<typeof ListRunsResponseSchema>;
export type RunStatus = Run["status"];
export type ListRunsQuery = Partial<z.input<typeof ListRunsQuerySchema>>;
export type WorkflowSpecInput = z.input<typeof WorkflowSpecSchema>;
export type WorkflowVersion = z.infer<typeof WorkflowVersionSchema>;
export type CreateRunRequest = Omit<z.input<typeof CreateRunBodySchema>, "spec"> & {
  spec?: WorkflowSpecInput;
  /** Image inputs as bytes (sent as multipart file parts named after the input). */
  files?: Record<string, Uint8Array | Blob>;
};
export interface Readiness {
  ready: boolean;
  db: boolean;
  workers: number;
  models: string[];
}
/** One SSE event of `GET /v1/runs/:id/events`: its data (workflows/src/events.ts) plus the event id. */
export type RunEvent = RunEventData & { id: number };

/** A non-2xx answer, with the API's `{ error: { code, message, details } }` fields. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** Check responses against the API's zod schemas (default true). */
  validate?: boolean;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** Sends every request (default: node:http on Node, `fetch` in a browser; the SSE stream always through `fetch`). */
  fetch?: typeof fetch;
}

export class MetalmClient {
  readonly baseUrl: string;
  private readonly validate: boolean;
  private readonly fetchFn: typeof fetch;
  /** Buffered (non-streaming) calls: nodeFetch on Node unless a `fetch` was given. */
  private readonly send: Transport;
  private readonly apiKey?: string;

  constructor(baseUrl: string, opts: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.validate = opts.validate ?? true;
    this.fetchFn = opts.fetch ?? fetch;
    this.send = opts.fetch || !onNode ? (url, init) => this.fetchFn(url, init as RequestInit) : nodeFetch;
    this.apiKey = opts.apiKey;
  }

  private async call<S extends boolean = false>(
    method: string,
    path: string,
    init: { body?: string | Uint8Array; headers?: Record<string, string>; signal?: AbortSignal; okStatuses?: number[]; stream?: S } = {},
  ): Promise<S extends true ? Response : Answer> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const url = `${this.baseUrl}${path}`;
    const req = { method, body: init.body, headers, signal: init.signal };
    // a streamed answer (SSE) needs fetch's body stream; the rest go through the buffered transport
    const res: Answer = await (init.stream ? this.fetchFn(url, req as RequestInit) : this.send(url, req));
    if (!res.ok && !init.okStatuses?.includes(res.status)) {
      const text = await res.text();
      let err: { code?: string; message?: string; details?: unknown } = {};
      try {
        err = (JSON.parse(text) as { error?: typeof err }).error ?? {};
      } catch {
        /* not our error shape */
      }
      throw new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? (text.slice(0, 200) || res.statusText), err.details ?? null);
    }
    return res as S extends true ? Response : Answer;
  }

  private parse<T>(schema: z.ZodType<T>, json: unknown): T {
    return this.validate ? schema.parse(json) : (json as T);
  }

  /**
   * `POST /v1/runs`: an inline spec or a saved workflow, with inputs. Files go as multipart parts.
   * `wait` (seconds) asks the edge to answer with the finished run (`Prefer: wait=N`); `finished`
   * tells whether it did (200) or the run is still going (202).
   */
  async createRun(
    req: CreateRunRequest,
    opts: { wait?: number; idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<{ run: Run; finished: boolean; replayed: boolean }> {
    const { files, ...body } = req;
    const headers: Record<string, string> = {};
    if (opts.wait) headers.prefer = `wait=${opts.wait}`;
    if (opts.idempotencyKey) headers["idempotency-key"] = opts.idempotencyKey;
    let payload: string | Uint8Array;
    if (files && Object.keys(files).length) {
      const form = await multipartBody({ request: JSON.stringify(body) }, files);
      payload = form.body;
      headers["content-type"] = form.contentType;
    } else {
      payload = JSON.stringify(body);
      headers["content-type"] = "application/json";
    }
    const res = await this.call("POST", "/v1/runs", { body: payload, headers, signal: opts.signal });
    return { run: this.parse(RunSchema, await res.json()), finished: res.status === 200, replayed: res.headers.get("idempotent-replayed") === "true" };
  }

  /** `GET /v1/runs/:id` (an unknown id is an `ApiError` with status 404). */
  async getRun(id: string, signal?: AbortSignal): Promise<Run> {
    return this.parse(RunSchema, await (await this.call("GET", `/v1/runs/${encodeURIComponent(id)}`, { signal })).json());
  }

  /** `GET /v1/runs` with filters and cursor pagination. */
  async listRuns(q: ListRunsQuery = {}): Promise<RunList> {
    const qs = new URLSearchParams(
      Object.entries(q)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    ).toString();
    return this.parse(ListRunsResponseSchema, await (await this.call("GET", `/v1/runs${qs ? `?${qs}` : ""}`)).json());
  }

  async cancelRun(id: string): Promise<Run> {
    return this.parse(RunSchema, await (await this.call("POST", `/v1/runs/${encodeURIComponent(id)}/cancel`)).json());
  }

  /**
   * The run's events (SSE), from after `lastEventId`, until `run.completed`. A dropped
   * connection is resumed with `Last-Event-ID`, so no event is missed or repeated.
   */
  async *events(id: string, opts: { lastEventId?: number; signal?: AbortSignal } = {}): AsyncGenerator<RunEvent> {
    let last = opts.lastEventId ?? 0;
    for (let attempt = 0; ; attempt++) {
      const res = await this.call("GET", `/v1/runs/${encodeURIComponent(id)}/events`, {
        headers: { accept: "text/event-stream", "last-event-id": String(last) },
        signal: opts.signal,
        stream: true,
      });
      let completed = false;
      try {
        for await (const ev of parseSse(res.body!)) {
          if (ev.id !== undefined) last = Number(ev.id);
          const raw: unknown = JSON.parse(ev.data);
          const data = this.validate ? RunEventSchema.parse(raw) : (raw as RunEventData);
          attempt = 0;
          yield { ...data, id: last };
          if (data.type === "run.completed") completed = true;
        }
      } catch (e) {
        if (opts.signal?.aborted || attempt >= 5) throw e;
      }
      if (completed) return;
      // the stream ended without run.completed (server restart, proxy timeout): resume
      if (attempt >= 5) throw new Error(`event stream of run ${id} keeps ending before run.completed`);
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }

  /** Waits for a run to finish (following its events) and returns it. */
  async waitForRun(id: string, opts: { signal?: AbortSignal; onEvent?: (e: RunEvent) => void } = {}): Promise<Run> {
    for await (const e of this.events(id, { signal: opts.signal })) opts.onEvent?.(e);
    return this.getRun(id, opts.signal);
  }

  async models(): Promise<Array<ModelAdvert & { workers: string[] }>> {
    return ((await (await this.call("GET", "/v1/models")).json()) as { models: Array<ModelAdvert & { workers: string[] }> }).models;
  }

  /** `GET /readyz`: ready = database reachable and at least one worker with a model. */
  async readyz(): Promise<Readiness> {
    return (await (await this.call("GET", "/readyz", { okStatuses: [503] })).json()) as Readiness;
  }

  async saveWorkflow(id: string, spec: unknown): Promise<WorkflowVersion> {
    const res = await this.call("POST", "/v1/workflows", { body: JSON.stringify({ id, spec }), headers: { "content-type": "application/json" } });
    return this.parse(WorkflowVersionSchema, await res.json());
  }

  async getWorkflow(id: string): Promise<WorkflowVersion | null> {
    try {
      return this.parse(WorkflowVersionSchema, await (await this.call("GET", `/v1/workflows/${encodeURIComponent(id)}`)).json());
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }

  /** Saves `spec` as a new version of workflow `id` unless the latest version is the same; true if saved. */
  async saveWorkflowIfChanged(id: string, spec: unknown): Promise<boolean> {
    const { WorkflowSpecSchema } = await import("../workflows/index.js");
    const parsed = WorkflowSpecSchema.safeParse(spec);
    const latest = await this.getWorkflow(id);
    if (latest && parsed.success && JSON.stringify(latest.spec) === JSON.stringify(parsed.data)) return false;
    await this.saveWorkflow(id, spec);
    return true;
  }

  /** The edge's Prometheus text (`/metrics`). */
  async metrics(): Promise<string> {
    return (await this.call("GET", "/metrics")).text();
  }
}

/** Minimal `text/event-stream` parser (WHATWG rules for `id`, `event`, `data`; comments skipped). */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<{ id?: string; event?: string; data: string }> {
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader();
  let buf = "";
  let cur: { id?: string; event?: string; data: string[] } = { data: [] };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let nl: number;
      while ((nl = buf.search(/\r\n|\n|\r/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (cur.data.length) yield { id: cur.id, event: cur.event, data: cur.data.join("\n") };
          cur = { data: [] };
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? "" : line.slice(colon + 1);
        if (v.startsWith(" ")) v = v.slice(1);
        if (field === "data") cur.data.push(v);
        else if (field === "id") cur.id = v;
        else if (field === "event") cur.event = v;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
