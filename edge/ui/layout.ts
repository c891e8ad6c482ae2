/**
 * The page shell and small formatting helpers shared by every UI page. Pages are server-rendered
 * with hono's `html` tagged template: interpolated values are escaped, nested `html` fragments
 * and arrays of them are not.
 */
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export type NavKey = "history" | "new" | "compare" | "run" | "none";

export interface PageOpts {
  title: string;
  nav?: NavKey;
  /** Scripts (asset names under /ui/assets/) loaded with `defer`. */
  scripts?: string[];
}

/** A full HTML document: skip link, site header with navigation, `<main>`. */
export function page(opts: PageOpts, body: Html): Html {
  const cur = (k: NavKey) => (opts.nav === k ? raw(' aria-current="page"') : "");
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · MetaLM workflows</title>
<link rel="stylesheet" href="/ui/assets/app.css">
${(opts.scripts ?? []).map((s) => html`<script defer src="/ui/assets/${s}"></script>`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
  <a class="brand" href="/ui/runs">MetaLM workflows</a>
  <nav aria-label="Main">
    <ul>
      <li><a href="/ui/runs" ${cur("history")}>History</a></li>
      <li><a href="/ui/new" ${cur("new")}>New run</a></li>
      <li><a href="/ui/compare" ${cur("compare")}>Compare</a></li>
      <li><a href="/docs">API</a></li>
    </ul>
  </nav>
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>`;
}

/** A status word in a coloured pill (the word itself carries the meaning, not the colour). */
export const badge = (status: string) => html`<span class="badge s-${status}" data-status-badge>${status.replace("_", " ")}</span>`;

/** `2026-11-26 14:23:17 UTC` inside a `<time>` element. */
export function time(ms: number | null | undefined): Html {
  if (ms === null || ms === undefined) return html`<span class="muted">—</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")} UTC</time>`;
}

/** Milliseconds as `850 ms`, `3.2 s`, `4 min 5 s`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A number with at most `digits` significant decimals, minus sign as U+2212. */
export function num(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const s = Math.abs(x) >= 1000 || Number.isInteger(x) ? String(Math.round(x * 1000) / 1000) : x.toPrecision(digits);
  return s.replace(/^-/, "−");
}

/** An output value as text (strings as they are, anything else as JSON). */
export const valueText = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** Error page body (the status is set by the caller). */
export const errorBox = (title: string, message: string, extra?: Html) => html`<h1>${title}</h1>
<p class="notice error" role="alert">${message}</p>${extra ?? ""}`;
