/**
 * Compare two runs side by side (`/ui/compare?a=&b=`, or `?run=…&run=…` from the history
 * checkboxes): inputs, outputs and each step's parameters and output, with the rows that differ
 * marked (in words, not only colour).
 */
import { html } from "hono/html";
import { isImageValue, type Step } from "../../workflows/index.js";
import type { RunView, StepView } from "./api.js";
import { inputImageUrl, softmax } from "./cells.js";
import { badge, duration, num, page, time, valueText, type Html } from "./layout.js";

export function compareForm(a: string, b: string): Html {
  return html`<form method="get" action="/ui/compare" class="filters row" aria-label="Choose runs to compare">
  <div class="field grow"><label for="cmp-a">Run A</label><input id="cmp-a" name="a" value="${a}" placeholder="run_…" class="mono"></div>
  <div class="field grow"><label for="cmp-b">Run B</label><input id="cmp-b" name="b" value="${b}" placeholder="run_…" class="mono"></div>
  <div class="field"><button type="submit">Compare</button></div>
</form>`;
}

/** A one-line, comparable summary of a step's output. */
export function outputSummary(s: StepView | undefined): string {
  const o = s?.output;
  if (!s) return "—";
  if (!o) return s.error ? `${s.status}: ${s.error.message}` : s.status;
  switch (o.op) {
    case "encode":
    case "connect":
      return `[${o.tensor.shape.join(", ")}] norm ${num(o.tensor.norm, 4)}`;
    case "decode":
      return `“${o.text}” (${o.finishReason})`;
    case "explain": {
      const best = softmax(o.scores).find((r) => r.label === o.label);
      return `${o.label}${best ? ` (${(best.p * 100).toFixed(0)}%)` : ""} — ${o.explanation}`;
    }
  }
}

/** What the user set on a step (params, segments, labels…) as `path → JSON value`, without id/op/retry. */
export function stepSettings(step: Step | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!step) return out;
  const { id: _id, op: _op, retry: _r, timeoutMs: _t, ...rest } = step;
  const walk = (v: unknown, path: string) => {
    if (v && typeof v === "object" && !(Array.isArray(v) && v.every((x) => typeof x !== "object"))) {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    } else out.set(path, JSON.stringify(v));
  };
  walk(rest, "");
  return out;
}

function settingsView(mine: Map<string, string>, other: Map<string, string>): Html {
  if (!mine.size) return html`<span class="muted">—</span>`;
  return html`<ul class="settings">${[...mine].map(([k, v]) =>
    other.get(k) === v ? html`<li>${k}: ${v}</li>` : html`<li><mark>${k}: ${v}</mark> <span class="diff-mark">≠</span></li>`,
  )}</ul>`;
}

type Row = { label: Html | string; a: Html | string; b: Html | string; differ: boolean };

function rowsView(rows: Row[]): Html {
  return html`${rows.map(
    (r) => html`<tr${r.differ ? html` data-differ="1"` : ""}><th scope="row">${r.label}${r.differ ? html`<br><span class="diff-mark">differs</span>` : ""}</th>
<td class="${r.differ ? "diff" : ""}">${r.a}</td><td class="${r.differ ? "diff" : ""}">${r.b}</td></tr>`,
  )}`;
}

export function comparePage(a: RunView, b: RunView): Html {
  const inputNames = [...new Set([...Object.keys(a.inputs), ...Object.keys(b.inputs)])];
  const outNames = [...new Set([...Object.keys(a.outputs ?? {}), ...Object.keys(b.outputs ?? {})])];
  const stepIds = [...new Set([...a.spec.steps.map((s) => s.id), ...b.spec.steps.map((s) => s.id)])];
  const inputCell = (r: RunView, n: string): Html | string => {
    const v = r.inputs[n];
    if (v === undefined) return "—";
    return isImageValue(v)
      ? html`<figure class="thumb small"><img src="${inputImageUrl(r.id, n)}" alt="${n} of ${r.id}" width="64" height="64"></figure>`
      : valueText(v);
  };
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const head: Row[] = [
    { label: "status", a: badge(a.status), b: badge(b.status), differ: a.status !== b.status },
    { label: "workflow", a: a.name ?? "inline", b: b.name ?? "inline", differ: a.name !== b.name },
    { label: "created", a: time(a.createdAt), b: time(b.createdAt), differ: false },
    {
      label: "duration",
      a: a.finishedAt ? duration(a.finishedAt - a.createdAt) : "—",
      b: b.finishedAt ? duration(b.finishedAt - b.createdAt) : "—",
      differ: false,
    },
    {
      label: "lineage",
      a: a.parentRunId ? `rerun of ${a.parentRunId} from ${a.rerunFrom}` : "original",
      b: b.parentRunId ? `rerun of ${b.parentRunId} from ${b.rerunFrom}` : "original",
      differ: false,
    },
  ];
  const inputs: Row[] = inputNames.map((n) => ({
    label: html`<code>inputs.${n}</code>`,
    a: inputCell(a, n),
    b: inputCell(b, n),
    differ: !same(a.inputs[n], b.inputs[n]),
  }));
  const outputs: Row[] = outNames.map((n) => ({
    label: html`<code>outputs.${n}</code>`,
    a: a.outputs?.[n] === undefined ? "—" : valueText(a.outputs[n]),
    b: b.outputs?.[n] === undefined ? "—" : valueText(b.outputs[n]),
    differ: !same(a.outputs?.[n], b.outputs?.[n]),
  }));
  const steps: Row[] = stepIds.flatMap((id) => {
    const [sa, sb] = [a.spec.steps.find((s) => s.id === id), b.spec.steps.find((s) => s.id === id)];
    const [va, vb] = [a.steps.find((s) => s.id === id), b.steps.find((s) => s.id === id)];
    const link = (r: RunView, v: StepView | undefined) => (v ? html`<a href="/ui/runs/${r.id}#cell-${id}">${badge(v.status)}</a>` : "—");
    const settingsA = stepSettings(sa);
    const settingsB = stepSettings(sb);
    const settingsDiffer = JSON.stringify([...settingsA]) !== JSON.stringify([...settingsB]);
    return [
      {
        label: html`step <strong>${id}</strong> <span class="muted">${sa?.op ?? sb?.op}</span>`,
        a: html`${link(a, va)} ${va?.computeMs != null ? html`<span class="muted">${duration(va.computeMs)}</span>` : ""}`,
        b: html`${link(b, vb)} ${vb?.computeMs != null ? html`<span class="muted">${duration(vb.computeMs)}</span>` : ""}`,
        differ: false,
      },
      {
        label: html`<span class="muted">${id} · settings</span>`,
        a: settingsView(settingsA, settingsB),
        b: settingsView(settingsB, settingsA),
        differ: settingsDiffer,
      },
      { label: html`<span class="muted">${id} · output</span>`, a: outputSummary(va), b: outputSummary(vb), differ: outputSummary(va) !== outputSummary(vb) },
    ];
  });
  const body = html`<h1>Compare runs</h1>
${compareForm(a.id, b.id)}
<p><a href="/ui/compare?a=${b.id}&b=${a.id}">Swap A and B</a></p>
<table class="compare">
<caption class="sr-only">Run A and run B side by side; rows marked “differs” have different values</caption>
<thead><tr><th scope="col">field</th><th scope="col">A: <a href="/ui/runs/${a.id}"><code>${a.id}</code></a></th><th scope="col">B: <a href="/ui/runs/${b.id}"><code>${b.id}</code></a></th></tr></thead>
<tbody>${rowsView(head)}</tbody>
${inputs.length ? html`<tbody><tr><th colspan="3" scope="rowgroup">Inputs</th></tr>${rowsView(inputs)}</tbody>` : ""}
${outputs.length ? html`<tbody><tr><th colspan="3" scope="rowgroup">Outputs</th></tr>${rowsView(outputs)}</tbody>` : ""}
<tbody><tr><th colspan="3" scope="rowgroup">Steps</th></tr>${rowsView(steps)}</tbody>
</table>`;
  return page({ title: "Compare runs", nav: "compare" }, body);
}
