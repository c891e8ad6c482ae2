/**
 * JSON column types. They come from workflows/ (the single source of truth); the few that are
 * storage-only live here.
 */
import type { ModelAdvert } from "../workflows/index.js";
import type { InputValue } from "../workflows/index.js";

export type { InputValue };
export type {
  JobPayload,
  ModelAdvert,
  Receipt,
  RunError,
  StepError,
  StepOutput,
  WorkflowSpec as Spec,
} from "../workflows/index.js";

/** Inputs as stored: images resolved to `{ sha256, mime }` (bytes in `blobs`), defaults applied. */
export type ResolvedInputs = Record<string, InputValue>;
/** The model adverts a run was validated and planned against (name → advert), frozen at creation. */
export type RunCatalog = Record<string, ModelAdvert>;
