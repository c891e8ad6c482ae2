/**
 * The UI is a client of the public API, called in-process (`app.request`): pages show exactly
 * what `/v1/*` answers, tenant scoping and validation included, and cannot drift from it. The
 * caller's credentials (Authorization, X-API-Key, Cookie) are forwarded, so whatever picks the tenant for
 * the API picks it for the UI.
 */
import type { Hono } from "hono";
import type { Ctx, Env } from "../context.js";
import type { presentRun, presentRunSummary } from "../lib/present.js";

export type RunView = ReturnType<typeof presentRun>;
export type RunSummaryView = ReturnType<typeof presentRunSummary>;
export type StepView = RunView["steps"][number];
export interface RunListView {
  runs: RunSummaryView[];
  nextCursor: string | null;
  counts: Record<string, number>;
}
export interface ApiErrorBody {
  error: { code: string; message: string; details: unknown };
}

export type ApiResult<T> = { ok: true; status: number; body: T; headers: Headers } | { ok: false; status: number; body: ApiErrorBody; headers: Headers };

const FORWARD = ["authorization", "x-api-key", "cookie"];

/** Calls the app's own API with the caller's credentials. */
export class ApiClient {
  constructor(
    private readonly app: Hono<Env>,
    private readonly c: Ctx,
  ) {}

  async call<T>(path: string, init: { method?: string; json?: unknown; form?: FormData } = {}): Promise<ApiResult<T>> {
    const headers = new Headers();
    for (const h of FORWARD) {
      const v = this.c.req.header(h);
      if (v) headers.set(h, v);
    }
    let body: BodyInit | undefined;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    } else if (init.form) body = init.form;
    const res = await this.app.request(path, { method: init.method ?? (body ? "POST" : "GET"), headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: { code: "bad_response", message: text.slice(0, 200), details: null } };
    }
    if (res.ok) return { ok: true, status: res.status, body: parsed as T, headers: res.headers };
    return { ok: false, status: res.status, body: parsed as ApiErrorBody, headers: res.headers };
  }

  run(id: string) {
    return this.call<RunView>(`/v1/runs/${encodeURIComponent(id)}`);
  }

  listRuns(query: URLSearchParams) {
    const q = query.toString();
    return this.call<RunListView>(`/v1/runs${q ? `?${q}` : ""}`);
  }
}
