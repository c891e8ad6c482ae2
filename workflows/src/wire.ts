/**
 * The pool protocol between the edge and gpu-workers (docs/CONTRACTS.md §4): zod schemas and
 * their types. JSON over HTTP, times in ms, `Authorization: Bearer <pool token>` on every call.
 *
 * Wire objects are *tolerant readers*: unknown fields are stripped rather than rejected, so a
 * newer worker can talk to an older edge (and back). Only the spec (spec.ts) is strict.
 * Numbers must be finite (JSON has no Infinity): a worker clamps a `-Infinity` log-prob to
 * `MIN_LOGPROB`.
 */
import { z } from "zod";
import { DecodeParamsSchema, OpSchema } from "./spec.js";

/** Lowercase hex sha256. */
export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, "expected a lowercase hex sha256");
/** The log-prob a worker sends instead of `-Infinity`. */
export const MIN_LOGPROB = -1e9;

const Id = z.string().min(1).max(256);
const Ms = z.number().int().min(0);

// ---------------------------------------------------------------- model adverts

export const ModalitySchema = z.enum(["image", "text", "image+text"]);
export type Modality = z.infer<typeof ModalitySchema>;

export const EncoderAdvertSchema = z.object({
  name: z.string().min(1),
  modality: ModalitySchema,
  hiddenSize: z.number().int().positive(),
});
export type EncoderAdvert = z.infer<typeof EncoderAdvertSchema>;

export const ConnectorAdvertSchema = z.object({ name: z.string().min(1), encoder: z.string().min(1) });
export type ConnectorAdvert = z.infer<typeof ConnectorAdvertSchema>;

/** A configured execution provider a worker could not use, and why (onnxruntime's error, first line). */
export const ProviderFallbackSchema = z.object({ provider: z.string().min(1), reason: z.string().max(1000) }).meta({ id: "ProviderFallback" });
export type ProviderFallback = z.infer<typeof ProviderFallbackSchema>;

/**
 * Which execution provider a model runs on, per worker (docs/CONTRACTS.md §4): the one its
 * sessions were actually created with (`webgpu`, `cpu`, or `webgpu+cpu` when only some graphs
 * loaded on the GPU), the configured order (CPU last), and every preferred provider that fell back.
 */
const providerFields = {
  executionProvider: z.string().min(1),
  requestedProviders: z.array(z.string().min(1)).max(16),
  providerFallbacks: z.array(ProviderFallbackSchema).max(16),
};

/**
 * What a worker says about one loaded model package. `vocabSize` (optional, an addition to
 * docs/CONTRACTS.md §4) lets validation check `topK ≤ vocab`; the provider fields (optional:
 * workers before them do not send them) say where the model actually runs on that worker.
 */
export const ModelAdvertSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1),
    sha256: Sha256Schema,
    encoders: z.array(EncoderAdvertSchema),
    connectors: z.array(ConnectorAdvertSchema),
    ops: z.array(OpSchema).min(1),
    vocabSize: z.number().int().positive().optional(),
    executionProvider: providerFields.executionProvider.optional(),
    requestedProviders: providerFields.requestedProviders.optional(),
    providerFallbacks: providerFields.providerFallbacks.optional(),
  })
  .meta({ id: "ModelAdvert" });
export type ModelAdvert = z.infer<typeof ModelAdvertSchema>;

/**
 * The models a validation or plan is checked against: model name → advert (the edge merges the
 * adverts of live workers, see `catalogFrom`).
 */
export type ModelCatalog = Readonly<Record<string, ModelAdvert>>;

/**
 * Build a catalog from adverts (e.g. of every live worker). The first advert of a name wins, so
 * pass them in a stable order (e.g. by registration time).
 *
 * @example
 * const catalog = catalogFrom(workers.flatMap((w) => w.models));
 * catalog["metalm-tiny"]?.sha256;
 */
export function catalogFrom(adverts: Iterable<ModelAdvert>): ModelCatalog {
  const out: Record<string, ModelAdvert> = {};
  for (const a of adverts) if (!Object.hasOwn(out, a.name)) out[a.name] = a;
  return out;
}

// ---------------------------------------------------------------- recipes

/** How to (re)compute an encoder output: the worker caches it by content. */
export const EncodeRecipeSchema = z
  .object({
    model: z.string().min(1),
    encoder: z.string().min(1),
    image: z.object({ sha256: Sha256Schema }).optional(),
    text: z.string().optional(),
  })
  .meta({ id: "EncodeRecipe" });
export type EncodeRecipe = z.infer<typeof EncodeRecipeSchema>;

export const ConnectRecipeSchema = z.object({ connector: z.string().min(1), source: EncodeRecipeSchema }).meta({ id: "ConnectRecipe" });
export type ConnectRecipe = z.infer<typeof ConnectRecipeSchema>;

/** A resolved decode segment: a connected span (by recipe) or literal text. */
export const SegmentSchema = z
  .discriminatedUnion("kind", [z.object({ kind: z.literal("span"), recipe: ConnectRecipeSchema }), z.object({ kind: z.literal("text"), text: z.string() })])
  .meta({ id: "Segment" });
export type Segment = z.infer<typeof SegmentSchema>;

// ---------------------------------------------------------------- jobs

const jobBase = {
  jobId: Id,
  leaseId: Id,
  runId: Id,
  stepId: Id,
  attempt: z.number().int().min(1),
  deadlineAt: Ms,
  model: z.string().min(1),
  /**
   * The tenant the job runs for: the worker partitions its encoder cache by it, so a cache hit
   * never tells one tenant that another processed the same image. Absent = one shared partition.
   */
  tenant: z.string().max(256).optional(),
};

export const EncodeJobSchema = z.object({ ...jobBase, op: z.literal("encode"), recipe: EncodeRecipeSchema });
export const ConnectJobSchema = z.object({ ...jobBase, op: z.literal("connect"), recipe: ConnectRecipeSchema });
export const DecodeJobSchema = z.object({
  ...jobBase,
  op: z.literal("decode"),
  segments: z.array(SegmentSchema).min(1),
  params: DecodeParamsSchema,
});
export const ExplainJobSchema = z.object({
  ...jobBase,
  op: z.literal("explain"),
  segments: z.array(SegmentSchema).min(1),
  labels: z.array(z.string().min(1)).min(2).max(16),
  params: DecodeParamsSchema,
});
/** A leased job; discriminated on `op`. */
export const JobSchema = z.discriminatedUnion("op", [EncodeJobSchema, ConnectJobSchema, DecodeJobSchema, ExplainJobSchema]).meta({ id: "Job" });
export type Job = z.infer<typeof JobSchema>;
export type JobOf<O extends Job["op"]> = Extract<Job, { op: O }>;
/** The op-specific part of a job (what the planner computes; the edge adds ids and lease data). */
export type JobPayload =
  | { op: "encode"; model: string; recipe: EncodeRecipe }
  | { op: "connect"; model: string; recipe: ConnectRecipe }
  | { op: "decode"; model: string; segments: Segment[]; params: z.infer<typeof DecodeParamsSchema> }
  | { op: "explain"; model: string; segments: Segment[]; labels: string[]; params: z.infer<typeof DecodeParamsSchema> };

// ---------------------------------------------------------------- results

export const TensorSummarySchema = z
  .object({
    shape: z.array(z.number().int().min(0)),
    dtype: z.literal("float32"),
    norm: z.number(),
    mean: z.number(),
    std: z.number(),
  })
  .meta({ id: "TensorSummary" });
export type TensorSummary = z.infer<typeof TensorSummarySchema>;

export const FinishReasonSchema = z.enum(["stop", "length", "eos", "canceled"]);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

/** A step's output; discriminated on `op`. Only tensor *summaries* travel. */
export const StepOutputSchema = z
  .discriminatedUnion("op", [
    z.object({ op: z.literal("encode"), tensor: TensorSummarySchema }),
    z.object({ op: z.literal("connect"), tensor: TensorSummarySchema }),
    z.object({
      op: z.literal("decode"),
      text: z.string(),
      tokens: z.array(z.number().int()),
      tokenTexts: z.array(z.string()),
      logprobs: z.array(z.number()),
      finishReason: FinishReasonSchema,
    }),
    z.object({
      op: z.literal("explain"),
      label: z.string(),
      scores: z.record(z.string(), z.number()),
      explanation: z.string(),
      text: z.string(),
      tokens: z.array(z.number().int()),
      logprobs: z.array(z.number()),
    }),
  ])
  .meta({ id: "StepOutput" });
export type StepOutput = z.infer<typeof StepOutputSchema>;
export type StepOutputOf<O extends StepOutput["op"]> = Extract<StepOutput, { op: O }>;

/** Reproducibility receipt attached to every successful result. */
export const ReceiptSchema = z
  .object({
    workerId: z.string(),
    model: z.string(),
    modelVersion: z.string(),
    modelSha256: z.string(),
    tokenizerSha256: z.string(),
    ortVersion: z.string(),
    /** The provider the model's sessions actually run on (not merely the configured one). */
    executionProvider: z.string(),
    /** The configured providers in order (CPU last); with `providerFallbacks`, shows a fallback. Optional: older receipts lack them. */
    requestedProviders: providerFields.requestedProviders.optional(),
    providerFallbacks: providerFields.providerFallbacks.optional(),
    seed: z.number().int(),
    params: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "Receipt" });
export type Receipt = z.infer<typeof ReceiptSchema>;

/** An error as it crosses the wire (see errors.ts for rebuilding typed errors). */
export const WireErrorSchema = z
  .object({
    code: z.string().min(1),
    message: z.string(),
    retryable: z.boolean(),
    details: z.unknown().optional(),
  })
  .meta({ id: "WireError" });
export type WireError = z.infer<typeof WireErrorSchema>;

/** One generated token, for SSE `token` events. */
export const ProgressTokenSchema = z.object({
  index: z.number().int().min(0),
  id: z.number().int().min(0),
  text: z.string(),
  logprob: z.number(),
});
export type ProgressToken = z.infer<typeof ProgressTokenSchema>;

export const JobResultOkSchema = z.object({
  jobId: Id,
  leaseId: Id,
  ok: z.literal(true),
  output: StepOutputSchema,
  receipt: ReceiptSchema,
  timings: z.object({ queueMs: z.number().min(0).optional(), computeMs: z.number().min(0) }),
  cacheHit: z.boolean(),
  /**
   * Tokens the worker generated but did not post to `/progress` because the result was ready
   * first: the edge writes their `token` events with the result (one request instead of two).
   */
  progress: z.array(ProgressTokenSchema).max(1024).optional(),
});
export const JobResultErrSchema = z.object({ jobId: Id, leaseId: Id, ok: z.literal(false), error: WireErrorSchema });
/** A job's outcome; discriminated on `ok`. */
export const JobResultSchema = z.discriminatedUnion("ok", [JobResultOkSchema, JobResultErrSchema]).meta({ id: "JobResult" });
export type JobResult = z.infer<typeof JobResultSchema>;

// ---------------------------------------------------------------- requests / responses

/** `POST /v1/pool/register`. */
export const RegisterRequestSchema = z
  .object({ workerId: Id, executionProvider: z.string().min(1), ortVersion: z.string().min(1), models: z.array(ModelAdvertSchema) })
  .meta({ id: "RegisterRequest" });
export type RegisterRequest = z.infer<typeof RegisterRequestSchema>;
export const RegisterResponseSchema = z.object({ leaseMs: z.number().int().positive() }).meta({ id: "RegisterResponse" });
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;

/** `POST /v1/pool/lease` (long-poll). */
export const LeaseRequestSchema = z
  .object({ workerId: Id, max: z.number().int().min(1).max(64), waitMs: z.number().int().min(0).max(25_000) })
  .meta({ id: "LeaseRequest" });
export type LeaseRequest = z.infer<typeof LeaseRequestSchema>;
export const LeaseResponseSchema = z
  .object({
    jobs: z.array(JobSchema),
    /**
     * The input images the leased jobs read, by sha256, base64-encoded (small ones only: the
     * worker fetches the rest with `GET /v1/pool/blobs/:sha256`, and keeps both in a local
     * content-addressed cache). Saves the worker a request per image.
     */
    blobs: z.record(Sha256Schema, z.string()).optional(),
  })
  .meta({ id: "LeaseResponse" });
export type LeaseResponse = z.infer<typeof LeaseResponseSchema>;
/**
 * The JSON head of a binary lease answer (workflows/src/lease-frame.ts): the jobs, and where each
 * image's bytes are in the frame (`[offset, length]` after the head).
 */
export const LeaseFrameHeadSchema = z.object({
  jobs: z.array(JobSchema),
  blobs: z.record(Sha256Schema, z.tuple([z.number().int().min(0), z.number().int().min(0)])),
});

/** `POST /v1/pool/heartbeat`. */
export const HeartbeatRequestSchema = z.object({ workerId: Id, jobIds: z.array(Id).max(1024) }).meta({ id: "HeartbeatRequest" });
export type HeartbeatRequest = z.infer<typeof HeartbeatRequestSchema>;
export const HeartbeatResponseSchema = z.object({ cancel: z.array(Id), lost: z.array(Id) }).meta({ id: "HeartbeatResponse" });
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

/** `POST /v1/pool/progress` (optional). */
export const ProgressRequestSchema = z.object({ workerId: Id, jobId: Id, tokens: z.array(ProgressTokenSchema).max(1024) }).meta({ id: "ProgressRequest" });
export type ProgressRequest = z.infer<typeof ProgressRequestSchema>;
export const ProgressResponseSchema = z.object({ cancel: z.boolean() }).meta({ id: "ProgressResponse" });
export type ProgressResponse = z.infer<typeof ProgressResponseSchema>;

/** `POST /v1/pool/results`. */
export const ResultsRequestSchema = z.object({ workerId: Id, results: z.array(JobResultSchema).min(1).max(64) }).meta({ id: "ResultsRequest" });
export type ResultsRequest = z.infer<typeof ResultsRequestSchema>;
export const ResultsResponseSchema = z.object({ accepted: z.array(Id), ignored: z.array(Id) }).meta({ id: "ResultsResponse" });
export type ResultsResponse = z.infer<typeof ResultsResponseSchema>;
