/**
 * The notebook UI, served by the edge: server-rendered HTML (hono's `html` helper), a stylesheet
 * and two small vanilla scripts for progressive enhancement — no client build step. Pages read
 * through the public API in-process (`api.ts`), so they show what `/v1/*` answers.
 *
 * Routes: `/` → `/ui/runs` (history), `/ui/runs/:id` (a run as a notebook), `/ui/new`,
 * `/ui/compare`, plus the pieces pages use: input images, live-update fragments, the rerun and
 * cancel form targets, `POST /ui/api/validate`, `/ui/assets/*`.
 *
 * @example
 * const app = createApp({ store, poolToken });   // edge/app.ts calls mountUi(app)
 * await app.request("/ui/runs");                 // 200 text/html: the run history
 */
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { html } from "hono/html";
import { blobs, runEvents } from "../../db/schema.js";
import { catalogFrom, isImageValue, validateWorkflow, type ValidationErrorMap } from "../../workflows/index.js";
import type { Ctx, Env } from "../context.js";
import { liveAdverts } from "../engine/workers.js";
import { ApiClient, type RunView } from "./api.js";
import { cellView } from "./cells.js";
import { NEW_JS, RUN_JS } from "./client/bundle.gen.js";
import { compareForm, comparePage } from "./compare.js";
import { CSS } from "./css.js";
import { listExamples, readSampleFile, SAMPLE_FILE_RE } from "../../workflows/examples/index.js";
import { readRunForm, sampleReuse } from "./run-form.js";
import { historyPage, readFilters } from "./history.js";
import { errorBox, page } from "./layout.js";
import { newRunPage, planView, type LiveModel, type NewPageState, type PlanView, type SavedWorkflow } from "./new-run.js";
import { rerunBody, rerunInputsBody } from "./rerun.js";
import { runHead, runPage } from "./run-page.js";

const ASSETS: Record<string, { type: string; body: string }> = {
  "app.css": { type: "text/css; charset=utf-8", body: CSS },
  "run.js": { type: "text/javascript; charset=utf-8", body: RUN_JS },
  "new.js": { type: "text/javascript; charset=utf-8", body: NEW_JS },
};

const RUN_ID_RE = /^run_[0-9a-z]{26}$/;

/** Mount the UI's routes on the edge app (the one line edge/app.ts needs). */
export function mountUi(app: Hono<Env>): void {
  app.route("/", uiRoutes(app));
}

export function uiRoutes(app: Hono<Env>): Hono<Env> {
  const ui = new Hono<Env>();
  const api = (c: Ctx) => new ApiClient(app, c);

  ui.onError((err, c) => {
    console.error("[ui] error", err);
    if (c.req.path.startsWith("/ui/api/")) return c.json({ error: { code: "internal", message: "internal error", details: null } }, 500);
    return c.html(page({ title: "Error" }, errorBox("Something went wrong", "The page could not be rendered; the error is logged on the server.")), 500);
  });

  const notFound = (c: Ctx, what: string) =>
    c.html(page({ title: "Not found" }, errorBox("Not found", what, html`<p><a href="/ui/runs">Back to the run history</a></p>`)), 404);

  /** The run through the API, or an HTML 404 / error response. */
  async function loadRun(c: Ctx, id: string): Promise<RunView | Response> {
    if (!RUN_ID_RE.test(id)) return notFound(c, `There is no run “${id}”.`);
    const r = await api(c).run(id);
    if (r.ok) return r.body;
    if (r.status === 404) return notFound(c, `There is no run “${id}”.`);
    return c.html(page({ title: "Error" }, errorBox("Could not load the run", r.body.error.message)), r.status as 400);
  }

  ui.get("/", (c) => c.redirect("/ui/runs", 302));
  ui.get("/ui", (c) => c.redirect("/ui/runs", 302));
  ui.get("/ui/", (c) => c.redirect("/ui/runs", 302));

  /** Sample images beside the example workflows (public, like the examples themselves). */
  ui.get("/ui/examples/files/:file", async (c) => {
    const file = c.req.param("file");
    const bytes = SAMPLE_FILE_RE.test(file) ? await readSampleFile(file) : undefined;
    if (!bytes) return notFound(c, "no such sample file");
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": file.endsWith(".png") ? "image/png" : "image/jpeg",
      "cache-control": "public, max-age=300",
    });
  });

  ui.get("/ui/assets/:name", (c) => {
    // own keys only: `constructor`, `__proto__`, `toString` … would reach Object.prototype
    const name = c.req.param("name");
    const a = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!a) return c.text("not found", 404);
    return c.body(a.body, 200, { "content-type": a.type, "cache-control": "public, max-age=60" });
  });

  // ------------------------------------------------------------------ history
  ui.get("/ui/runs", async (c) => {
    const { status, body } = await historyPage(
      api(c),
      readFilters((k) => c.req.query(k)),
    );
    return c.html(body, status as 200);
  });

  // ------------------------------------------------------------------ run page
  ui.get("/ui/runs/:id", async (c) => {
    const id = c.req.param("id");
    // the event id first: events after it are replayed by the live view (re-rendering is idempotent)
    const last = RUN_ID_RE.test(id) ? await lastEventId(c, id) : 0;
    const run = await loadRun(c, id);
    if (run instanceof Response) return run;
    return c.html(runPage(run, last));
  });

  ui.get("/ui/runs/:id/fragment/head", async (c) => {
    const run = await loadRun(c, c.req.param("id"));
    if (run instanceof Response) return run;
    return c.html(runHead(run), 200, { "cache-control": "no-store" });
  });

  ui.get("/ui/runs/:id/fragment/cell/:stepId", async (c) => {
    const run = await loadRun(c, c.req.param("id"));
    if (run instanceof Response) return run;
    const i = run.spec.steps.findIndex((s) => s.id === c.req.param("stepId"));
    if (i < 0) return notFound(c, "no such step");
    const step = run.spec.steps[i]!;
    return c.html(
      cellView(
        run,
        step,
        run.steps.find((s) => s.id === step.id),
        i,
      ),
      200,
      { "cache-control": "no-store" },
    );
  });

  /** A run's input image (tenant-safe: the run is read through the API first). */
  ui.get("/ui/runs/:id/inputs/:name", async (c) => {
    const run = await loadRun(c, c.req.param("id"));
    if (run instanceof Response) return run;
    const v = run.inputs[c.req.param("name")];
    if (!isImageValue(v)) return notFound(c, "no such image input");
    if (c.req.header("if-none-match") === `"${v.sha256}"`) return c.body(null, 304);
    const [row] = await c.var.engine.store.db.select({ data: blobs.data, mime: blobs.mime }).from(blobs).where(eq(blobs.sha256, v.sha256));
    if (!row) return notFound(c, "image bytes are not stored");
    return c.body(new Uint8Array(row.data), 200, {
      "content-type": row.mime,
      etag: `"${v.sha256}"`,
      "cache-control": "private, max-age=31536000, immutable",
      "x-content-type-options": "nosniff",
    });
  });

  const formLimit = bodyLimit({ maxSize: 16 << 20, onError: (c) => c.text("request body too large", 413) });

  ui.post("/ui/runs/:id/cancel", formLimit, async (c) => {
    const id = c.req.param("id");
    const r = await api(c).call(`/v1/runs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
    if (!r.ok && r.status === 404) return notFound(c, `There is no run “${id}”.`);
    return c.redirect(`/ui/runs/${encodeURIComponent(id)}`, 303);
  });

  ui.post("/ui/runs/:id/rerun", formLimit, async (c) => {
    const run = await loadRun(c, c.req.param("id"));
    if (run instanceof Response) return run;
    const form = await c.req.parseBody();
    const body = rerunBody(run, form);
    if ("problem" in body) return c.html(runPage(run, await lastEventId(c, run.id), body.problem), 400);
    const r = await api(c).call<RunView>(`/v1/runs/${run.id}/rerun`, { json: body });
    if (r.ok) return c.redirect(`/ui/runs/${r.body.id}`, 303);
    return c.html(runPage(run, await lastEventId(c, run.id), `Rerun rejected: ${r.body.error.message}`), r.status as 400);
  });

  ui.post("/ui/runs/:id/rerun-inputs", formLimit, async (c) => {
    const run = await loadRun(c, c.req.param("id"));
    if (run instanceof Response) return run;
    const body = rerunInputsBody(run, await c.req.parseBody());
    if ("problem" in body) return c.html(runPage(run, await lastEventId(c, run.id), body.problem), 400);
    const r = await api(c).call<RunView>(`/v1/runs/${run.id}/rerun`, { json: body });
    if (r.ok) return c.redirect(`/ui/runs/${r.body.id}`, 303);
    return c.html(runPage(run, await lastEventId(c, run.id), `Rerun rejected: ${r.body.error.message}`), r.status as 400);
  });

  // ------------------------------------------------------------------ new run
  ui.get("/ui/new", async (c) => {
    const pick =
      c.req.query("pick") ?? (c.req.query("example") ? `example:${c.req.query("example")}` : c.req.query("from") ? `run:${c.req.query("from")}` : "");
    const base = await newPageBase(c);
    let specText: string | undefined;
    const values: Record<string, string> = {};
    const reuse: NonNullable<NewPageState["reuse"]> = {};
    if (pick.startsWith("run:")) {
      const r = await api(c).run(pick.slice(4));
      if (r.ok) {
        specText = JSON.stringify(r.body.spec, null, 2);
        for (const [k, v] of Object.entries(r.body.inputs)) {
          if (isImageValue(v))
            reuse[k] = { value: v.sha256, text: `reuse the image of ${r.body.id}`, src: `/ui/runs/${r.body.id}/inputs/${encodeURIComponent(k)}` };
          else values[k] = String(v);
        }
      }
    } else if (pick.startsWith("saved:")) {
      const w = base.saved.find((x) => `saved:${x.id}` === pick);
      if (w) specText = JSON.stringify(w.spec, null, 2);
    }
    let selected = specText !== undefined || base.examples.some((e) => `example:${e.name}` === pick) ? pick : "";
    if (selected === "" && pick === "") {
      const first = base.examples[0];
      const saved = base.saved[0];
      if (first) selected = `example:${first.name}`;
      else if (saved) [specText, selected] = [JSON.stringify(saved.spec, null, 2), `saved:${saved.id}`];
    }
    specText ??= STARTER;
    const example = selected.startsWith("example:") ? base.examples.find((e) => `example:${e.name}` === selected) : undefined;
    if (example) {
      specText = example.text;
      for (const [k, v] of Object.entries(example.sample?.inputs ?? {})) {
        if (v.startsWith("@")) reuse[k] = sampleReuse(v.slice(1));
        else values[k] = v;
      }
    }
    const savedV = c.req.query("saved");
    const notice = savedV && selected.startsWith("saved:") ? `Saved as ${selected.slice(6)} v${savedV}.` : undefined;
    return c.html(newRunPage({ ...base, selected, specText, values, reuse, tags: "", errors: await checkSpec(c, specText), notice }));
  });

  ui.post("/ui/new", formLimit, async (c) => {
    const f = await readRunForm(await c.req.parseBody({ all: true }));
    const again = async (status: number, problem: string, errors: ValidationErrorMap | null) =>
      c.html(
        newRunPage({ ...(await newPageBase(c)), selected: "", specText: f.specText, values: f.values, reuse: f.reuse, tags: f.tagsText, errors, problem }),
        status as 400,
      );
    if (!f.spec.ok) return again(400, `The workflow is not valid JSON: ${f.spec.error}`, null);
    if (f.savedId) {
      // loaded from a saved workflow and not edited: run it as that workflow (filed under its id)
      const w = await api(c).call<SavedWorkflow>(`/v1/workflows/${encodeURIComponent(f.savedId)}`);
      if (w.ok && sameJson(w.body.spec, f.spec.value)) f.useSaved(f.savedId);
    }
    const r = await api(c).call<RunView>("/v1/runs", { form: f.body });
    if (r.ok) return c.redirect(`/ui/runs/${r.body.id}`, 303);
    const e = r.body.error;
    const map =
      e.code === "invalid_workflow" && e.details && typeof e.details === "object" ? (e.details as ValidationErrorMap) : await checkSpec(c, f.specText);
    return again(r.status, `The run was not started: ${e.message}${f.chosen.size ? " (choose the image file again)" : ""}`, map);
  });

  /** "Save workflow": a new version under the spec's name (`POST /v1/workflows`), then the page loads it. */
  ui.post("/ui/workflows", formLimit, async (c) => {
    const f = await readRunForm(await c.req.parseBody({ all: true }));
    const again = async (status: number, problem: string, errors: ValidationErrorMap | null) =>
      c.html(
        newRunPage({ ...(await newPageBase(c)), selected: "", specText: f.specText, values: f.values, reuse: f.reuse, tags: f.tagsText, errors, problem }),
        status as 400,
      );
    if (!f.spec.ok) return again(400, `The workflow is not valid JSON: ${f.spec.error}`, null);
    const r = await api(c).call<SavedWorkflow>("/v1/workflows", { json: { spec: f.spec.value } });
    if (!r.ok) {
      const e = r.body.error;
      return again(
        r.status,
        `Not saved: ${e.message}`,
        e.code === "invalid_workflow" && e.details && typeof e.details === "object" ? (e.details as ValidationErrorMap) : null,
      );
    }
    return c.redirect(`/ui/new?pick=saved:${encodeURIComponent(r.body.id)}&saved=${r.body.version}`, 303);
  });

  /** Dry run of the form (`POST /v1/plan`): which steps would run, which are cached, where. An HTML fragment. */
  ui.post("/ui/plan", formLimit, async (c) => {
    const f = await readRunForm(await c.req.parseBody({ all: true }));
    if (!f.spec.ok) return c.html(planView({ problem: `The workflow is not valid JSON: ${f.spec.error}` }), 400);
    const r = await api(c).call<PlanView>("/v1/plan", { form: f.body });
    return c.html(planView(r.ok ? { plan: r.body } : { problem: r.body.error.message }), r.ok ? 200 : (r.status as 400));
  });

  ui.post(
    "/ui/api/validate",
    bodyLimit({ maxSize: 1 << 20, onError: (c) => c.json({ error: { code: "payload_too_large", message: "spec too large", details: null } }, 413) }),
    async (c) => {
      let body: { spec?: unknown; inputs?: unknown };
      try {
        body = (await c.req.json()) as typeof body;
      } catch {
        return c.json({ error: { code: "invalid_json", message: "body must be JSON { spec, inputs? }", details: null } }, 400);
      }
      if (!body || typeof body !== "object" || Array.isArray(body))
        return c.json({ error: { code: "invalid_json", message: "body must be a JSON object { spec, inputs? }", details: null } }, 400);
      const catalog = catalogFrom(await liveAdverts(c.var.engine));
      const r = validateWorkflow(body.spec, body.inputs, catalog);
      return c.json({ ok: r.ok, errors: r.ok ? {} : r.errors, models: Object.keys(catalog) });
    },
  );

  // ------------------------------------------------------------------ compare
  ui.get("/ui/compare", async (c) => {
    // ticked in the history (newest first): the older run is A
    const picked = [...(c.req.queries("run") ?? [])].sort();
    const a = (c.req.query("a") ?? picked[0] ?? "").trim();
    const b = (c.req.query("b") ?? picked[1] ?? "").trim();
    if (!a || !b) {
      const one = picked.length === 1;
      const body = html`<h1>Compare runs</h1>
${one ? html`<p class="notice error" role="alert">Select two runs to compare.</p>` : html`<p class="notice">Give two run ids, or tick two runs in the <a href="/ui/runs">history</a> and press “Compare selected”. Each rerun page also links to a comparison with its parent.</p>`}
${compareForm(a, b)}`;
      return c.html(page({ title: "Compare runs", nav: "compare" }, body), one ? 400 : 200);
    }
    const [ra, rb] = await Promise.all([loadRun(c, a), loadRun(c, b)]);
    if (ra instanceof Response) return ra;
    if (rb instanceof Response) return rb;
    return c.html(comparePage(ra, rb));
  });

  ui.all("/ui/*", (c) => notFound(c, `There is no page ${c.req.path}.`));
  return ui;

  async function newPageBase(c: Ctx): Promise<Pick<NewPageState, "examples" | "saved" | "models">> {
    const [examples, saved, models] = await Promise.all([
      listExamples(),
      api(c).call<{ workflows: SavedWorkflow[] }>("/v1/workflows"),
      api(c).call<{ models: LiveModel[] }>("/v1/models"),
    ]);
    return { examples, saved: saved.ok ? saved.body.workflows : [], models: models.ok ? models.body.models : [] };
  }
}

/** Same JSON value (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(norm)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

async function lastEventId(c: Ctx, runId: string): Promise<number> {
  const [row] = await c.var.engine.store.db
    .select({ m: sql<number | null>`max(${runEvents.id})` })
    .from(runEvents)
    .where(and(eq(runEvents.runId, runId), eq(runEvents.tenantId, c.var.tenantId)));
  return Number(row?.m ?? 0);
}

/** First-render validation of a spec text (no input values yet), against live models. */
async function checkSpec(c: Ctx, specText: string): Promise<ValidationErrorMap | null> {
  let json: unknown;
  try {
    json = JSON.parse(specText);
  } catch {
    return null;
  }
  const r = validateWorkflow(json, undefined, catalogFrom(await liveAdverts(c.var.engine)));
  return r.ok ? {} : r.errors;
}

const STARTER = JSON.stringify(
  {
    name: "my-workflow",
    inputs: { question: { type: "text", default: "what is on the left?" } },
    steps: [{ id: "answer", op: "decode", model: "metalm-tiny", segments: [{ text: "question: {{inputs.question}} answer:" }], params: { maxTokens: 8 } }],
    outputs: { answer: "{{steps.answer.text}}" },
  },
  null,
  2,
);
