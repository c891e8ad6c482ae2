/**
 * The new-run form (multipart, as the browser posts it) → the multipart body of `POST /v1/runs`
 * or `POST /v1/plan`: `request` (JSON: spec, tags, stored images by sha256) plus one part per
 * input. Ticked "reuse" boxes become a stored image (`{ sha256 }`) or a sample file's bytes; a
 * file the user chose wins over both.
 */
import { readSampleFile } from "../../workflows/examples/index.js";
import type { ReuseSource } from "./new-run.js";

export interface RunForm {
  specText: string;
  tagsText: string;
  /** Text / number inputs as typed. */
  values: Record<string, string>;
  /** Reuse boxes still in force (to render them again if the page comes back). */
  reuse: Record<string, ReuseSource>;
  /** Inputs for which the user chose a file (lost if the page comes back). */
  chosen: Set<string>;
  /** The parsed spec, or the JSON syntax error. */
  spec: { ok: true; value: unknown } | { ok: false; error: string };
  /** The API request body (complete only when `spec.ok`). */
  body: FormData;
  /** The saved workflow the form was loaded from (`savedId`), if any. */
  savedId: string | undefined;
  /** Set the request part: `workflowId` instead of the inline spec (the spec is that workflow's, unedited). */
  useSaved(id: string): void;
}

export const sampleReuse = (file: string): ReuseSource => ({
  value: `sample:${file}`,
  text: `use the sample image ${file}`,
  src: `/ui/examples/files/${encodeURIComponent(file)}`,
});

export async function readRunForm(form: Record<string, string | File | (string | File)[]>): Promise<RunForm> {
  const one = (k: string) => {
    const v = form[k];
    return typeof v === "string" ? v : "";
  };
  const specText = one("spec");
  const tagsText = one("tags");
  const values: Record<string, string> = {};
  const body = new FormData();
  const stored: Record<string, { sha256: string }> = {};
  const chosen = new Set<string>();
  for (const [k, v] of Object.entries(form)) {
    if (!k.startsWith("inputs.") || Array.isArray(v)) continue;
    if (typeof v === "string") {
      values[k.slice(7)] = v;
      if (v.trim() !== "") body.set(k, v);
    } else if (v.size > 0) {
      body.set(k, v, v.name || "upload");
      chosen.add(k.slice(7));
    }
  }
  const reuse: Record<string, ReuseSource> = {};
  for (const [k, v] of Object.entries(form)) {
    const name = k.slice("reuse.".length);
    if (!k.startsWith("reuse.") || typeof v !== "string" || chosen.has(name)) continue;
    if (/^[0-9a-f]{64}$/.test(v)) {
      stored[name] = { sha256: v };
      reuse[name] = { value: v, text: "reuse the stored image", src: "" };
    } else if (v.startsWith("sample:")) {
      const file = v.slice("sample:".length);
      const bytes = await readSampleFile(file);
      if (!bytes) continue;
      body.set(`inputs.${name}`, new File([bytes as Uint8Array<ArrayBuffer>], file, { type: file.endsWith(".png") ? "image/png" : "image/jpeg" }));
      reuse[name] = sampleReuse(file);
    }
  }
  let spec: RunForm["spec"];
  const tags = tagsText.split(/[\s,]+/).filter(Boolean);
  try {
    spec = { ok: true, value: JSON.parse(specText) };
    body.set("request", JSON.stringify({ spec: spec.value, tags, inputs: stored }));
  } catch (e) {
    spec = { ok: false, error: (e as Error).message };
  }
  const savedId = one("savedId") || undefined;
  const useSaved = (id: string) => body.set("request", JSON.stringify({ workflowId: id, tags, inputs: stored }));
  return { specText, tagsText, values, reuse, chosen, spec, body, savedId, useSaved };
}
