/**
 * The one error shape of the API: `{ "error": { "code", "message", "details" } }`.
 * Handlers throw `apiError(...)` (an `HTTPException` carrying the body); the app's single
 * `onError` turns anything thrown into that shape — unknown errors become a 500 `internal`.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { storageErrorCode } from "../storage/errors.js";
import type { StorageHealth } from "../storage/health.js";

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

/** An HTTPException whose response is the API error shape. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    headers?: Record<string, string>,
  ) {
    super(status, { message });
    this.body = { error: { code, message, details } };
    this.headers = headers;
  }
  readonly body: ErrorBody;
  readonly headers: Record<string, string> | undefined;
}

/** @example throw apiError(404, "not_found", `run ${id} not found`, { runId: id }); */
export function apiError(status: ContentfulStatusCode, code: string, message: string, details: unknown = null, headers?: Record<string, string>): ApiError {
  return new ApiError(status, code, message, details, headers);
}

/** zod issues → `[{ field, code, message }]`, field as a dotted path (`steps.2.params.maxTokens`). */
export function zodIssues(err: z.ZodError, prefix = ""): { field: string; code: string; message: string }[] {
  return err.issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
    code: i.code,
    message: i.message,
  }));
}

/** Parse with a zod schema or throw a 400 `invalid_request` naming every bad field. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, what = "request body", prefix = ""): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = zodIssues(r.error, prefix);
    throw apiError(400, "invalid_request", `invalid ${what}: ${issues.map((i) => `${i.field || "(root)"}: ${i.message}`).join("; ")}`, { issues });
  }
  return r.data;
}

/** The app's `onError`: the one place that writes error responses. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    return c.json(err.body, err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    // hono's own (e.g. body-limit) — keep the status, use our shape
    const status = err.status;
    const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "http_error";
    return c.json({ error: { code, message: err.message || `HTTP ${status}`, details: null } }, status);
  }
  // the disk (or the database file) cannot take a write: the caller's request was fine, retry later
  const storageCode = storageErrorCode(err);
  if (storageCode) {
    const storage = (c.var as { storage?: StorageHealth }).storage;
    storage?.writeFailed(storageCode);
    const free = storage?.freeBytes();
    return c.json(
      {
        error: {
          code: "insufficient_storage",
          message: `the server cannot store this change right now (${storageCode}); reads still work, retry later`,
          details: { reason: storageCode, ...(free !== undefined ? { freeBytes: free } : {}) },
        },
      },
      507,
      { "Retry-After": "30" },
    );
  }
  console.error("[edge] unhandled error", err);
  return c.json({ error: { code: "internal", message: "internal error", details: null } }, 500);
}

/** JSON body or a 400 `invalid_json` (never a 500), also for a wrong content type. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw apiError(400, "invalid_json", "request body is empty; expected JSON");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw apiError(400, "invalid_json", `malformed JSON: ${(e as Error).message}`);
  }
}
