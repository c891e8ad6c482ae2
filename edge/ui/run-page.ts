/**
 * The run page (`/ui/runs/:id`): a notebook of the run — header (status, timing, lineage,
 * outputs), the inputs (image thumbnails), then one cell per step. While the run is live,
 * `run.js` follows `GET /v1/runs/:id/events` (SSE): it shows tokens as they are generated and
 * swaps in server-rendered fragments (`/ui/runs/:id/fragment/...`) as steps complete, so every
 * cell is rendered by one function whether it arrives with the page or later.
 */
import { html, raw } from "hono/html";
import { isImageValue, isRunTerminal } from "../../workflows/index.js";
import type { RunView } from "./api.js";
import { cellView, inputImageUrl } from "./cells.js";
import { badge, duration, page, time, valueText, type Html } from "./layout.js";

export function runHead(run: RunView): Html {
  const live = !isRunTerminal(run.status);
  const took = run.finishedAt ? run.finishedAt - run.createdAt : null;
  const outs = run.outputs ? Object.entries(run.outputs) : [];
  return html`<div id="run-head" class="run-head" data-run-status="${run.status}">
<div>
  <h1>Run <code>${run.id}</code></h1>
  <p>${badge(run.status)} ${live ? html`<span class="live" data-live-indicator>● live — updates as steps finish</span>` : ""}</p>
  <dl class="kv">
    <dt>workflow</dt><dd>${run.name ?? "inline workflow"}${run.workflowId ? html` — saved <code>${run.workflowId}</code> v${run.workflowVersion}` : ""}</dd>
    <dt>created</dt><dd>${time(run.createdAt)}</dd>
    <dt>finished</dt><dd>${time(run.finishedAt)}${took !== null ? ` (${duration(took)})` : ""}</dd>
    ${run.tags.length ? html`<dt>tags</dt><dd>${run.tags.map((t) => html`<a class="tag" href="/ui/runs?tag=${encodeURIComponent(t)}">${t}</a>`)}</dd>` : ""}
    ${
      run.parentRunId
        ? html`<dt>rerun of</dt><dd><a href="/ui/runs/${run.parentRunId}"><code>${run.parentRunId}</code></a> from step <strong>${run.rerunFrom}</strong> · <a href="/ui/compare?a=${run.parentRunId}&b=${run.id}">compare with it</a></dd>`
        : ""
    }
  </dl>
  ${
    outs.length
      ? html`<h2>Outputs</h2><dl class="outputs" data-outputs>${outs.map(([k, v]) => html`<dt>${k}</dt><dd data-output-name="${k}">${valueText(v)}</dd>`)}</dl>`
      : ""
  }
  ${run.error ? html`<p class="notice error" role="alert" data-run-error><strong>${run.error.code}</strong>${run.error.stepId ? ` in step ${run.error.stepId}` : ""}: ${run.error.message}</p>` : ""}
</div>
<div class="row" style="justify-content:flex-end">
  ${live ? html`<form method="post" action="/ui/runs/${run.id}/cancel"><button type="submit" class="secondary">Cancel run</button></form>` : ""}
  <a class="btn secondary" href="/ui/new?from=${run.id}">Run again…</a>
  <a class="btn secondary" href="/v1/runs/${run.id}">JSON</a>
  <form method="get" action="/ui/compare" class="row" style="gap:.4rem;align-items:center" aria-label="Compare this run with another">
    <input type="hidden" name="a" value="${run.id}">
    <label for="cmp-with" class="sr-only">Compare with run id</label>
    <input id="cmp-with" name="b" placeholder="compare with run_…" size="18" class="mono" required>
    <button type="submit" class="secondary">Compare</button>
  </form>
</div>
</div>`;
}

/** Text/number inputs, editable: a rerun from the first step that reads a changed one. */
function inputsForm(run: RunView): Html {
  const editable = Object.entries(run.spec.inputs).filter(([, d]) => d.type !== "image");
  if (!editable.length) return html``;
  return html`<details class="rerun"><summary>Edit inputs and rerun</summary>
<form method="post" action="/ui/runs/${run.id}/rerun-inputs" class="edit-form" aria-label="Edit inputs and rerun">
${editable.map(
  ([name, d]) =>
    html`<div class="field wide"><label for="ri-${name}">${name}</label><input id="ri-${name}" name="inputs.${name}" ${d.type === "number" ? raw('type="number" step="any"') : ""} value="${String(run.inputs[name] ?? "")}"></div>`,
)}
<p class="hint wide">Steps that do not read a changed input (e.g. the image encoding) are reused from this run.</p>
<div class="wide"><button type="submit">Rerun with these inputs</button></div>
</form></details>`;
}

function inputsPanel(run: RunView): Html {
  const entries = Object.entries(run.inputs);
  if (!entries.length) return html``;
  return html`<section aria-labelledby="inputs-h"><h2 id="inputs-h">Inputs</h2><div class="inputs-panel">${entries.map(([name, v]) =>
    isImageValue(v)
      ? html`<figure class="thumb"><img src="${inputImageUrl(run.id, name)}" alt="Input image “${name}”" width="128" height="128"><figcaption>${name} · <code title="${v.sha256}">${v.sha256.slice(0, 10)}…</code></figcaption></figure>`
      : html`<dl class="kv"><dt>${name}</dt><dd data-input="${name}">${valueText(v)}</dd></dl>`,
  )}</div>${inputsForm(run)}</section>`;
}

export function runPage(run: RunView, lastEventId: number, problem?: string): Html {
  const byId = new Map(run.steps.map((s) => [s.id, s]));
  const live = !isRunTerminal(run.status);
  const body = html`<div id="run" data-run-id="${run.id}" data-last-event-id="${lastEventId}" data-live="${live ? "1" : "0"}">
${problem ? html`<p class="notice error" role="alert" id="page-problem">${problem}</p>` : ""}
${runHead(run)}
${inputsPanel(run)}
<h2 id="cells-h">Steps</h2>
<p class="sr-only" aria-live="polite" id="live-status"></p>
<ol class="cells" aria-labelledby="cells-h">${run.spec.steps.map((step, i) => cellView(run, step, byId.get(step.id), i))}</ol>
</div>`;
  return page({ title: `Run ${run.id}`, nav: "run", scripts: ["run.js"] }, body);
}
