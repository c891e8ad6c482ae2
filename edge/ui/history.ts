/**
 * History (`/ui/runs`): the runs list with filters, counts per status and cursor pagination —
 * one `GET /v1/runs` page per view, never the whole table, and no JavaScript needed to read it.
 */
import { html } from "hono/html";
import { RUN_STATUSES } from "../../workflows/index.js";
import type { ApiClient, RunListView, RunSummaryView } from "./api.js";
import { badge, duration, page, time, valueText, type Html } from "./layout.js";

const DEFAULT_LIMIT = 25;

export interface HistoryFilters {
  status: string;
  workflow: string;
  tag: string;
  /** As typed: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (UTC). */
  from: string;
  to: string;
  cursor: string;
  limit: string;
}

export function readFilters(q: (k: string) => string | undefined): HistoryFilters {
  const g = (k: string) => (q(k) ?? "").trim();
  return { status: g("status"), workflow: g("workflow"), tag: g("tag"), from: g("from"), to: g("to"), cursor: g("cursor"), limit: g("limit") };
}

/**
 * A date field (UTC) → ms since the epoch. A bare date as the upper bound means the end of that
 * day, so `from=to=2026-11-26` is that whole day.
 */
export function parseDateField(s: string, end: boolean): number | undefined | "invalid" {
  if (!s) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?$/.exec(s);
  if (!m) return "invalid";
  const t = Date.parse(`${m[1]}T${m[2] ?? "00:00"}Z`);
  if (!Number.isFinite(t)) return "invalid";
  return end ? t + (m[2] ? 60_000 : 86_400_000) : t;
}

/** Filters → the API query (`createdAfter` / `createdBefore` in ms), or the field at fault. */
export function apiQuery(f: HistoryFilters): { query: URLSearchParams } | { error: string } {
  const q = new URLSearchParams();
  if (f.status) q.set("status", f.status);
  if (f.workflow) q.set("workflow", f.workflow);
  if (f.tag) q.set("tag", f.tag);
  const from = parseDateField(f.from, false);
  const to = parseDateField(f.to, true);
  if (from === "invalid") return { error: "“Created from” must be a date (YYYY-MM-DD) or date and time." };
  if (to === "invalid") return { error: "“Created to” must be a date (YYYY-MM-DD) or date and time." };
  if (from !== undefined) q.set("createdAfter", String(from));
  if (to !== undefined) q.set("createdBefore", String(to));
  if (f.cursor) q.set("cursor", f.cursor);
  q.set("limit", f.limit || String(DEFAULT_LIMIT));
  return { query: q };
}

/** The UI URL for these filters with some fields replaced (cursor dropped unless given). */
export function historyHref(f: HistoryFilters, patch: Partial<HistoryFilters> = {}): string {
  const all = { ...f, cursor: "", ...patch };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(all)) if (v) q.set(k, v);
  const s = q.toString();
  return `/ui/runs${s ? `?${s}` : ""}`;
}

export async function historyPage(api: ApiClient, f: HistoryFilters): Promise<{ status: number; body: Html }> {
  const aq = apiQuery(f);
  let list: RunListView | undefined;
  let problem: string | undefined;
  let status = 200;
  let saved: string[] = [];
  if ("error" in aq) {
    problem = aq.error;
    status = 400;
  } else {
    const [r, wf] = await Promise.all([api.listRuns(aq.query), api.call<{ workflows: { id: string }[] }>("/v1/workflows")]);
    if (wf.ok) saved = wf.body.workflows.map((w) => w.id);
    if (r.ok) list = r.body;
    else {
      status = r.status;
      problem = r.body.error.message;
    }
  }
  const body = html`<h1>Run history</h1>
${filtersForm(f, saved)}
${problem ? html`<p class="notice error" role="alert">${problem}</p>` : ""}
${list ? results(f, list) : ""}`;
  return { status, body: page({ title: "Run history", nav: "history" }, body) };
}

function filtersForm(f: HistoryFilters, saved: string[]): Html {
  return html`<form class="filters" method="get" action="/ui/runs" role="search" aria-label="Filter runs">
  <div class="row">
    <div class="field"><label for="f-status">Status</label>
      <select id="f-status" name="status">
        <option value="">any</option>
        ${RUN_STATUSES.map((s) => html`<option value="${s}" ${f.status === s ? "selected" : ""}>${s.replace("_", " ")}</option>`)}
      </select></div>
    <div class="field"><label for="f-workflow">Saved workflow</label>
      <input id="f-workflow" name="workflow" value="${f.workflow}" size="16" list="f-workflows" aria-describedby="f-workflow-hint" placeholder="${saved[0] ?? "workflow id"}">
      <datalist id="f-workflows">${saved.map((id) => html`<option value="${id}"></option>`)}</datalist></div>
    <div class="field"><label for="f-tag">Tag</label>
      <input id="f-tag" name="tag" value="${f.tag}" size="12"></div>
    <div class="field"><label for="f-from">Created from (UTC)</label>
      <input id="f-from" name="from" value="${f.from}" placeholder="YYYY-MM-DD" size="16" aria-describedby="f-dates-hint"></div>
    <div class="field"><label for="f-to">Created to (UTC)</label>
      <input id="f-to" name="to" value="${f.to}" placeholder="YYYY-MM-DD" size="16" aria-describedby="f-dates-hint"></div>
    <div class="field"><label for="f-limit">Per page</label>
      <select id="f-limit" name="limit">
        ${["25", "50", "100"].map((n) => html`<option ${(f.limit || String(DEFAULT_LIMIT)) === n ? "selected" : ""}>${n}</option>`)}
      </select></div>
    <div class="row" style="gap:.5rem"><button type="submit">Filter</button><a class="btn secondary" href="/ui/runs">Clear</a></div>
  </div>
  <p class="hint"><span id="f-workflow-hint">“Saved workflow” matches runs started from a saved workflow (<code>POST /v1/workflows</code>), not inline specs.</span>
  <span id="f-dates-hint">Dates are UTC: <code>2026-11-26</code> or <code>2026-11-26T14:30</code>; “to” includes that whole day.</span></p>
</form>`;
}

function results(f: HistoryFilters, list: RunListView): Html {
  const total = Object.values(list.counts).reduce((a, b) => a + b, 0);
  return html`<h2 id="counts-h" class="sr-only">Runs per status</h2>
<ul class="counts" aria-labelledby="counts-h">
  <li><a href="${historyHref(f, { status: "" })}" ${!f.status ? html`aria-current="true"` : ""}><span class="badge s-off">all</span><span class="n">${total}</span></a></li>
  ${RUN_STATUSES.map(
    (s) =>
      html`<li><a href="${historyHref(f, { status: s })}" ${f.status === s ? html`aria-current="true"` : ""}>${badge(s)}<span class="n" data-count="${s}">${list.counts[s] ?? 0}</span></a></li>`,
  )}
</ul>
${
  list.runs.length === 0
    ? f.status || f.workflow || f.tag || f.from || f.to || f.cursor
      ? html`<p class="empty">No runs match these filters. <a href="/ui/runs">Show all runs</a>.</p>`
      : html`<p class="empty">No runs yet. <a href="/ui/new">Start your first run from an example workflow</a> — pick one, keep its sample image, press Run.</p>`
    : html`<form id="compare-form" method="get" action="/ui/compare"></form>
<div class="table-wrap"><table class="runs">
  <caption class="sr-only">Runs, newest first</caption>
  <thead><tr>
    <th scope="col"><span class="sr-only">Select to compare</span></th>
    <th scope="col">Run</th><th scope="col">Status</th><th scope="col">Outputs</th>
    <th scope="col" class="opt">Tags</th><th scope="col">Created</th><th scope="col" class="opt">Duration</th><th scope="col" class="opt">Rerun of</th>
  </tr></thead>
  <tbody>${list.runs.map(runRow)}</tbody>
</table></div>`
}
<nav class="pager" aria-label="Pages">
  ${f.cursor ? html`<a href="${historyHref(f)}">← Newest</a>` : ""}
  ${list.nextCursor ? html`<a href="${historyHref(f, { cursor: list.nextCursor })}" rel="next">Older runs →</a>` : html`<span class="muted">End of history.</span>`}
  ${list.runs.length ? html`<button type="submit" form="compare-form" class="secondary">Compare selected</button>` : ""}
</nav>`;
}

function runRow(r: RunSummaryView): Html {
  const outs = r.outputs ? Object.entries(r.outputs) : [];
  const label = r.workflowId ? `saved ${r.workflowId} v${r.workflowVersion ?? "?"}` : (r.name ?? "inline workflow");
  return html`<tr data-run="${r.id}">
  <td><input type="checkbox" name="run" value="${r.id}" form="compare-form" aria-label="Select ${r.id} to compare"></td>
  <td><a href="/ui/runs/${r.id}"><code>${r.id}</code></a><br><span class="muted">${label}</span></td>
  <td>${badge(r.status)}</td>
  <td>${
    outs.length
      ? outs.slice(0, 3).map(([k, v]) => html`<div><span class="muted">${k}:</span> ${truncate(valueText(v), 60)}</div>`)
      : r.error
        ? html`<span class="muted">${truncate(r.error.message, 80)}</span>`
        : html`<span class="muted">—</span>`
  }</td>
  <td class="opt">${r.tags.map((t) => html`<span class="tag">${t}</span>`)}</td>
  <td class="num">${time(r.createdAt)}</td>
  <td class="num opt">${r.finishedAt && r.createdAt ? duration(r.finishedAt - r.createdAt) : "—"}</td>
  <td class="opt">${r.parentRunId ? html`<a href="/ui/runs/${r.parentRunId}"><code>${r.parentRunId.slice(0, 12)}…</code></a><br><span class="muted">from ${r.rerunFrom ?? "?"}</span>` : ""}</td>
</tr>`;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
