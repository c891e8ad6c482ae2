/**
 * The planner (docs/CONTRACTS.md §2): spec + resolved inputs + catalog → planned steps, each with
 * its job payload and content-addressed cache key as soon as they are computable.
 *
 * Tensor deps (`from`, `span`) never make a step wait: the job carries the whole recipe and the
 * worker recomputes or reuses the encoder output. Value deps (`{{steps.x.field}}`) do: such a
 * step's text is only known once `x` succeeded, so its payload and key are computed then, by
 * `resolveStep`. Value deps propagate through recipes: a connect step whose encode step's
 * text says `{{steps.answer.text}}` also waits for `answer`.
 */
import { NonRetryableError } from "./errors.js";
import { pickConnector } from "./graph/unknown-connector.js";
import { hashJson } from "./hash.js";
import { isImageValue, withInputDefaults, type InputValues } from "./inputs.js";
import type { DecodeParams, Op, RetryPolicy, Step, WorkflowSpec } from "./spec.js";
import { parseTemplate } from "./template.js";
import type { ConnectRecipe, EncodeRecipe, JobPayload, ModelAdvert, ModelCatalog, Segment, StepOutput } from "./wire.js";

/** Bump when the key recipe changes, so old memoized outputs stop matching. */
export const CACHE_KEY_VERSION = 1;

/** Text whose step references are still open: literal pieces and `{ stepId, field }` holes. */
export type PendingText = (string | { stepId: string; field: string })[];
export type PendingEncodeRecipe = Omit<EncodeRecipe, "text"> & { text?: PendingText };
export type PendingConnectRecipe = { connector: string; source: PendingEncodeRecipe };
export type PendingSegment = { kind: "span"; recipe: PendingConnectRecipe } | { kind: "text"; text: PendingText };
/** A job payload with open text (inputs already substituted). */
export type PendingPayload =
  | { op: "encode"; model: string; recipe: PendingEncodeRecipe }
  | { op: "connect"; model: string; recipe: PendingConnectRecipe }
  | { op: "decode"; model: string; segments: PendingSegment[]; params: DecodeParams }
  | { op: "explain"; model: string; segments: PendingSegment[]; labels: string[]; params: DecodeParams };

/** One step of a plan. `job` and `cacheKey` are set when `valueDeps` is empty. */
export interface PlannedStep {
  id: string;
  index: number;
  op: Op;
  /** The model whose weights the step runs (a connect step's is its encode step's). */
  model: string;
  modelSha256: string;
  /** Steps whose tensors this one uses (`from`, `span`); never waited for. */
  tensorDeps: string[];
  /** Steps whose values this one's text needs (also through recipes); waited for. */
  valueDeps: string[];
  retry: RetryPolicy;
  timeoutMs: number;
  pending: PendingPayload;
  job?: JobPayload;
  cacheKey?: string;
}

/** A step's payload and cache key, once computable. */
export interface ResolvedStep {
  job: JobPayload;
  cacheKey: string;
}

function planError(message: string, details?: unknown): NonRetryableError {
  return new NonRetryableError("plan_failed", message, details);
}

function pendingText(src: string, inputs: Readonly<Record<string, unknown>>): PendingText {
  const t = parseTemplate(src);
  if (t.errors.length) throw planError(`bad template: ${t.errors[0]!.message}`);
  const out: PendingText = [];
  const push = (s: string) => (typeof out[out.length - 1] === "string" ? (out[out.length - 1] += s) : out.push(s));
  for (const p of t.parts) {
    if (p.kind === "text") push(p.text);
    else if (p.ref.kind === "step") out.push({ stepId: p.ref.stepId, field: p.ref.field });
    else {
      const v = inputs[p.ref.name];
      if (typeof v !== "string" && typeof v !== "number") throw planError(`input '${p.ref.name}' has no text value`);
      push(String(v));
    }
  }
  return out;
}

function advertOf(catalog: ModelCatalog, model: string): ModelAdvert {
  const a = Object.hasOwn(catalog, model) ? catalog[model] : undefined;
  if (!a) throw planError(`unknown model '${model}'`);
  return a;
}

/**
 * Plan a validated spec. `inputs` are resolved values (images as `{ sha256, mime }`); declared
 * defaults are applied here. Throws `NonRetryableError("plan_failed")` on what validation
 * would have rejected.
 *
 * @example
 * const steps = plan(spec, { image: { sha256, mime: "image/png" } }, catalog);
 * steps.filter((s) => s.job).map((s) => s.id); // ["see", "dock", "answer"]: leasable now
 */
export function plan(spec: WorkflowSpec, inputs: InputValues, catalog: ModelCatalog): PlannedStep[] {
  const values = withInputDefaults(spec, inputs);
  const byId = new Map<string, PlannedStep>();
  const out: PlannedStep[] = [];
  const encodeOf = (id: string) => {
    const s = byId.get(id);
    if (s?.pending.op !== "encode") throw planError(`'${id}' is not an earlier encode step`);
    return s.pending;
  };
  const connectOf = (id: string) => {
    const s = byId.get(id);
    if (s?.pending.op !== "connect") throw planError(`'${id}' is not an earlier connect step`);
    return s.pending;
  };
  spec.steps.forEach((step: Step, index) => {
    let pending: PendingPayload;
    let tensorDeps: string[] = [];
    switch (step.op) {
      case "encode": {
        const recipe: PendingEncodeRecipe = { model: step.model, encoder: step.encoder };
        if (step.image !== undefined) {
          const ref = parseTemplate(step.image).refs[0];
          const v = ref?.kind === "input" ? values[ref.name] : undefined;
          if (!isImageValue(v)) throw planError(`step '${step.id}': image input has no image value`);
          recipe.image = { sha256: v.sha256 };
        }
        if (step.text !== undefined) recipe.text = pendingText(step.text, values);
        pending = { op: "encode", model: step.model, recipe };
        break;
      }
      case "connect": {
        const source = encodeOf(step.from).recipe;
        const connector = pickConnector(advertOf(catalog, source.model), source.encoder, step.connector);
        if (!connector) throw planError(`step '${step.id}': no connector for encoder '${source.encoder}'`);
        pending = { op: "connect", model: source.model, recipe: { connector: connector.name, source } };
        tensorDeps = [step.from];
        break;
      }
      case "decode":
      case "explain": {
        const segments: PendingSegment[] = step.segments.map((seg) => {
          if ("text" in seg) return { kind: "text", text: pendingText(seg.text, values) };
          const c = connectOf(seg.span);
          if (c.model !== step.model) throw planError(`step '${step.id}': span '${seg.span}' belongs to model '${c.model}'`);
          tensorDeps.push(seg.span);
          return { kind: "span", recipe: c.recipe };
        });
        tensorDeps = [...new Set(tensorDeps)];
        pending =
          step.op === "decode"
            ? { op: "decode", model: step.model, segments, params: step.params }
            : { op: "explain", model: step.model, segments, labels: step.labels, params: step.params };
        break;
      }
    }
    const planned: PlannedStep = {
      id: step.id,
      index,
      op: step.op,
      model: pending.model,
      modelSha256: advertOf(catalog, pending.model).sha256,
      tensorDeps,
      valueDeps: valueDepsOf(pending),
      retry: step.retry,
      timeoutMs: step.timeoutMs,
      pending,
    };
    if (planned.valueDeps.length === 0) Object.assign(planned, resolveStep(planned, {}));
    byId.set(step.id, planned);
    out.push(planned);
  });
  return out;
}

function textsOf(p: PendingPayload): PendingText[] {
  const enc = (r: PendingEncodeRecipe) => (r.text ? [r.text] : []);
  const segs = (s: PendingSegment[]) => s.flatMap((x) => (x.kind === "text" ? [x.text] : enc(x.recipe.source)));
  switch (p.op) {
    case "encode":
      return enc(p.recipe);
    case "connect":
      return enc(p.recipe.source);
    case "decode":
    case "explain":
      return segs(p.segments);
  }
}

function valueDepsOf(p: PendingPayload): string[] {
  const ids = new Set<string>();
  for (const t of textsOf(p)) for (const piece of t) if (typeof piece !== "string") ids.add(piece.stepId);
  return [...ids];
}

/**
 * The value of `{{steps.<id>.<field>}}` in a step output, if it has one.
 *
 * @example
 * outputField(decodeOutput, "text"); // "red"
 */
export function outputField(output: StepOutput | undefined, field: string): string | undefined {
  if (!output || (output.op !== "decode" && output.op !== "explain")) return undefined;
  const v = (output as Record<string, unknown>)[field];
  return typeof v === "string" ? v : undefined;
}

/** Outputs of earlier steps by id (only succeeded / cached steps need to be present). */
export type OutputsById = Readonly<Record<string, StepOutput | undefined>>;

function fill(t: PendingText, outputs: OutputsById): string {
  return t
    .map((piece) => {
      if (typeof piece === "string") return piece;
      const v = outputField(Object.hasOwn(outputs, piece.stepId) ? outputs[piece.stepId] : undefined, piece.field);
      if (v === undefined) throw new NonRetryableError("unresolved_reference", `{{steps.${piece.stepId}.${piece.field}}} has no value yet`, piece);
      return v;
    })
    .join("");
}

/**
 * Compute a step's job payload and cache key, filling `{{steps.*}}` holes from `outputsById`.
 * Call it when every value dep has succeeded; throws `NonRetryableError("unresolved_reference")`
 * otherwise.
 *
 * @example
 * const { job, cacheKey } = resolveStep(planned.find((s) => s.id === "why")!, { answer: answerOutput });
 */
export function resolveStep(planned: PlannedStep, outputsById: OutputsById): ResolvedStep {
  const enc = (r: PendingEncodeRecipe): EncodeRecipe => {
    const { text, ...rest } = r;
    return text === undefined ? { ...rest } : { ...rest, text: fill(text, outputsById) };
  };
  const con = (r: PendingConnectRecipe): ConnectRecipe => ({ connector: r.connector, source: enc(r.source) });
  const segs = (s: PendingSegment[]): Segment[] =>
    s.map((x) => (x.kind === "text" ? { kind: "text", text: fill(x.text, outputsById) } : { kind: "span", recipe: con(x.recipe) }));
  const p = planned.pending;
  let job: JobPayload;
  switch (p.op) {
    case "encode":
      job = { op: "encode", model: p.model, recipe: enc(p.recipe) };
      break;
    case "connect":
      job = { op: "connect", model: p.model, recipe: con(p.recipe) };
      break;
    case "decode":
      job = { op: "decode", model: p.model, segments: segs(p.segments), params: p.params };
      break;
    case "explain":
      job = { op: "explain", model: p.model, segments: segs(p.segments), labels: p.labels, params: p.params };
      break;
  }
  return { job, cacheKey: cacheKeyOf(job, planned.modelSha256) };
}

/**
 * Key of an encoder output: what determines its tensor.
 *
 * @example
 * encodeKey({ model: "metalm-tiny", encoder: "vision", image: { sha256 } }, advert.sha256);
 */
export function encodeKey(r: EncodeRecipe, modelSha256: string): string {
  return hashJson({ v: CACHE_KEY_VERSION, op: "encode", model: modelSha256, encoder: r.encoder, image: r.image?.sha256, text: r.text });
}

/**
 * Key of a connector output: the connector plus its upstream encode key.
 *
 * @example
 * connectKey({ connector: "vision", source: recipe }, advert.sha256);
 */
export function connectKey(r: ConnectRecipe, modelSha256: string): string {
  return hashJson({ v: CACHE_KEY_VERSION, op: "connect", model: modelSha256, connector: r.connector, upstream: [encodeKey(r.source, modelSha256)] });
}

/**
 * The content-addressed cache key of a resolved job: sha256 of the canonical JSON of
 * `{ op, params, model sha256, upstream cache keys, input content hashes, resolved text }`.
 * Model *names* and retry/timeout settings are not part of it: they do not change the output.
 *
 * @example
 * cacheKeyOf({ op: "encode", model: "metalm-tiny", recipe }, advert.sha256); // 64 hex digits
 */
export function cacheKeyOf(job: JobPayload, modelSha256: string): string {
  switch (job.op) {
    case "encode":
      return encodeKey(job.recipe, modelSha256);
    case "connect":
      return connectKey(job.recipe, modelSha256);
    case "decode":
    case "explain": {
      const segments = job.segments.map((s) => (s.kind === "text" ? { text: s.text } : { span: connectKey(s.recipe, modelSha256) }));
      const labels = job.op === "explain" ? job.labels : undefined;
      return hashJson({ v: CACHE_KEY_VERSION, op: job.op, model: modelSha256, params: job.params, labels, segments });
    }
  }
}

/**
 * The declared outputs of a run, rendered from step outputs (and inputs). An output whose
 * references have no value (a step that did not succeed) is `null`.
 *
 * @example
 * resolveOutputs(spec, { answer: decodeOut, why: explainOut });
 * // { answer: "red", label: "entailment", explanation: "…" }
 */
export function resolveOutputs(spec: WorkflowSpec, outputsById: OutputsById, inputs: InputValues = {}): Record<string, string | null> {
  const values = withInputDefaults(spec, inputs);
  const out: Record<string, string | null> = {};
  for (const [name, src] of Object.entries(spec.outputs)) {
    try {
      out[name] = fill(pendingText(src, values), outputsById);
    } catch {
      out[name] = null;
    }
  }
  return out;
}
