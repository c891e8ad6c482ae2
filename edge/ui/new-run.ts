/**
 * New run (`/ui/new`): pick an example or saved workflow (or paste JSON), see it validated as you
 * type (errors listed on the step they belong to), fill the inputs, upload images, run.
 *
 * Without JavaScript the page still works end to end: the example picker is a GET form, the run
 * form posts multipart to `/ui/new`, which forwards to `POST /v1/runs` and redirects to the run —
 * or renders the page again with the API's per-step error map. `new.js` adds validation as you
 * type (`POST /ui/api/validate`: the same `validateWorkflow`, against the models live workers
 * advertise) and rebuilds the input fields when the spec's inputs change.
 */
import { html, raw } from "hono/html";
import type { ValidationErrorMap } from "../../workflows/index.js";
import type { Example } from "../../workflows/examples/index.js";
import { page, type Html } from "./layout.js";

export interface LiveModel {
  name: string;
  version?: string;
  workers: string[];
  /** Per worker: the execution provider the model actually runs on, and providers that fell back (GET /v1/models). */
  placements?: { workerId: string; executionProvider: string; providerFallbacks: { provider: string; reason: string }[] }[];
}

/** "on webgpu: w1; on cpu: w2 (webgpu failed: …)" — where a model runs, a fallback spelled out. */
function placementsOf(m: LiveModel): Html {
  const ps = m.placements ?? [];
  if (!ps.length) return html``;
  return html` — ${ps.map(
    (p, i) =>
      html`${i ? "; " : ""}<span data-placement="${p.workerId}" data-provider="${p.executionProvider}">${p.workerId} on <strong>${p.executionProvider}</strong>${
        p.providerFallbacks.length
          ? html` <span class="fallback" role="alert">(fell back: ${p.providerFallbacks.map((f, j) => html`${j ? ", " : ""}${f.provider} failed: ${f.reason}`)})</span>`
          : ""
      }</span>`,
  )}`;
}

export interface SavedWorkflow {
  id: string;
  version: number;
  name: string | null;
  description: string | null;
  spec: unknown;
}

/** An image an input can use without an upload: a stored one (`value` = sha256) or a sample (`sample:<file>`). */
export interface ReuseSource {
  value: string;
  text: string;
  /** Thumbnail URL ("" for none). */
  src: string;
}

export interface NewPageState {
  examples: Example[];
  saved: SavedWorkflow[];
  models: LiveModel[];
  /** `example:<name>`, `saved:<id>`, `run:<id>` or "" (pasted). */
  selected: string;
  specText: string;
  /** Text / number input values as typed, by input name. */
  values: Record<string, string>;
  tags: string;
  /** Image inputs that can reuse a stored image (from "Run again…"): input name → source. */
  reuse?: Record<string, ReuseSource>;
  /** Validation of the current spec text (server-side first render, or the API's answer). */
  errors: ValidationErrorMap | null;
  /** A request-level problem (the API's message), shown above the form. */
  problem?: string;
  /** A confirmation shown above the form (e.g. "saved as … v2"). */
  notice?: string;
}

type Decl = { type?: unknown; default?: unknown; min?: unknown; max?: unknown; maxLength?: unknown; integer?: unknown; description?: unknown };

/** Declared inputs of a spec text, defensively (the text may be invalid). */
export function declaredInputs(specText: string): [string, Decl][] {
  try {
    const j = JSON.parse(specText) as { inputs?: unknown };
    if (!j || typeof j.inputs !== "object" || j.inputs === null || Array.isArray(j.inputs)) return [];
    return Object.entries(j.inputs as Record<string, Decl>).filter(([, d]) => d && typeof d === "object");
  } catch {
    return [];
  }
}

/** Steps of a spec text for the outline: id (or `steps[i]`) and op. */
export function outlineSteps(specText: string): { key: string; op: string }[] {
  try {
    const j = JSON.parse(specText) as { steps?: unknown };
    if (!Array.isArray(j.steps)) return [];
    return j.steps.map((s: { id?: unknown; op?: unknown }, i) => ({
      key: typeof s?.id === "string" ? s.id : `steps[${i}]`,
      op: typeof s?.op === "string" ? s.op : "?",
    }));
  } catch {
    return [];
  }
}

/** The spec's `description`, or "". */
export function specDescription(specText: string): string {
  try {
    const d = (JSON.parse(specText) as { description?: unknown }).description;
    return typeof d === "string" ? d : "";
  } catch {
    return "";
  }
}

/** The JSON syntax error of a spec text, or undefined. */
export function jsonProblem(specText: string): string | undefined {
  try {
    JSON.parse(specText);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const GROUP_LABEL: Record<string, string> = { $spec: "Workflow", $inputs: "Inputs", $outputs: "Outputs" };

/** The outline: each step with its errors under it (same markup as new.js renders). */
export function outlineView(specText: string, errors: ValidationErrorMap | null): Html {
  const syntax = jsonProblem(specText);
  const steps = outlineSteps(specText);
  const errs = errors ?? {};
  const issues = (key: string) => errs[key] ?? [];
  const keys = new Set(steps.map((s) => s.key));
  const groups = ["$spec", "$inputs", "$outputs", ...Object.keys(errs).filter((k) => !k.startsWith("$") && !keys.has(k))].filter((k) => issues(k).length);
  const count = Object.values(errs).reduce((n, l) => n + l.length, 0);
  const li = (key: string, label: Html | string) => {
    const list = issues(key);
    return html`<li data-key="${key}" class="${list.length ? "has-errors" : ""}">${label}${
      list.length
        ? html`<ul>${list.map((i) => html`<li><code>${i.field || "(step)"}</code> ${i.message} <span class="muted">[${i.code}]</span></li>`)}</ul>`
        : ""
    }</li>`;
  };
  return html`<div id="validity" role="status" aria-live="polite">${
    syntax
      ? html`<span class="valid-bad">✗ Not valid JSON:</span> ${syntax}`
      : count
        ? html`<span class="valid-bad">✗ ${count} problem${count === 1 ? "" : "s"}</span> — listed on the step they belong to.`
        : errors
          ? html`<span class="valid-ok">✓ Valid</span> — ${steps.length} step${steps.length === 1 ? "" : "s"}.`
          : html`<span class="muted">Not checked yet.</span>`
  }</div>
<ul id="outline" class="outline" aria-label="Steps and their problems">
${groups.map((g) => li(g, html`<strong>${GROUP_LABEL[g] ?? g}</strong>`))}
${steps.map((s, i) => li(s.key, html`<span class="muted">${i + 1}.</span> <strong>${s.key}</strong> <span class="op mono">${s.op}</span>`))}
</ul>`;
}

function inputField(name: string, d: Decl, value: string | undefined, reuse?: ReuseSource): Html {
  const id = `in-${name}`;
  const desc = typeof d.description === "string" ? d.description : "";
  if (d.type === "image")
    return html`<div class="field" data-input="${name}" data-type="image"><label for="${id}">${name} <span class="muted">(image, PNG or JPEG${reuse ? "; a chosen file replaces the one below" : ""})</span></label>
<input id="${id}" type="file" name="inputs.${name}" accept="image/png,image/jpeg" ${reuse ? "" : "required"}>
${
  reuse
    ? html`<div class="row reuse" style="align-items:center;margin-top:.3rem"><input type="checkbox" id="${id}-reuse" name="reuse.${name}" value="${reuse.value}" checked data-reuse>
<label for="${id}-reuse" style="margin:0;font-weight:500">${reuse.text}</label>
${reuse.src ? html`<img src="${reuse.src}" alt="" width="48" height="48" style="image-rendering:pixelated;border:1px solid #d5d9e0">` : ""}</div>`
    : ""
}
<div class="preview" data-preview></div>${desc ? html`<span class="hint">${desc}</span>` : ""}</div>`;
  if (d.type === "number") {
    const attrs = [
      d.min !== undefined ? `min="${Number(d.min)}"` : "",
      d.max !== undefined ? `max="${Number(d.max)}"` : "",
      `step="${d.integer ? 1 : "any"}"`,
    ].join(" ");
    return html`<div class="field" data-input="${name}" data-type="number"><label for="${id}">${name} <span class="muted">(number${d.min !== undefined || d.max !== undefined ? `, ${d.min ?? "−∞"}…${d.max ?? "∞"}` : ""})</span></label>
<input id="${id}" type="number" name="inputs.${name}" ${raw(attrs)} value="${value ?? (d.default !== undefined ? String(d.default) : "")}" ${d.default === undefined ? "required" : ""}></div>`;
  }
  const ml = typeof d.maxLength === "number" ? d.maxLength : undefined;
  return html`<div class="field" data-input="${name}" data-type="text"><label for="${id}">${name} <span class="muted">(text${d.default !== undefined ? ", has a default" : ""})</span></label>
<input id="${id}" type="text" name="inputs.${name}" value="${value ?? (typeof d.default === "string" ? d.default : "")}" ${ml ? raw(`maxlength="${ml}"`) : ""} ${d.default === undefined ? "required" : ""}></div>`;
}

/** Embed JSON in a `<script type="application/json">` safely (no `</script>` break-out). */
export const jsonScript = (id: string, value: unknown) =>
  raw(`<script type="application/json" id="${id}">${JSON.stringify(value).replace(/</g, "\\u003c")}</script>`);

export function newRunPage(s: NewPageState): Html {
  const inputs = declaredInputs(s.specText);
  const sel = (v: string) => (s.selected === v ? "selected" : "");
  const body = html`<h1>New run</h1>
${s.problem ? html`<p class="notice error" role="alert" id="submit-problem">${s.problem}</p>` : ""}
${s.notice ? html`<p class="notice" role="status" id="submit-notice">${s.notice}</p>` : ""}
<form method="get" action="/ui/new" class="filters row" aria-label="Choose a workflow">
  <div class="field grow"><label for="example">Start from</label>
    <select id="example" name="pick">
      <option value="">— paste your own JSON —</option>
      ${s.examples.length ? html`<optgroup label="Examples">${s.examples.map((e) => html`<option value="example:${e.name}" ${sel(`example:${e.name}`)}>${e.name}${e.description ? ` — ${e.description.slice(0, 70)}${e.description.length > 70 ? "…" : ""}` : ""}</option>`)}</optgroup>` : ""}
      ${s.saved.length ? html`<optgroup label="Saved workflows">${s.saved.map((w) => html`<option value="saved:${w.id}" ${sel(`saved:${w.id}`)}>${w.id} v${w.version}</option>`)}</optgroup>` : ""}
      ${s.selected.startsWith("run:") ? html`<option value="${s.selected}" selected>spec of ${s.selected.slice(4)}</option>` : ""}
    </select></div>
  <div class="field"><button type="submit" class="secondary" id="load-btn">Load</button></div>
</form>
<p id="example-desc" class="hint">${specDescription(s.specText)}</p>
<p class="hint">Live models: ${
    s.models.length
      ? s.models.map(
          (m, i) =>
            html`${i ? ", " : ""}<code data-model="${m.name}">${m.name}</code> (${m.workers.length} worker${m.workers.length === 1 ? "" : "s"}${placementsOf(m)})`,
        )
      : html`<strong>none</strong> — no worker is connected, so runs cannot be validated against a model yet.`
  }</p>
${jsonScript(
  "models-data",
  s.models.map((m) => m.name),
)}
${jsonScript(
  "examples-data",
  Object.fromEntries([
    ...s.examples.map((e) => [`example:${e.name}`, { text: e.text, sample: e.sample?.inputs ?? null }]),
    ...s.saved.map((w) => [`saved:${w.id}`, { text: JSON.stringify(w.spec, null, 2), sample: null }]),
  ]),
)}
<form method="post" action="/ui/new" enctype="multipart/form-data" id="run-form" aria-label="Workflow and inputs">
<div class="new-grid">
  <section aria-labelledby="spec-h">
    <h2 id="spec-h">Workflow (JSON)</h2>
    <label for="spec" class="sr-only">Workflow spec JSON</label>
    <textarea id="spec" name="spec" class="code" spellcheck="false" autocapitalize="off" aria-describedby="validity">${s.specText}</textarea>
    <div id="fix-models"></div>
  </section>
  <section aria-labelledby="check-h">
    <h2 id="check-h">Check</h2>
    <div id="check">${outlineView(s.specText, s.errors)}</div>
    <h2 id="inputs-h">Inputs</h2>
    <div class="inputs-form" id="inputs-fields" aria-labelledby="inputs-h">${
      inputs.length ? inputs.map(([n, d]) => inputField(n, d, s.values[n], s.reuse?.[n])) : html`<p class="muted">This workflow declares no inputs.</p>`
    }</div>
    <div class="field"><label for="tags">Tags <span class="muted">(optional, comma-separated)</span></label>
      <input id="tags" name="tags" value="${s.tags}" placeholder="e.g. demo, experiment-3"></div>
    ${s.selected.startsWith("saved:") ? html`<input type="hidden" name="savedId" value="${s.selected.slice(6)}">` : ""}
    <p class="row"><button type="submit" id="run-btn">Run workflow</button>
      <button type="button" class="secondary" id="plan-btn" hidden>Preview plan</button>
      <button type="submit" class="secondary" id="save-btn" formaction="/ui/workflows" formnovalidate>Save workflow</button></p>
    <p class="hint">“Save workflow” stores a new version under the spec's <code>name</code>; runs of a saved, unedited workflow are filed under it in the history.</p>
    <div id="plan" aria-live="polite"></div>
  </section>
</div>
</form>`;
  return page({ title: "New run", nav: "new", scripts: ["new.js"] }, body);
}

export interface PlanView {
  steps: { id: string; op: string; model: string | null; status: string; cachedFrom: string | null; workers: string[] }[];
}

/** The dry-run answer as a fragment: per step, whether it would run or be reused, and where. */
export function planView(r: { plan: PlanView } | { problem: string }): Html {
  if ("problem" in r) return html`<div id="plan-result" class="notice error" role="status">Plan: ${r.problem}</div>`;
  const cached = r.plan.steps.filter((s) => s.status === "cached").length;
  return html`<div id="plan-result" class="notice" role="status">
<p style="margin:0 0 .3rem"><strong>Plan:</strong> ${r.plan.steps.length - cached} step${r.plan.steps.length - cached === 1 ? "" : "s"} to compute, ${cached} reused from earlier runs.</p>
<ul class="plan">${r.plan.steps.map(
    (s) =>
      html`<li data-plan-step="${s.id}" data-plan-status="${s.status}"><strong>${s.id}</strong> <span class="muted">${s.op}</span> — ${
        s.status === "cached"
          ? html`reused from <a href="/ui/runs/${(s.cachedFrom ?? "").split("/")[0]}#cell-${s.id}">${(s.cachedFrom ?? "").split("/")[0]}</a>`
          : s.status === "pending"
            ? "runs when its upstream values are ready"
            : "runs now"
      }${s.status !== "cached" && s.workers.length ? html` <span class="muted">(workers: ${s.workers.join(", ")})</span>` : ""}</li>`,
  )}</ul></div>`;
}
