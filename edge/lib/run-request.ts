/**
 * Turning a create-run (or plan / rerun) request into a validated spec + resolved inputs:
 * JSON or multipart bodies, inline or saved specs, image bytes decoded, checked and hashed,
 * then the workflow validator (schema + every graph rule, against live workers' models).
 * Nothing is stored here: a rejected request changes nothing.
 */
import { and, desc, eq } from "drizzle-orm";
import { blobs, tenantBlobs, workflows, type WorkflowRow } from "../../db/schema.js";
import type { ResolvedInputs, RunCatalog } from "../../db/types.js";
import { catalogFrom, type ModelCatalog, type WorkflowSpec } from "../../workflows/index.js";
import { validateWorkflow } from "../../workflows/index.js";
import { withInputDefaults, type InputValue } from "../../workflows/index.js";
import { CreateRunBodyLoose, type CreateRunBody } from "../api/schemas.js";
import type { Ctx } from "../context.js";
import { liveAdverts } from "../engine/workers.js";
import type { NewBlob } from "../engine/runs.js";
import { apiError, parseOr400, readJson } from "./errors.js";
import { sha256Hex } from "../../workflows/index.js";
import { checkImage, decodeImageString } from "./images.js";
import { checkImagePixels, checkSpecLimits } from "../limits/spec.js";
import { parseMultipartFast, type FormFields } from "./multipart.js";
import { validateCached } from "./spec-cache.js";

export interface RawCreate {
  body: CreateRunBody;
  /** Multipart file parts by input name. */
  files: Map<string, Uint8Array>;
}

/** Read a JSON or multipart/form-data create-run body. */
export async function readCreateRequest(c: Ctx): Promise<RawCreate> {
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    return { body: parseOr400(CreateRunBodyLoose, await readJson(c)), files: new Map() };
  }
  let form: FormFields | Record<string, string | File | (string | File)[]> | undefined;
  try {
    // the usual shapes straight from the bytes; anything else through the standard parser (its
    // answer and errors as before: edge/lib/multipart.ts)
    form = parseMultipartFast(new Uint8Array(await c.req.arrayBuffer()), type);
    form ??= await c.req.parseBody({ all: true });
  } catch (e) {
    throw apiError(400, "invalid_multipart", `malformed multipart body: ${(e as Error).message}`);
  }
  let json: unknown = {};
  const files = new Map<string, Uint8Array>();
  const inputs: Record<string, unknown> = {};
  for (const [rawName, value] of Object.entries(form)) {
    if (Array.isArray(value)) throw apiError(400, "invalid_multipart", `part '${rawName}' given more than once`, { field: rawName });
    if (rawName === "request") {
      if (typeof value !== "string") throw apiError(400, "invalid_multipart", "part 'request' must be a JSON text field", { field: "request" });
      try {
        json = JSON.parse(value);
      } catch (e) {
        throw apiError(400, "invalid_json", `part 'request': malformed JSON: ${(e as Error).message}`, { field: "request" });
      }
      continue;
    }
    const name = rawName.startsWith("inputs.") ? rawName.slice("inputs.".length) : rawName;
    if (typeof value === "string") inputs[name] = value;
    else files.set(name, value instanceof Uint8Array ? value : new Uint8Array(await value.arrayBuffer()));
  }
  const base = json && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  const merged = { ...base, inputs: { ...((base.inputs as object | undefined) ?? {}), ...inputs } };
  return { body: parseOr400(CreateRunBodyLoose, merged, "request"), files };
}

export interface ResolvedRun {
  spec: WorkflowSpec;
  inputs: ResolvedInputs;
  catalog: RunCatalog;
  fullCatalog: ModelCatalog;
  blobs: NewBlob[];
  workflowId: string | null;
  workflowVersion: number | null;
}

export async function loadWorkflow(c: Ctx, id: string, version?: number): Promise<WorkflowRow> {
  const { db } = c.var.engine.store;
  const where = and(eq(workflows.tenantId, c.var.tenantId), eq(workflows.id, id), version ? eq(workflows.version, version) : undefined);
  const [row] = await db.select().from(workflows).where(where).orderBy(desc(workflows.version)).limit(1);
  if (!row) {
    throw apiError(404, "workflow_not_found", version ? `workflow ${id} version ${version} not found` : `workflow ${id} not found`, {
      field: version ? "version" : "workflowId",
      workflowId: id,
      version: version ?? null,
    });
  }
  return row;
}

/** The spec, inputs and catalog of a create-run/plan request, or a 4xx naming what is wrong. */
export async function resolveRunRequest(c: Ctx, raw: RawCreate): Promise<ResolvedRun> {
  const { body, files } = raw;
  if ((body.spec === undefined) === (body.workflowId === undefined))
    throw apiError(400, "invalid_request", "give exactly one of 'spec' (inline) or 'workflowId'", { field: "spec" });
  if (body.version !== undefined && body.workflowId === undefined) throw apiError(400, "invalid_request", "'version' needs 'workflowId'", { field: "version" });
  let specJson: unknown = body.spec;
  let workflowId: string | null = null;
  let workflowVersion: number | null = null;
  if (body.workflowId !== undefined) {
    const wf = await loadWorkflow(c, body.workflowId, body.version);
    specJson = wf.spec;
    workflowId = wf.id;
    workflowVersion = wf.version;
  }
  // the spec is JSON-faithful here (a request body or a stored row): its validation may be cached
  return resolveSpecAndInputs(c, specJson, body.inputs as Record<string, unknown>, files, { workflowId, workflowVersion }, { cacheSpec: true });
}

export async function resolveSpecAndInputs(
  c: Ctx,
  specJson: unknown,
  rawInputs: Record<string, unknown>,
  files: Map<string, Uint8Array>,
  wf: { workflowId: string | null; workflowVersion: number | null },
  opts: { cacheSpec?: boolean } = {},
): Promise<ResolvedRun> {
  // image inputs must be decoded before validation sees them; read their declarations from the
  // raw JSON (validation below reports anything malformed, all at once)
  // hono's `c.var` builds a fresh object from its map on every access: read it once
  const { limits, engine, caches, tenantId } = c.var;
  checkSpecLimits(specJson, limits);
  const decls = imageDecls(specJson);
  const maxBytes = limits.imageBytes;
  const inputs: Record<string, unknown> = { ...rawInputs };
  const newBlobs: NewBlob[] = [];
  for (const name of files.keys()) {
    if (decls[name]?.type !== "image") throw apiError(400, "invalid_inputs", `file part '${name}' is not a declared image input`, { field: `inputs.${name}` });
  }
  for (const [name, decl] of Object.entries(decls)) {
    const field = `inputs.${name}`;
    const file = files.get(name);
    const v = rawInputs[name];
    if (decl.type === "number" && typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) inputs[name] = Number(v);
    if (decl.type !== "image" || (file === undefined && v === undefined)) continue;
    if (file !== undefined && v !== undefined) throw apiError(400, "invalid_inputs", `${field} given both as a file part and a value`, { field });
    if (file !== undefined || typeof v === "string") {
      const img = file !== undefined ? checkImage(file, field, maxBytes) : decodeImageString(v as string, field, maxBytes);
      checkImagePixels(img.bytes, field, limits.imagePixels);
      const sha256 = sha256Hex(img.bytes);
      newBlobs.push({ sha256, mime: img.mime, bytes: img.bytes });
      inputs[name] = { sha256, mime: img.mime } satisfies InputValue;
    } else if (v && typeof v === "object" && typeof (v as { sha256?: unknown }).sha256 === "string") {
      const sha256 = (v as { sha256: string }).sha256;
      // only images this tenant stored (blobs are shared by content; ownership is per tenant)
      const [row] = await engine.store.db
        .select({ mime: blobs.mime })
        .from(blobs)
        .innerJoin(tenantBlobs, and(eq(tenantBlobs.sha256, blobs.sha256), eq(tenantBlobs.tenantId, tenantId)))
        .where(eq(blobs.sha256, sha256));
      if (!row) throw apiError(400, "unknown_blob", `${field}: no stored image with sha256 ${sha256}`, { field });
      inputs[name] = { sha256, mime: row.mime } satisfies InputValue;
    }
  }
  const fullCatalog = catalogFrom(await liveAdverts(engine));
  const r = opts.cacheSpec ? validateCached(caches.specs, tenantId, specJson, inputs, fullCatalog) : validateWorkflow(specJson, inputs, fullCatalog);
  if (!r.ok) throw invalidWorkflow(r);
  const catalog: RunCatalog = {};
  for (const s of r.spec.steps) if ("model" in s && fullCatalog[s.model]) catalog[s.model] = fullCatalog[s.model]!;
  return {
    spec: r.spec,
    inputs: withInputDefaults(r.spec, inputs as ResolvedInputs),
    catalog,
    fullCatalog,
    blobs: newBlobs,
    ...wf,
  };
}

function imageDecls(specJson: unknown): Record<string, { type: string }> {
  const inputs = (specJson as { inputs?: unknown } | null)?.inputs;
  const out: Record<string, { type: string }> = {};
  if (inputs && typeof inputs === "object" && !Array.isArray(inputs))
    for (const [k, v] of Object.entries(inputs)) {
      const type = (v as { type?: unknown } | null)?.type;
      if (typeof type === "string") out[k] = { type };
    }
  return out;
}

function invalidWorkflow(r: ReturnType<typeof validateWorkflow>) {
  if (r.ok) return apiError(500, "internal", "validation passed unexpectedly");
  const keys = Object.keys(r.errors);
  const first = keys[0] ? r.errors[keys[0]]![0] : undefined;
  const message = first
    ? `invalid workflow: ${keys[0]}${first.field ? `.${first.field}` : ""}: ${first.message}${keys.length > 1 || r.errors[keys[0]!]!.length > 1 ? " (and more, see details)" : ""}`
    : "invalid workflow";
  return apiError(400, "invalid_workflow", message, r.errors);
}
