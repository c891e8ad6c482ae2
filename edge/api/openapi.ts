/**
 * `GET /openapi.json` and `GET /docs`, both readable without a key. The document is generated
 * from the routes themselves (every handler is registered with its `createRoute` definition, see
 * route.ts), so it lists what the app serves; `/docs` is that document as one server-rendered
 * page (no JavaScript, no CDN: it works offline and on Workers).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { html } from "hono/html";
import type { Env } from "../context.js";

const INFO = { title: "MetaLM workflow service", version: "0.1.0", description: "Control plane (edge) API and pool protocol" };

type Operation = {
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; description?: string }[];
  requestBody?: { content: Record<string, { schema?: { $ref?: string } }> };
  responses?: Record<string, { description?: string }>;
};
type Doc = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, unknown> } };

/** The OpenAPI 3.1 document of `app` (what /openapi.json serves). */
export function openApiDocument(app: OpenAPIHono<Env>) {
  return app.getOpenAPI31Document({ openapi: "3.1.0", info: INFO });
}

/** Mount `/openapi.json` and `/docs` (call after every route is registered). */
export function mountApiDocs(app: OpenAPIHono<Env>): void {
  app.get("/openapi.json", (c) => c.json(openApiDocument(app)));
  app.get("/docs", (c) => c.html(docsPage(openApiDocument(app) as unknown as Doc)));
}

const refName = (ref: string | undefined) => (ref ? ref.replace("#/components/schemas/", "") : "");

function docsPage(doc: Doc) {
  const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
  const schemas = Object.entries(doc.components?.schemas ?? {});
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${INFO.title} — API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d1d1f; }
code, pre { font: 13px ui-monospace, monospace; } pre { background: #f6f6f8; padding: .6rem; overflow: auto; }
.op { border-top: 1px solid #ddd; padding: .6rem 0; } .m { display: inline-block; min-width: 4.5rem; font-weight: 600; text-transform: uppercase; }
.muted { color: #666; } details { margin: .3rem 0; }
</style></head><body>
<h1>${INFO.title}</h1>
<p>${INFO.description}. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Send <code>Authorization: Bearer &lt;key&gt;</code>; the pool protocol takes the pool token.</p>
<h2>Operations</h2>
${ops.map(
  ({ path, method, op }) => html`<div class="op" id="${method}-${path}"><span class="m">${method}</span> <code>${path}</code> — ${op.summary ?? ""}
${op.security?.length ? html`<span class="muted">(${op.security.flatMap((s) => Object.keys(s)).join(", ")})</span>` : ""}
${op.parameters?.length ? html`<div class="muted">parameters: ${op.parameters.map((p) => html`<code>${p.name}</code> (${p.in}${p.required ? ", required" : ""}) `)}</div>` : ""}
${op.requestBody ? html`<div class="muted">body: ${Object.entries(op.requestBody.content).map(([t, m]) => html`<code>${t}</code> <a href="#schema-${refName(m.schema?.$ref)}">${refName(m.schema?.$ref)}</a> `)}</div>` : ""}
<div class="muted">responses: ${Object.entries(op.responses ?? {}).map(([code, r]) => html`<code>${code}</code> ${r.description ?? ""}; `)}</div></div>`,
)}
<h2>Schemas</h2>
${schemas.map(([name, s]) => html`<details id="schema-${name}"><summary><code>${name}</code></summary><pre>${JSON.stringify(s, null, 2)}</pre></details>`)}
</body></html>`;
}
