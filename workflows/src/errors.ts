/**
 * Typed errors of the workflow engine, and their wire form `{ code, message, retryable, details }`.
 *
 * - `NonRetryableError`: retrying cannot help (a bad spec, a shape mismatch, an unknown model).
 * - `RetryableError`: it may work next time (a lost worker, an expired lease, out of memory).
 * An error of any other class counts as retryable when serialized: only an explicit
 * `NonRetryableError` stops retries (the inngest convention).
 */
import type { WireError } from "./wire.js";

/** The fixed fields an error crosses the wire with (same shape as `WireError`). */
export type SerializedError = WireError;

/** Base class: an error with a stable machine `code` and JSON-safe `details`. */
export abstract class WorkflowError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
  /** The wire form. */
  toJSON(): SerializedError {
    return serializeError(this);
  }
}

/**
 * Retrying will not help.
 *
 * @example
 * throw new NonRetryableError("shape_mismatch", "connector expects 128, got 64", { expected: 128 });
 */
export class NonRetryableError extends WorkflowError {
  readonly retryable = false;
}

/**
 * May succeed on another attempt.
 *
 * @example
 * throw new RetryableError("worker_lost", "lease expired");
 */
export class RetryableError extends WorkflowError {
  readonly retryable = true;
}

/**
 * Turn anything thrown into the wire form. Unknown errors get code `internal` and are retryable.
 *
 * @example
 * serializeError(new RetryableError("oom", "out of memory"));
 * // { code: "oom", message: "out of memory", retryable: true }
 */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof WorkflowError) {
    const out: SerializedError = { code: err.code, message: err.message, retryable: err.retryable };
    if (err.details !== undefined) out.details = err.details;
    return out;
  }
  if (err instanceof Error) return { code: "internal", message: err.message || err.name, retryable: true };
  return { code: "internal", message: String(err), retryable: true };
}

/**
 * Rebuild a typed error from its wire form (`RetryableError` or `NonRetryableError` by `retryable`).
 *
 * @example
 * const e = deserializeError({ code: "oom", message: "x", retryable: true });
 * e instanceof RetryableError; // true
 */
export function deserializeError(s: SerializedError): WorkflowError {
  return s.retryable ? new RetryableError(s.code, s.message, s.details) : new NonRetryableError(s.code, s.message, s.details);
}

/**
 * Whether an error thrown anywhere should be retried (see the module note).
 *
 * @example
 * isRetryable(new RetryableError("lost", "gone")); // true
 */
export function isRetryable(err: unknown): boolean {
  return serializeError(err).retryable;
}

/** Per-location problems (see `graph/types.ts`); repeated here to keep errors.ts dependency-free. */
export type ValidationErrorMapLike = Record<string, { code: string; message: string; field: string }[]>;

/**
 * A workflow (or its input values) failed validation. `details.errors` is the per-step error map
 * (`{ [stepId | "$inputs" | "$outputs" | "$spec"]: { code, message, field }[] }`).
 *
 * @example
 * const r = validateWorkflow(json);
 * if (!r.ok) throw r.error; // WorkflowValidationError, code "invalid_workflow"
 */
export class WorkflowValidationError extends NonRetryableError {
  declare readonly details: { errors: ValidationErrorMapLike };
  constructor(errors: ValidationErrorMapLike) {
    const all = Object.entries(errors).flatMap(([k, list]) => list.map((e) => ({ k, ...e })));
    const first = all[0];
    const where = first ? ` — ${first.k}${first.field ? `.${first.field}` : ""}: ${first.message}` : "";
    const more = all.length > 1 ? ` (and ${all.length - 1} more)` : "";
    super("invalid_workflow", `invalid workflow${where}${more}`, { errors });
  }
}
