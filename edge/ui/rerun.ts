/**
 * The "edit and rerun from here" form → a `POST /v1/runs/:id/rerun` body. Only what the user
 * changed becomes an override (params field by field; text segments and labels only when edited),
 * so an unchanged form simply reruns from the step.
 */
import { templateRefs } from "../../workflows/index.js";
import type { RunView } from "./api.js";

type Form = Record<string, string | File>;

export interface RerunRequest {
  fromStep: string;
  overrides: { steps?: Record<string, Record<string, unknown>> };
}

const NUMERIC = ["maxTokens", "temperature", "topP", "topK", "seed"] as const;

/**
 * @example
 * rerunBody(run, { fromStep: "answer", "params.temperature": "0.7" })
 * // { fromStep: "answer", overrides: { steps: { answer: { params: { temperature: 0.7 } } } } }
 */
export function rerunBody(run: RunView, form: Form): RerunRequest | { problem: string } {
  const str = (k: string) => (typeof form[k] === "string" ? (form[k] as string) : undefined);
  const fromStep = str("fromStep") ?? "";
  const step = run.spec.steps.find((s) => s.id === fromStep);
  if (!step) return { problem: `This run has no step “${fromStep}”.` };
  const patch: Record<string, unknown> = {};
  if (step.op === "decode" || step.op === "explain") {
    const params: Record<string, unknown> = {};
    for (const k of NUMERIC) {
      const raw = str(`params.${k}`)?.trim();
      if (raw === undefined || raw === "") continue;
      const n = Number(raw);
      if (!Number.isFinite(n)) return { problem: `${fromStep}: ${k} must be a number (got “${raw}”).` };
      if (n !== step.params[k]) params[k] = n;
    }
    const stopRaw = str("params.stop");
    if (stopRaw !== undefined) {
      const stop = stopRaw
        .split("|")
        .map((s) => s.trim())
        .filter(Boolean);
      if (JSON.stringify(stop) !== JSON.stringify(step.params.stop)) params.stop = stop;
    }
    if (Object.keys(params).length) patch.params = params;
    let segChanged = false;
    const segments = step.segments.map((seg, i) => {
      const t = str(`segment.${i}`);
      if ("text" in seg && t !== undefined && t !== seg.text) {
        segChanged = true;
        return { text: t };
      }
      return seg;
    });
    if (segChanged) patch.segments = segments;
    if (step.op === "explain") {
      const raw = str("labels");
      if (raw !== undefined) {
        const labels = raw
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        if (JSON.stringify(labels) !== JSON.stringify(step.labels)) patch.labels = labels;
      }
    }
  }
  return { fromStep, overrides: Object.keys(patch).length ? { steps: { [fromStep]: patch } } : {} };
}

/** Every template string of a step (encode text/image, segment texts). */
function stepTemplates(step: RunView["spec"]["steps"][number]): string[] {
  switch (step.op) {
    case "encode":
      return [step.text, step.image].filter((t): t is string => t !== undefined);
    case "connect":
      return [];
    case "decode":
    case "explain":
      return step.segments.flatMap((s) => ("text" in s ? [s.text] : []));
  }
}

/**
 * The "edit inputs and rerun" form → a rerun body: the changed text/number inputs as overrides,
 * from the first step that reads one of them (so upstream steps, e.g. the image encoding, are
 * reused).
 *
 * @example
 * rerunInputsBody(run, { "inputs.question": "what is on the right?" })
 * // { fromStep: "answer", overrides: { inputs: { question: "what is on the right?" } } }
 */
export function rerunInputsBody(run: RunView, form: Form): { fromStep: string; overrides: { inputs: Record<string, string | number> } } | { problem: string } {
  const changed: Record<string, string | number> = {};
  for (const [name, decl] of Object.entries(run.spec.inputs)) {
    const raw = form[`inputs.${name}`];
    if (typeof raw !== "string" || decl.type === "image") continue;
    const value: string | number = decl.type === "number" ? Number(raw) : raw;
    if (decl.type === "number" && (raw.trim() === "" || !Number.isFinite(value))) return { problem: `${name} must be a number.` };
    if (value !== run.inputs[name]) changed[name] = value;
  }
  const names = Object.keys(changed);
  if (!names.length) return { problem: "No input was changed." };
  const reads = (t: string) => templateRefs(t).some((r) => r.kind === "input" && names.includes(r.name));
  const first = run.spec.steps.find((s) => stepTemplates(s).some(reads));
  if (!first) return { problem: `No step reads ${names.join(", ")}.` };
  return { fromStep: first.id, overrides: { inputs: changed } };
}
