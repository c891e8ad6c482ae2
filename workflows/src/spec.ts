/**
 * The workflow spec: one strict zod schema, the single source of the spec's TS types
 * (docs/CONTRACTS.md §1). The edge validates request bodies and generates its OpenAPI document
 * from these schemas. Plain `zod`, so the worker's parsing does not depend on a web framework:
 * `.meta({ id })` names a schema, which the edge's generator turns into a `$ref`.
 *
 * Only the *shape* is checked here. Everything that needs the whole graph (references, cycles,
 * types of referenced steps, the model catalog, input values) lives in `graph/`.
 */
import { z } from "zod";

/** Step id: `[a-z][a-z0-9_-]{0,63}`. */
export const STEP_ID_RE = /^[a-z][a-z0-9_-]{0,63}$/;
/** Input / output name: `[a-zA-Z_][a-zA-Z0-9_]{0,63}`. */
export const INPUT_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;
/** Workflow name: `[a-z0-9-_]{1,64}`. */
export const WORKFLOW_NAME_RE = /^[a-z0-9_-]{1,64}$/;
/** An `image` field must be exactly one input reference (whitespace inside the braces allowed). */
export const IMAGE_REF_RE = /^\{\{\s*inputs\.([a-zA-Z_][a-zA-Z0-9_]{0,63})\s*\}\}$/;

/** Longest template string accepted (characters). */
export const MAX_TEMPLATE_LENGTH = 16_384;
/** Most steps a workflow may have. */
export const MAX_STEPS = 256;
/** The largest `params.maxTokens` a spec may ask for (the edge's `MAX_TOKENS` limit can only lower it). */
export const MAX_TOKENS = 256;
/** Labels `explain` uses when none are given. */
export const DEFAULT_LABELS = ["entailment", "contradiction", "neutral"] as const;

/** The four ops of the workflow vocabulary. */
export const OpSchema = z.enum(["encode", "connect", "decode", "explain"]).meta({ id: "Op" });
export type Op = z.infer<typeof OpSchema>;
/** Every op, in a fixed order (handy for exhaustive tables and tests). */
export const OPS: readonly Op[] = OpSchema.options;

const StepIdSchema = z.string().regex(STEP_ID_RE, "step id must match [a-z][a-z0-9_-]{0,63}");
const TemplateSchema = z.string().max(MAX_TEMPLATE_LENGTH);
const NameSchema = z.string().min(1).max(128);

// ---------------------------------------------------------------- inputs

export const ImageInputDeclSchema = z.object({ type: z.literal("image"), description: z.string().max(2000).optional() }).strict();

export const TextInputDeclSchema = z
  .object({
    type: z.literal("text"),
    description: z.string().max(2000).optional(),
    default: z.string().max(MAX_TEMPLATE_LENGTH).optional(),
    maxLength: z.number().int().min(1).max(MAX_TEMPLATE_LENGTH).optional(),
  })
  .strict()
  .refine((d) => d.default === undefined || d.maxLength === undefined || d.default.length <= d.maxLength, {
    message: "default is longer than maxLength",
    path: ["default"],
  });

export const NumberInputDeclSchema = z
  .object({
    type: z.literal("number"),
    description: z.string().max(2000).optional(),
    default: z.number().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    integer: z.boolean().optional(),
  })
  .strict()
  .refine((d) => d.min === undefined || d.max === undefined || d.min <= d.max, {
    message: "min must be ≤ max",
    path: ["min"],
  })
  .refine(
    (d) =>
      d.default === undefined ||
      ((d.min === undefined || d.default >= d.min) && (d.max === undefined || d.default <= d.max) && (!d.integer || Number.isInteger(d.default))),
    { message: "default is outside min/max or not an integer", path: ["default"] },
  );

/** An input declaration; a text/number input with a `default` is optional, all others required. */
export const InputDeclSchema = z.discriminatedUnion("type", [ImageInputDeclSchema, TextInputDeclSchema, NumberInputDeclSchema]).meta({ id: "InputDecl" });
export type ImageInputDecl = z.infer<typeof ImageInputDeclSchema>;
export type TextInputDecl = z.infer<typeof TextInputDeclSchema>;
export type NumberInputDecl = z.infer<typeof NumberInputDeclSchema>;
export type InputDecl = z.infer<typeof InputDeclSchema>;
export type InputType = InputDecl["type"];

// ---------------------------------------------------------------- step parts

/** Per-step retry policy. */
export const RetryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(10).default(3),
    backoffMs: z.number().int().min(0).max(600_000).default(500),
  })
  .strict()
  .meta({ id: "RetryPolicy" });
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

/** Sampling parameters of `decode` / `explain`; every field has a default. */
export const DecodeParamsSchema = z
  .object({
    maxTokens: z.number().int().min(1).max(MAX_TOKENS).default(32),
    temperature: z.number().min(0).max(2).default(0),
    topP: z.number().gt(0).max(1).default(1),
    topK: z.number().int().min(0).max(1_000_000).default(0),
    seed: z.number().int().min(0).max(0xffff_ffff).default(0),
    stop: z
      .array(z.string().min(1).max(64))
      .max(4)
      .default(() => []),
  })
  .strict()
  .meta({ id: "DecodeParams" });
export type DecodeParams = z.infer<typeof DecodeParamsSchema>;
/** What a client may send for params (every field optional). */
export type DecodeParamsInput = z.input<typeof DecodeParamsSchema>;

/** A decode segment: a connected span (`{ span: <connect step id> }`) or a text template. */
export const SpanSegmentSchema = z.object({ span: StepIdSchema }).strict();
export const TextSegmentSchema = z.object({ text: TemplateSchema }).strict();
export const SegmentSpecSchema = z.union([SpanSegmentSchema, TextSegmentSchema]).meta({ id: "SegmentSpec" });
export type SpanSegment = z.infer<typeof SpanSegmentSchema>;
export type TextSegment = z.infer<typeof TextSegmentSchema>;
export type SegmentSpec = z.infer<typeof SegmentSpecSchema>;

const stepBase = {
  id: StepIdSchema,
  retry: RetryPolicySchema.prefault({}),
  timeoutMs: z.number().int().min(1).max(600_000).default(60_000),
};

// ---------------------------------------------------------------- steps

export const EncodeStepSchema = z
  .object({
    ...stepBase,
    op: z.literal("encode"),
    model: NameSchema,
    encoder: NameSchema,
    image: z.string().regex(IMAGE_REF_RE, "image must be exactly {{inputs.<image input>}}").optional(),
    text: TemplateSchema.optional(),
  })
  .strict()
  .refine((s) => s.image !== undefined || s.text !== undefined, {
    message: "encode needs an image and/or a text",
    path: ["image"],
  });

export const ConnectStepSchema = z.object({ ...stepBase, op: z.literal("connect"), from: StepIdSchema, connector: NameSchema.optional() }).strict();

const decodeFields = {
  model: NameSchema,
  segments: z.array(SegmentSpecSchema).min(1).max(64),
  params: DecodeParamsSchema.prefault({}),
};

export const DecodeStepSchema = z.object({ ...stepBase, op: z.literal("decode"), ...decodeFields }).strict();

export const ExplainStepSchema = z
  .object({
    ...stepBase,
    op: z.literal("explain"),
    ...decodeFields,
    labels: z
      .array(z.string().min(1).max(64))
      .min(2)
      .max(16)
      .default(() => [...DEFAULT_LABELS])
      .refine((l) => new Set(l).size === l.length, "labels must be unique"),
  })
  .strict();

/** One step; discriminated on `op` (an unknown op is a schema error on field `op`). */
export const StepSchema = z.discriminatedUnion("op", [EncodeStepSchema, ConnectStepSchema, DecodeStepSchema, ExplainStepSchema]).meta({ id: "StepSpec" });
export type EncodeStep = z.infer<typeof EncodeStepSchema>;
export type ConnectStep = z.infer<typeof ConnectStepSchema>;
export type DecodeStep = z.infer<typeof DecodeStepSchema>;
export type ExplainStep = z.infer<typeof ExplainStepSchema>;
export type Step = z.infer<typeof StepSchema>;
/** A step as a client may write it (defaults not yet applied). */
export type StepInput = z.input<typeof StepSchema>;
/** The step of a given op, e.g. `StepOf<"decode">`. */
export type StepOf<O extends Op> = Extract<Step, { op: O }>;

/** Value fields each op exposes to `{{steps.<id>.<field>}}` templates. */
export const VALUE_FIELDS: { readonly [O in Op]: readonly string[] } = {
  encode: [],
  connect: [],
  decode: ["text"],
  explain: ["label", "explanation", "text"],
};

// ---------------------------------------------------------------- workflow

/**
 * The workflow spec (docs/CONTRACTS.md §1). Parse with `WorkflowSpecSchema.safeParse(json)`, or
 * better `validateWorkflow` from `graph/`, which also runs the graph rules.
 *
 * @example
 * const spec = WorkflowSpecSchema.parse({
 *   inputs: { question: { type: "text" } },
 *   steps: [{ id: "answer", op: "decode", model: "metalm-tiny",
 *             segments: [{ text: "question: {{inputs.question}} answer:" }] }],
 *   outputs: { answer: "{{steps.answer.text}}" },
 * });
 * spec.steps[0].retry.maxAttempts; // 3 (default)
 */
export const WorkflowSpecSchema = z
  .object({
    name: z.string().regex(WORKFLOW_NAME_RE, "name must match [a-z0-9-_]{1,64}").optional(),
    description: z.string().max(4000).optional(),
    inputs: z.record(z.string().regex(INPUT_NAME_RE, "input name must match [a-zA-Z_][a-zA-Z0-9_]{0,63}"), InputDeclSchema).default(() => ({})),
    steps: z.array(StepSchema).min(1).max(MAX_STEPS),
    outputs: z.record(z.string().regex(INPUT_NAME_RE, "output name must match [a-zA-Z_][a-zA-Z0-9_]{0,63}"), TemplateSchema).default(() => ({})),
    /**
     * Run-level deadline (ms from creation): a run not finished by then ends `timed_out`. Unset:
     * the edge's default (`RUN_TIMEOUT_MS`, 10 minutes). Not part of any cache key.
     */
    timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  })
  .strict()
  .meta({ id: "WorkflowSpec" });
/** A parsed spec: every default applied. */
export type WorkflowSpec = z.infer<typeof WorkflowSpecSchema>;
/** A spec as a client may write it. */
export type WorkflowSpecInput = z.input<typeof WorkflowSpecSchema>;
