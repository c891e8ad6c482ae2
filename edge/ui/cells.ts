/**
 * One notebook cell per step: what went in (image, segments, params), what came out (tensor
 * summary, answer with tokens coloured by probability, label scores as bars, explanation), and
 * how (status, attempts, timings, cache, worker, reproducibility receipt), plus the form that
 * edits the cell's parameters and reruns from it. The same function renders the full page and the
 * fragment the live view swaps in when a step completes.
 */
import { html, raw } from "hono/html";
import { IMAGE_REF_RE, MAX_TOKENS, recordLookup, renderTemplate, type RefLookup, type Step, type WorkflowSpec } from "../../workflows/index.js";
import type { RunView, StepView } from "./api.js";
import { badge, duration, num, time, type Html } from "./layout.js";

type Output = NonNullable<StepView["output"]>;
type OutputOf<O extends Output["op"]> = Extract<Output, { op: O }>;

/** Probability of a log-prob, clamped to [0, 1] (`-1e9` stands for −∞ on the wire). */
export const probOf = (lp: number) => (Number.isFinite(lp) ? Math.min(1, Math.max(0, Math.exp(lp))) : 0);

/** Scores (log-likelihoods) → probabilities by softmax, in the labels' order. */
export function softmax(scores: Record<string, number>): { label: string; score: number; p: number }[] {
  const entries = Object.entries(scores);
  const max = Math.max(...entries.map(([, s]) => s));
  const exps = entries.map(([, s]) => Math.exp(s - max));
  const sum = exps.reduce((a, b) => a + b, 0) || 1;
  return entries.map(([label, score], i) => ({ label, score, p: exps[i]! / sum }));
}

/**
 * Token texts of an explain output. Its log-probs are those of the generated explanation tokens
 * (label and `because` are forced), so the explanation split the way the tokenizer pre-splits
 * (`\w+|[^\w\s]+`) gives one piece per log-prob — plus, when generation ended on `eos`, one
 * more (`<eos>`). Undefined when the counts do not line up (e.g. unknown words).
 */
export function explainTokenTexts(o: OutputOf<"explain">): string[] | undefined {
  const pieces = o.explanation.match(/\w+|[^\w\s]+/g) ?? [];
  if (pieces.length === o.logprobs.length) return pieces;
  if (pieces.length + 1 === o.logprobs.length) return [...pieces, "<eos>"];
  return undefined;
}

/** The image input a step ultimately reads (encode: its `image`; connect/span: via its source). */
export function imageInputOf(spec: WorkflowSpec, stepId: string, depth = 0): string | undefined {
  const s = spec.steps.find((x) => x.id === stepId);
  if (!s || depth > 4) return undefined;
  if (s.op === "encode") return s.image ? IMAGE_REF_RE.exec(s.image)?.[1] : undefined;
  if (s.op === "connect") return imageInputOf(spec, s.from, depth + 1);
  return undefined;
}

export const inputImageUrl = (runId: string, name: string) => `/ui/runs/${encodeURIComponent(runId)}/inputs/${encodeURIComponent(name)}`;

function tokenSpan(text: string, lp: number, i: number): Html {
  const p = probOf(lp);
  const shown = text === "" ? "∅" : text;
  return html`<span class="tok" style="--p:${p.toFixed(3)}" title="#${i} “${text}” p=${p.toFixed(3)} log-prob ${num(lp)}">${shown}</span>`;
}

/** Tokens coloured from red (unlikely) to green (likely), and the same numbers as a table. */
export function tokensView(texts: string[], logprobs: number[], ids?: number[]): Html {
  const mean = logprobs.length ? logprobs.reduce((a, b) => a + Math.max(b, -50), 0) / logprobs.length : 0;
  return html`<div class="tokens" data-tokens aria-label="Generated tokens, coloured by probability">${texts.map((t, i) => tokenSpan(t, logprobs[i] ?? 0, i))}</div>
<div class="legend" aria-hidden="true">probability: <span class="tok" style="--p:0">low</span><span class="tok" style="--p:0.5">0.5</span><span class="tok" style="--p:1">high</span> · mean log-prob ${num(mean)}</div>
<details><summary>Token table (${texts.length})</summary>
<table class="tensor"><thead><tr><th scope="col">#</th><th scope="col">token</th>${ids ? html`<th scope="col">id</th>` : ""}<th scope="col">log-prob</th><th scope="col">p</th></tr></thead>
<tbody>${texts.map(
    (t, i) =>
      html`<tr><td>${i}</td><td><code>${t}</code></td>${ids ? html`<td>${ids[i] ?? ""}</td>` : ""}<td>${num(logprobs[i] ?? 0)}</td><td>${probOf(logprobs[i] ?? 0).toFixed(3)}</td></tr>`,
  )}</tbody></table></details>`;
}

function tensorView(t: OutputOf<"encode">["tensor"]): Html {
  return html`<table class="tensor" data-tensor><tbody>
<tr><th scope="row">shape</th><td><code>[${t.shape.join(", ")}]</code> ${t.dtype}</td></tr>
<tr><th scope="row">norm</th><td data-norm>${num(t.norm, 4)}</td></tr>
<tr><th scope="row">mean</th><td>${num(t.mean, 3)}</td></tr>
<tr><th scope="row">std</th><td>${num(t.std, 3)}</td></tr>
</tbody></table>`;
}

function scoresView(o: OutputOf<"explain">): Html {
  const rows = softmax(o.scores);
  return html`<table class="scores" data-scores><caption class="sr-only">Label scores</caption>
<thead class="sr-only"><tr><th scope="col">label</th><th scope="col">share</th><th scope="col">probability</th><th scope="col">log-likelihood</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr class="${r.label === o.label ? "best" : ""}" data-label="${r.label}">
  <th scope="row">${r.label}${r.label === o.label ? html` <span aria-label="(chosen)">✓</span>` : ""}</th>
  <td style="width:50%"><div class="bar" aria-hidden="true"><span style="width:${(r.p * 100).toFixed(1)}%"></span></div></td>
  <td class="num">${(r.p * 100).toFixed(1)}%</td>
  <td class="num muted">${num(r.score)}</td></tr>`,
  )}</tbody></table>`;
}

/** The output side of a cell. */
export function outputView(s: StepView): Html {
  const o = s.output;
  if (s.error && !o) {
    return html`<div class="error-box" role="note"><strong>${s.error.code}</strong>: ${s.error.message}</div>`;
  }
  if (!o) {
    const waiting =
      s.status === "running"
        ? "Running…"
        : s.status === "queued"
          ? "Queued, waiting for a worker…"
          : s.status === "pending"
            ? "Waiting for upstream values…"
            : "No output.";
    return html`<p class="muted" data-waiting>${waiting}</p><div class="tokens" data-live-tokens aria-live="off"></div>`;
  }
  switch (o.op) {
    case "encode":
    case "connect":
      return tensorView(o.tensor);
    case "decode":
      return html`<p class="answer" data-answer>${o.text || "∅ (empty)"}</p>
${tokensView(o.tokenTexts, o.logprobs, o.tokens)}
<p class="hint">finish: <strong>${o.finishReason}</strong> · ${o.tokens.length} tokens</p>`;
    case "explain": {
      const texts = explainTokenTexts(o);
      return html`<p class="answer" data-label-out>${o.label}</p>
${scoresView(o)}
<p data-explanation><strong>Explanation:</strong> ${o.explanation || html`<span class="muted">(none)</span>`}</p>
<p class="hint">full text: ${o.text}</p>
${texts ? html`<h4>Explanation tokens</h4>${tokensView(texts, o.logprobs, o.tokens)}` : ""}`;
    }
  }
}

/** Template lookups over a run: text/number inputs and the value fields of finished steps. */
export function runLookup(run: RunView): RefLookup {
  const inputs: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(run.inputs)) if (typeof v === "string" || typeof v === "number") inputs[k] = v;
  const steps: Record<string, Record<string, string>> = {};
  for (const s of run.steps) {
    const o = s.output;
    if (o?.op === "decode") steps[s.id] = { text: o.text };
    else if (o?.op === "explain") steps[s.id] = { label: o.label, explanation: o.explanation, text: o.text };
  }
  return recordLookup(inputs, steps);
}

/** A text template as the step saw it (resolved), the template itself in `title`; as written while unresolved. */
export function templateView(run: RunView, src: string): Html {
  const r = renderTemplate(src, runLookup(run));
  return r.ok && r.text !== src ? html`<span title="template: ${src}" data-resolved>${r.text}</span>` : html`${src}`;
}

function segmentsView(run: RunView, segments: { span?: string; text?: string }[]): Html {
  return html`<ol class="segments" aria-label="Decoder input segments">${segments.map((seg) => {
    if (seg.span !== undefined) {
      const img = imageInputOf(run.spec, seg.span);
      return html`<li><span class="seg-span" title="connected span of step ${seg.span}">[${seg.span}]</span>${
        img
          ? html`<img src="${inputImageUrl(run.id, img)}" alt="input ${img}" width="24" height="24" style="image-rendering:pixelated;vertical-align:middle;margin-left:.2rem">`
          : ""
      }</li>`;
    }
    return html`<li class="seg-text">${templateView(run, seg.text ?? "")}</li>`;
  })}</ol>`;
}

function paramsView(p: Record<string, unknown>): Html {
  return html`<dl class="kv" data-params>${Object.entries(p).map(([k, v]) => html`<dt>${k}</dt><dd><code>${JSON.stringify(v)}</code></dd>`)}</dl>`;
}

/** The input side of a cell. */
export function inputView(run: RunView, step: Step): Html {
  switch (step.op) {
    case "encode": {
      const img = step.image ? IMAGE_REF_RE.exec(step.image)?.[1] : undefined;
      return html`<dl class="kv"><dt>model</dt><dd>${step.model}</dd><dt>encoder</dt><dd>${step.encoder}</dd>
${step.text !== undefined ? html`<dt>text</dt><dd class="seg-text">${templateView(run, step.text)}</dd>` : ""}</dl>
${img ? html`<figure class="thumb"><img src="${inputImageUrl(run.id, img)}" alt="Input image “${img}” of this run" width="128" height="128"><figcaption>inputs.${img}</figcaption></figure>` : ""}`;
    }
    case "connect":
      return html`<dl class="kv"><dt>from</dt><dd><a href="#cell-${step.from}">${step.from}</a></dd><dt>connector</dt><dd>${step.connector ?? "(the model's default for that encoder)"}</dd></dl>`;
    case "decode":
    case "explain":
      return html`<dl class="kv"><dt>model</dt><dd>${step.model}</dd></dl>
${segmentsView(run, step.segments)}
${step.op === "explain" ? html`<p class="hint">labels: ${step.labels.map((l) => html`<span class="tag">${l}</span>`)}</p>` : ""}
<h4 style="margin-top:.5rem">Parameters</h4>${paramsView(step.params)}`;
  }
}

function metaView(_run: RunView, s: StepView): Html {
  const wall = s.startedAt && s.finishedAt ? s.finishedAt - s.startedAt : null;
  const [fromRun = "", fromStep = ""] = s.cachedFrom ? s.cachedFrom.split("/") : [];
  const r = s.receipt;
  const worker = s.workerId ?? r?.workerId;
  // one line for what matters at a glance; the rest (receipt, cache key) one click away
  return html`<p class="meta" data-meta>
<span>attempt ${s.attempts}/${s.maxAttempts}</span> ·
<span>queue ${duration(s.queueMs)} · compute ${duration(s.computeMs)}${wall !== null ? ` · wall ${duration(wall)}` : ""}</span> ·
<span data-cache>${
    s.status === "cached" && fromRun
      ? html`reused from <a href="/ui/runs/${fromRun}#cell-${fromStep}"><code>${fromRun.slice(0, 14)}…</code>/${fromStep}</a>`
      : s.cacheHit
        ? "encoder cache hit"
        : s.output
          ? "computed (cache miss)"
          : s.status === "pending" || s.status === "queued" || s.status === "running"
            ? "not finished yet"
            : "no output"
  }</span>${worker ? html` · <span>worker ${worker}</span>` : ""}</p>
${
  r || s.cacheKey
    ? html`<details class="receipt"><summary>Reproducibility receipt</summary><dl class="kv" data-receipt>
${
  r
    ? html`<dt>model</dt><dd>${r.model} ${r.modelVersion}</dd>
<dt>model sha256</dt><dd>${r.modelSha256}</dd>
<dt>tokenizer sha256</dt><dd>${r.tokenizerSha256}</dd>
<dt>onnxruntime</dt><dd>${r.ortVersion}</dd>
<dt>execution provider</dt><dd data-provider="${r.executionProvider}">${r.executionProvider}${r.requestedProviders?.length ? html` <span class="muted">(requested ${r.requestedProviders.join(", ")})</span>` : ""}${
        r.providerFallbacks?.length
          ? html` <span class="fallback">— fell back: ${r.providerFallbacks.map((f, i) => html`${i ? "; " : ""}${f.provider} failed: ${f.reason}`)}</span>`
          : ""
      }</dd>
<dt>seed</dt><dd>${r.seed}</dd>
<dt>worker</dt><dd>${r.workerId}</dd>
<dt>params</dt><dd>${JSON.stringify(r.params)}</dd>`
    : ""
}
<dt>cache key</dt><dd>${s.cacheKey ?? "—"}</dd>
<dt>finished</dt><dd>${time(s.finishedAt)}</dd>
</dl></details>`
    : ""
}`;
}

/** The "edit and rerun from here" form; posts without JavaScript. */
function rerunForm(run: RunView, step: Step): Html {
  const id = `rr-${step.id}`;
  const fields: Html[] = [];
  if (step.op === "decode" || step.op === "explain") {
    const p = step.params;
    const numField = (k: keyof typeof p, attrs: string, hint: string) =>
      html`<div class="field"><label for="${id}-${k}">${k}</label><input id="${id}-${k}" name="params.${k}" type="number" ${raw(attrs)} value="${String(p[k])}" aria-describedby="${id}-${k}-h"><span class="hint" id="${id}-${k}-h">${hint}</span></div>`;
    fields.push(
      numField("maxTokens", `min="1" max="${MAX_TOKENS}" step="1"`, `1–${MAX_TOKENS}`),
      numField("temperature", 'min="0" max="2" step="0.05"', "0 = greedy"),
      numField("topP", 'min="0.01" max="1" step="0.01"', "0 < p ≤ 1"),
      numField("topK", 'min="0" step="1"', "0 = off"),
      numField("seed", 'min="0" max="4294967295" step="1"', "uint32"),
      html`<div class="field"><label for="${id}-stop">stop</label><input id="${id}-stop" name="params.stop" value="${p.stop.join(" | ")}" aria-describedby="${id}-stop-h"><span class="hint" id="${id}-stop-h">strings separated by |</span></div>`,
    );
    step.segments.forEach((seg, i) => {
      if ("text" in seg)
        fields.push(
          html`<div class="field wide"><label for="${id}-seg${i}">text segment ${i + 1}</label><input id="${id}-seg${i}" name="segment.${i}" value="${seg.text}" class="mono"></div>`,
        );
    });
    if (step.op === "explain")
      fields.push(
        html`<div class="field wide"><label for="${id}-labels">labels</label><input id="${id}-labels" name="labels" value="${step.labels.join(", ")}" aria-describedby="${id}-labels-h"><span class="hint" id="${id}-labels-h">comma-separated, 2–16</span></div>`,
      );
  }
  return html`<details class="rerun"><summary>Edit and rerun from <strong>${step.id}</strong></summary>
<form method="post" action="/ui/runs/${run.id}/rerun" class="edit-form" aria-label="Edit ${step.id} and rerun">
<input type="hidden" name="fromStep" value="${step.id}">
${fields}
<p class="hint wide">Steps upstream of <strong>${step.id}</strong> are reused from this run; this step and everything downstream run again.</p>
<div class="wide"><button type="submit">Rerun from ${step.id}</button></div>
</form></details>`;
}

/** One cell (`<li>`): header, inputs | outputs, meta and rerun form. */
export function cellView(run: RunView, step: Step, s: StepView | undefined, index: number): Html {
  const status = s?.status ?? "pending";
  return html`<li class="cell" id="cell-${step.id}" data-step="${step.id}" data-status="${status}" aria-labelledby="cell-${step.id}-h">
<header><span class="idx">[${index + 1}]</span><h3 id="cell-${step.id}-h">${step.id}</h3><span class="op">${step.op}</span><span data-status-slot>${badge(status)}</span>
${s?.status === "cached" ? "" : s?.cacheHit ? html`<span class="badge s-cached" title="the worker reused a cached encoder output">encoder cache hit</span>` : ""}
${s?.workerId ? html`<span class="muted">on ${s.workerId}</span>` : ""}</header>
<div class="cell-body">
  <section aria-label="Inputs of ${step.id}"><h4>In</h4>${inputView(run, step)}</section>
  <section aria-label="Output of ${step.id}"><h4>Out</h4><div data-output>${s ? outputView(s) : ""}</div>
  ${s ? metaView(run, s) : ""}</section>
</div>
<footer>${rerunForm(run, step)}</footer>
</li>`;
}
