/**
 * DB rows → API JSON. Times are milliseconds since the epoch (as in the pool protocol).
 */
import type { RunRow, StepRow } from "../../db/schema.js";

export function presentStep(s: StepRow) {
  return {
    id: s.stepId,
    op: s.op,
    model: s.model,
    status: s.status,
    attempts: s.attempts,
    maxAttempts: s.maxAttempts,
    cacheKey: s.cacheKey,
    cacheHit: s.cacheHit,
    cachedFrom: s.cachedFrom,
    workerId: s.workerId,
    queuedAt: s.queuedAt,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    queueMs: s.queueMs,
    computeMs: s.computeMs,
    output: s.output ?? null,
    receipt: s.receipt ?? null,
    error: s.error ?? null,
  };
}

export function presentRunSummary(r: RunRow) {
  return {
    id: r.id,
    status: r.status,
    name: r.name,
    workflowId: r.workflowId,
    workflowVersion: r.workflowVersion,
    tags: r.tags,
    parentRunId: r.parentRunId,
    rerunFrom: r.rerunFrom,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    outputs: r.outputs ?? null,
    error: r.error ?? null,
  };
}

export function presentRun(r: RunRow, steps: StepRow[]) {
  return { ...presentRunSummary(r), inputs: r.inputs, spec: r.spec, steps: steps.map(presentStep) };
}
