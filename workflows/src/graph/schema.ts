/**
 * zod issues → the per-step error map: an issue at `["steps", 2, "params", "maxTokens"]` is
 * filed under `steps[2]`'s id with field `params.maxTokens`.
 */
import type { z } from "zod";
import { OPS } from "../spec.js";
import { INPUTS_KEY, OUTPUTS_KEY, SPEC_KEY, type KeyedIssue } from "./types.js";

type ZodIssue = z.ZodError["issues"][number];

/**
 * The map key of `steps[i]` in a raw spec: its id when that is a non-empty string.
 *
 * @example
 * stepKey({ steps: [{ id: "see" }] }, 0); // "see"
 */
export function stepKey(raw: unknown, i: number): string {
  const steps = (raw as { steps?: unknown } | null)?.steps;
  const id = Array.isArray(steps) ? (steps[i] as { id?: unknown } | null)?.id : undefined;
  return typeof id === "string" && id !== "" ? id : `steps[${i}]`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/**
 * File zod issues of `WorkflowSpecSchema.safeParse(raw)` under step ids / `$inputs` /
 * `$outputs` / `$spec`.
 *
 * @example
 * const r = WorkflowSpecSchema.safeParse(raw);
 * if (!r.success) toErrorMap(schemaIssues(r.error.issues, raw));
 */
export function schemaIssues(issues: readonly ZodIssue[], raw: unknown): KeyedIssue[] {
  const out: KeyedIssue[] = [];
  for (const issue of issues) {
    const path = issue.path;
    let key: string;
    let rest: readonly PropertyKey[];
    if (path[0] === "steps" && typeof path[1] === "number") [key, rest] = [stepKey(raw, path[1]), path.slice(2)];
    else if (path[0] === "inputs" && path.length > 1) [key, rest] = [INPUTS_KEY, path.slice(1)];
    else if (path[0] === "outputs" && path.length > 1) [key, rest] = [OUTPUTS_KEY, path.slice(1)];
    else [key, rest] = [SPEC_KEY, path];
    const field = rest.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) out.push({ key, field: field ? `${field}.${k}` : k, code: "unknown_field", message: `unknown field '${k}'` });
    } else if (issue.code === "invalid_union" && rest[rest.length - 1] === "op") {
      const op = valueAt(raw, path);
      out.push({ key, field, code: "unknown_op", message: `unknown op ${JSON.stringify(op) ?? "(missing)"} (expected one of ${OPS.join(", ")})` });
    } else out.push({ key, field, code: "schema", message: issue.message });
  }
  return out;
}
