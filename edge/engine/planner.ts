/**
 * The engine's view of the planner (workflows/src/plan.ts): static facts about each step, and
 * how a ready step becomes a job payload + cache key. A port, so engine tests can stub it; the
 * default is `workflowsPlanner`, which is the workflows/ planner itself (pure, re-run on demand:
 * nothing about a run's plan lives in memory — it is recomputed from the stored spec, inputs
 * and frozen catalog).
 */
import type { JobPayload, ModelCatalog, StepOutput, WorkflowSpec } from "../../workflows/index.js";
import { NonRetryableError } from "../../workflows/index.js";
import { plan, resolveOutputs, resolveStep, type PlannedStep } from "../../workflows/index.js";
import type { ResolvedInputs, StepError } from "../../db/types.js";

export interface StepInfo {
  stepId: string;
  op: string;
  model: string | null;
  /** Steps whose values this step's templates read (it waits for them). */
  valueDeps: string[];
  /** Steps whose tensors this step's recipe embeds (not waited for; a failure skips it). */
  tensorDeps: string[];
  maxAttempts: number;
  backoffMs: number;
  timeoutMs: number;
}

export type Resolved = { ok: true; cacheKey: string; payload: JobPayload } | { ok: false; error: StepError };

export interface PlannerPort {
  /** Static facts about every step, in spec order. Throws on a spec validation would reject. */
  steps(spec: WorkflowSpec, inputs: ResolvedInputs, catalog: ModelCatalog): StepInfo[];
  /** A step whose value deps have succeeded → its job payload and content-addressed cache key. */
  resolve(spec: WorkflowSpec, inputs: ResolvedInputs, catalog: ModelCatalog, stepId: string, outputs: Readonly<Record<string, StepOutput>>): Promise<Resolved>;
  /** The run's declared outputs from its steps' outputs. */
  outputs(spec: WorkflowSpec, inputs: ResolvedInputs, outputs: Readonly<Record<string, StepOutput>>): Record<string, unknown>;
}

/** Memo of the last plan per (spec, inputs, catalog) object identity: drafts reuse one run row. */
const planCache = new WeakMap<object, { inputs: object; catalog: object; planned: PlannedStep[] }>();
function planOf(spec: WorkflowSpec, inputs: ResolvedInputs, catalog: ModelCatalog): PlannedStep[] {
  const hit = planCache.get(spec);
  if (hit && hit.inputs === inputs && hit.catalog === catalog) return hit.planned;
  const planned = plan(spec, inputs, catalog);
  planCache.set(spec, { inputs, catalog, planned });
  return planned;
}

export const workflowsPlanner: PlannerPort = {
  steps(spec, inputs, catalog) {
    return planOf(spec, inputs, catalog).map((p) => ({
      stepId: p.id,
      op: p.op,
      model: p.model,
      valueDeps: p.valueDeps,
      tensorDeps: p.tensorDeps,
      maxAttempts: p.retry.maxAttempts,
      backoffMs: p.retry.backoffMs,
      timeoutMs: p.timeoutMs,
    }));
  },
  async resolve(spec, inputs, catalog, stepId, outputs) {
    try {
      const p = planOf(spec, inputs, catalog).find((s) => s.id === stepId);
      if (!p) return { ok: false, error: { code: "plan_failed", message: `step '${stepId}' is not in the plan`, retryable: false } };
      const r = p.job && p.cacheKey ? { job: p.job, cacheKey: p.cacheKey } : resolveStep(p, outputs);
      return { ok: true, cacheKey: r.cacheKey, payload: r.job };
    } catch (e) {
      const code = e instanceof NonRetryableError ? e.code : "plan_failed";
      return { ok: false, error: { code, message: (e as Error).message, retryable: false } };
    }
  },
  outputs(spec, inputs, outputs) {
    return resolveOutputs(spec, outputs, inputs);
  },
};
