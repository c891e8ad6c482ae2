/**
 * Request/response schemas of the public API. The same objects validate requests (handlers call
 * `parseOr400`) and feed the OpenAPI document (`api/openapi.ts`).
 */
import { z } from "@hono/zod-openapi";
import { ImageValueSchema, RunStatusSchema, StepStatusSchema } from "../../workflows/index.js";
import { ReceiptSchema, StepOutputSchema, WorkflowSpecSchema } from "../../workflows/index.js";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_workflow" }),
      message: z.string(),
      details: z.unknown().openapi({ description: "For workflow errors: the per-step error map { stepId: [{ code, message, field }] }" }),
    }),
  })
  .meta({ id: "Error" });

const TagSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w.:/-]+$/, "tag must be [A-Za-z0-9_.:/-]");
const WorkflowIdSchema = z.string().regex(/^[a-z0-9_-]{1,64}$/, "workflow id must match [a-z0-9_-]{1,64}");

/** An input value in a request: text, number, an image as base64 / data URL, or a stored image by hash. */
export const InputValueInSchema = z
  .union([z.string(), z.number(), ImageValueSchema.partial({ mime: true })])
  .meta({ id: "InputValueIn", description: "text, number, image as base64 or data URL, or { sha256 } of a stored image" });

/** `POST /v1/runs` and `POST /v1/plan`; `spec` is checked by the workflow validator, not here. */
export const CreateRunBodySchema = z
  .object({
    spec: WorkflowSpecSchema.optional(),
    workflowId: WorkflowIdSchema.optional(),
    version: z.number().int().min(1).optional(),
    inputs: z.record(z.string(), InputValueInSchema).default({}),
    tags: z.array(TagSchema).max(16).default([]),
  })
  .strict()
  .meta({ id: "CreateRunRequest" });
/** `POST /v1/runs` and `/v1/plan` as multipart: the JSON request plus one file part per image input. */
export const CreateRunMultipartSchema = z
  .object({
    request: z.string().openapi({ description: "the JSON request (CreateRunRequest without the image values)" }),
    "inputs.<name>": z.string().openapi({ format: "binary", description: "an image file per image input (or a part named <name>)" }),
  })
  .meta({ id: "CreateRunMultipart" });
/** The request body of `POST /v1/runs` and `POST /v1/plan`, JSON or multipart. */
export const createRunBody = {
  required: true,
  content: { "application/json": { schema: CreateRunBodySchema }, "multipart/form-data": { schema: CreateRunMultipartSchema } },
};
export const CreateRunBodyLoose = CreateRunBodySchema.extend({ spec: z.unknown().optional() });
export type CreateRunBody = z.infer<typeof CreateRunBodyLoose>;

export const StepViewSchema = z
  .object({
    id: z.string(),
    op: z.string(),
    model: z.string().nullable(),
    status: StepStatusSchema,
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    cacheKey: z.string().nullable(),
    cacheHit: z.boolean(),
    cachedFrom: z.string().nullable(),
    workerId: z.string().nullable(),
    queuedAt: z.number().nullable(),
    startedAt: z.number().nullable(),
    finishedAt: z.number().nullable(),
    queueMs: z.number().nullable(),
    computeMs: z.number().nullable(),
    output: StepOutputSchema.nullable(),
    receipt: ReceiptSchema.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).passthrough().nullable(),
  })
  .meta({ id: "Step" });

export const RunSummarySchema = z
  .object({
    id: z.string(),
    status: RunStatusSchema,
    name: z.string().nullable(),
    workflowId: z.string().nullable(),
    workflowVersion: z.number().nullable(),
    tags: z.array(z.string()),
    parentRunId: z.string().nullable(),
    rerunFrom: z.string().nullable(),
    createdAt: z.number(),
    startedAt: z.number().nullable(),
    finishedAt: z.number().nullable(),
    outputs: z.record(z.string(), z.unknown()).nullable(),
    error: z.object({ code: z.string(), message: z.string(), stepId: z.string().optional() }).nullable(),
  })
  .meta({ id: "RunSummary" });
export const RunSchema = RunSummarySchema.extend({
  inputs: z.record(z.string(), z.unknown()),
  spec: WorkflowSpecSchema,
  steps: z.array(StepViewSchema),
}).meta({ id: "Run" });

/** A time in a query string: ms since the epoch (`1700000000000`) or ISO 8601 (`2026-11-26T14:00:00Z`). */
const TimeParamSchema = z.string().transform((v, ctx) => {
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: "custom", message: "expected ms since the epoch or an ISO 8601 date/time" });
    return z.NEVER;
  }
  return ms;
});

export const ListRunsQuerySchema = z
  .object({
    status: RunStatusSchema.optional(),
    workflow: WorkflowIdSchema.optional(),
    tag: TagSchema.optional(),
    createdAfter: TimeParamSchema.optional().openapi({ description: "inclusive; ms since the epoch or an ISO 8601 date/time" }),
    createdBefore: TimeParamSchema.optional().openapi({ description: "exclusive; ms since the epoch or an ISO 8601 date/time" }),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();
export const ListRunsResponseSchema = z
  .object({
    runs: z.array(RunSummarySchema),
    nextCursor: z.string().nullable(),
    counts: z.record(RunStatusSchema, z.number().int()),
  })
  .meta({ id: "RunList" });

export const RerunBodySchema = z
  .object({
    fromStep: z.string().min(1).max(64),
    overrides: z
      .object({
        inputs: z.record(z.string(), InputValueInSchema).optional(),
        steps: z.record(z.string(), z.record(z.string(), z.unknown())).optional().openapi({
          description: "step id → fields to replace (params merge field by field)",
        }),
      })
      .strict()
      .default({}),
    tags: z.array(TagSchema).max(16).optional(),
  })
  .strict()
  .meta({ id: "RerunRequest" });

export const SaveWorkflowBodySchema = z.object({ id: WorkflowIdSchema.optional(), spec: WorkflowSpecSchema }).strict().meta({ id: "SaveWorkflowRequest" });
export const SaveWorkflowBodyLoose = SaveWorkflowBodySchema.extend({ spec: z.unknown() });

export const WorkflowVersionSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    createdAt: z.number(),
    spec: WorkflowSpecSchema,
  })
  .meta({ id: "WorkflowVersion" });

export const PlanResponseSchema = z
  .object({
    valid: z.literal(true),
    steps: z.array(
      z.object({
        id: z.string(),
        op: z.string(),
        model: z.string().nullable(),
        status: z.enum(["pending", "queued", "cached"]).openapi({ description: "what would happen now: cached = memo hit" }),
        valueDeps: z.array(z.string()),
        tensorDeps: z.array(z.string()),
        cacheKey: z.string().nullable().openapi({ description: "null until the value deps have finished" }),
        cachedFrom: z.string().nullable(),
        workers: z.array(z.string()).openapi({ description: "live workers advertising the step's model" }),
      }),
    ),
  })
  .meta({ id: "Plan" });
