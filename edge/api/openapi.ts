/**
 * The OpenAPI document, registered from the same zod schemas the handlers validate with.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import {
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  LeaseRequestSchema,
  LeaseResponseSchema,
  ModelAdvertSchema,
  ProgressRequestSchema,
  ProgressResponseSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  ResultsRequestSchema,
  ResultsResponseSchema,
} from "../../workflows/index.js";
import type { Env } from "../context.js";
import {
  CreateRunBodySchema,
  ErrorSchema,
  ListRunsQuerySchema,
  ListRunsResponseSchema,
  PlanResponseSchema,
  RerunBodySchema,
  RunSchema,
  SaveWorkflowBodySchema,
  WorkflowVersionSchema,
} from "./schemas.js";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const err = (description: string) => json(ErrorSchema, description);
const runId = z.object({ id: z.string().openapi({ example: "run_01hx3…" }) });
const wfId = z.object({ id: z.string() });
const pool = [{ poolToken: [] as string[] }];

export function registerOpenApi(app: OpenAPIHono<Env>): void {
  const r = app.openAPIRegistry;
  r.registerComponent("securitySchemes", "poolToken", { type: "http", scheme: "bearer" });
  r.registerPath({
    method: "post",
    path: "/v1/runs",
    summary: "Create a run (inline spec or saved workflow)",
    request: {
      headers: z.object({
        "idempotency-key": z.string().optional().openapi({ description: "Same key → the same run (per tenant)" }),
        prefer: z.string().optional().openapi({ description: "wait=N: answer with the finished run if it finishes within N s" }),
      }),
      body: {
        content: {
          "application/json": { schema: CreateRunBodySchema },
          "multipart/form-data": {
            schema: z.object({
              request: z.string().openapi({ description: "the JSON request (without the image values)" }),
              "inputs.<name>": z.string().openapi({ format: "binary", description: "an image file per image input" }),
            }),
          },
        },
      },
    },
    responses: {
      200: json(RunSchema, "The run, finished (also an idempotent replay)"),
      202: json(RunSchema, "Accepted; poll Location"),
      400: err("Invalid request or workflow (details: per-step error map)"),
      404: err("Saved workflow not found"),
      409: err("Idempotency-Key reused with a different request"),
      413: err("Body or image too large"),
    },
  });
  r.registerPath({
    method: "get",
    path: "/v1/runs",
    summary: "List runs (filters, cursor pagination, counts per status)",
    request: { query: ListRunsQuerySchema },
    responses: { 200: json(ListRunsResponseSchema, "A page of runs"), 400: err("Bad filter, cursor or limit") },
  });
  r.registerPath({
    method: "get",
    path: "/v1/runs/{id}",
    summary: "Get a run with its steps",
    request: { params: runId, headers: z.object({ "if-none-match": z.string().optional() }) },
    responses: { 200: json(RunSchema, "The run (ETag: changes with every engine commit)"), 304: { description: "Unchanged since If-None-Match" }, 404: err("Unknown run") },
  });
  r.registerPath({
    method: "post",
    path: "/v1/runs/{id}/cancel",
    summary: "Cancel a run (workers see it at their next heartbeat)",
    request: { params: runId },
    responses: { 200: json(RunSchema, "The run after cancel"), 404: err("Unknown run") },
  });
  r.registerPath({
    method: "post",
    path: "/v1/runs/{id}/rerun",
    summary: "Rerun from a step with overrides, reusing unchanged upstream outputs",
    request: { params: runId, body: { content: { "application/json": { schema: RerunBodySchema } } } },
    responses: { 202: json(RunSchema, "The new run"), 200: json(RunSchema, "The new run, finished"), 400: err("Bad step or override"), 404: err("Unknown run") },
  });
  r.registerPath({
    method: "get",
    path: "/v1/runs/{id}/events",
    summary: "Server-Sent Events of a run (Last-Event-ID resume)",
    request: { params: runId, headers: z.object({ "last-event-id": z.string().optional() }) },
    responses: { 200: { description: "text/event-stream: step.queued, step.started, token, step.completed, step.failed, step.retrying, step.skipped, run.started, run.completed", content: { "text/event-stream": { schema: z.string() } } }, 404: err("Unknown run") },
  });
  r.registerPath({
    method: "post",
    path: "/v1/workflows",
    summary: "Save a workflow version",
    request: { body: { content: { "application/json": { schema: SaveWorkflowBodySchema } } } },
    responses: { 201: json(WorkflowVersionSchema, "The saved version"), 400: err("Invalid workflow") },
  });
  r.registerPath({
    method: "get",
    path: "/v1/workflows",
    summary: "List workflows (latest version of each)",
    responses: { 200: json(z.object({ workflows: z.array(WorkflowVersionSchema) }), "Workflows") },
  });
  r.registerPath({
    method: "get",
    path: "/v1/workflows/{id}",
    summary: "Get a workflow (latest, or ?version=N)",
    request: { params: wfId, query: z.object({ version: z.string().optional() }) },
    responses: { 200: json(WorkflowVersionSchema, "The version"), 404: err("Unknown workflow / version") },
  });
  r.registerPath({
    method: "get",
    path: "/v1/workflows/{id}/versions/{version}",
    summary: "Get one workflow version",
    request: { params: z.object({ id: z.string(), version: z.string() }) },
    responses: { 200: json(WorkflowVersionSchema, "The version"), 404: err("Unknown workflow / version") },
  });
  r.registerPath({
    method: "post",
    path: "/v1/plan",
    summary: "Dry run: resolved graph, cache hits, workers per step",
    request: { body: { content: { "application/json": { schema: CreateRunBodySchema } } } },
    responses: { 200: json(PlanResponseSchema, "The plan"), 400: err("Invalid workflow") },
  });
  r.registerPath({
    method: "get",
    path: "/v1/models",
    summary: "Models live workers advertise",
    responses: { 200: json(z.object({ models: z.array(ModelAdvertSchema.extend({ workers: z.array(z.string()) })) }), "Models") },
  });
  const poolPath = (path: string, req: z.ZodType, res: z.ZodType, summary: string) =>
    r.registerPath({
      method: "post",
      path,
      summary,
      security: pool,
      request: { body: { content: { "application/json": { schema: req } } } },
      responses: { 200: json(res, "OK"), 400: err("Invalid body"), 401: err("Bad pool token"), 409: err("Worker not registered") },
    });
  poolPath("/v1/pool/register", RegisterRequestSchema, RegisterResponseSchema, "Register a worker and its models");
  poolPath("/v1/pool/lease", LeaseRequestSchema, LeaseResponseSchema, "Long-poll for up to max jobs");
  poolPath("/v1/pool/heartbeat", HeartbeatRequestSchema, HeartbeatResponseSchema, "Extend leases; learn cancels / lost leases");
  poolPath("/v1/pool/progress", ProgressRequestSchema, ProgressResponseSchema, "Stream tokens (SSE token events)");
  poolPath("/v1/pool/results", ResultsRequestSchema, ResultsResponseSchema, "Post job results (duplicates / late ones ignored)");
  r.registerPath({
    method: "get",
    path: "/v1/pool/blobs/{sha256}",
    summary: "Stored input bytes",
    security: pool,
    request: { params: z.object({ sha256: z.string() }) },
    responses: { 200: { description: "bytes", content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } }, 404: err("Unknown blob") },
  });
  for (const [path, summary] of [["/healthz", "Liveness"], ["/readyz", "DB reachable and ≥ 1 live worker with a model"], ["/metrics", "Prometheus metrics"]] as const) {
    r.registerPath({ method: "get", path, summary, responses: { 200: { description: "OK" } } });
  }
}
