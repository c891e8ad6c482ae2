/**
 * The new-run page's enhancements (served as `/ui/assets/new.js`, bundled by
 * scripts/build-ui.ts): load an example on select, validate the spec as you type
 * (`POST /ui/api/validate`, debounced) and list each problem on its step, rebuild the input fields
 * when the declared inputs change (keeping what was typed or chosen), preview uploaded images,
 * and offer "use model X" when the spec names a model no worker serves. Submitting stays a plain
 * multipart form post, so the page works without this script.
 */
import type { ValidationErrorMap, ValidationIssue } from "../../../workflows/src/graph/types.js";

/** The spec as typed: any JSON; only the fields read here are named. */
type SpecJson = { inputs?: unknown; steps?: unknown; description?: unknown } | null;
type InputDeclJson = { type?: unknown; default?: unknown; integer?: unknown; min?: unknown; max?: unknown; maxLength?: unknown };
type ExampleData = Record<string, { text?: unknown; sample?: Record<string, string> | null }>;

const PLACEHOLDER_SHA = "0".repeat(64);
const GROUPS: Record<string, string> = { $spec: "Workflow", $inputs: "Inputs", $outputs: "Outputs" };

function readJson<T>(id: string): T | null {
  const node = document.getElementById(id);
  try {
    return node ? (JSON.parse(node.textContent || "null") as T) : null;
  } catch {
    return null;
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string | null | undefined> | null, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function declsOf(json: SpecJson): [string, InputDeclJson][] {
  const d = json && typeof json.inputs === "object" && json.inputs && !Array.isArray(json.inputs) ? (json.inputs as Record<string, unknown>) : {};
  return Object.entries(d).filter((e): e is [string, InputDeclJson] => Boolean(e[1]) && typeof e[1] === "object");
}

function stepsOf(json: SpecJson): { key: string; op: string }[] {
  if (!json || !Array.isArray(json.steps)) return [];
  return json.steps.map((s: { id?: unknown; op?: unknown } | null, i: number) => ({
    key: s && typeof s.id === "string" ? s.id : `steps[${i}]`,
    op: s && typeof s.op === "string" ? s.op : "?",
  }));
}

function start(): void {
  const spec = document.getElementById("spec") as HTMLTextAreaElement | null;
  const check = document.getElementById("check");
  const fields = document.getElementById("inputs-fields");
  const picker = document.getElementById("example") as HTMLSelectElement | null;
  const fix = document.getElementById("fix-models");
  const form = document.getElementById("run-form") as HTMLFormElement | null;
  if (!spec || !check || !fields) return;
  // the page's CSRF token (edge/ui/security.ts): JSON posts carry it as a header; forms have a field
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
  const examples = readJson<ExampleData>("examples-data") ?? {};
  const models = readJson<string[]>("models-data") ?? [];

  const parse = (): { json: SpecJson; error?: undefined } | { json?: undefined; error: string } => {
    try {
      return { json: JSON.parse(spec.value) as SpecJson };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };

  // ------------------------------------------------------------ input fields
  function fieldFor(name: string, d: InputDeclJson): Element {
    const type = d.type === "image" ? "image" : d.type === "number" ? "number" : "text";
    const old = fields!.querySelector(`[data-input="${CSS.escape(name)}"]`);
    if (old && old.getAttribute("data-type") === type) return old;
    const id = `in-${name}`;
    const wrap = el("div", { class: "field", "data-input": name, "data-type": type });
    const label = el("label", { for: id }, `${name} `);
    let input: HTMLInputElement;
    if (type === "image") {
      label.appendChild(el("span", { class: "muted" }, "(image, PNG or JPEG)"));
      input = el("input", { id, type: "file", name: `inputs.${name}`, accept: "image/png,image/jpeg", required: "" });
    } else if (type === "number") {
      label.appendChild(el("span", { class: "muted" }, "(number)"));
      input = el("input", {
        id,
        type: "number",
        name: `inputs.${name}`,
        step: d.integer ? "1" : "any",
        min: d.min !== undefined ? String(d.min) : null,
        max: d.max !== undefined ? String(d.max) : null,
      });
      if (d.default !== undefined) input.value = String(d.default);
      else input.required = true;
    } else {
      label.appendChild(el("span", { class: "muted" }, d.default !== undefined ? "(text, has a default)" : "(text)"));
      input = el("input", { id, type: "text", name: `inputs.${name}`, maxlength: typeof d.maxLength === "number" ? String(d.maxLength) : null });
      if (typeof d.default === "string") input.value = d.default;
      else input.required = true;
    }
    wrap.appendChild(label);
    wrap.appendChild(input);
    if (type === "image") wrap.appendChild(el("div", { class: "preview", "data-preview": "" }));
    return wrap;
  }

  let lastDecls: string | null = null;
  function syncFields(json: SpecJson): void {
    const decls = declsOf(json);
    const sig = JSON.stringify(decls);
    if (sig === lastDecls) return;
    lastDecls = sig;
    const next = decls.map(([name, d]) => fieldFor(name, d));
    fields!.textContent = "";
    if (!next.length) fields!.appendChild(el("p", { class: "muted" }, "This workflow declares no inputs."));
    for (const n of next) fields!.appendChild(n);
  }

  function inputValues(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const w of fields!.querySelectorAll("[data-input]")) {
      const name = w.getAttribute("data-input")!;
      const type = w.getAttribute("data-type");
      let input = w.querySelector("input");
      if (!input) continue;
      if (type === "image") input = w.querySelector<HTMLInputElement>("input[type=file]") ?? input;
      const reuse = w.querySelector<HTMLInputElement>("[data-reuse]");
      if (type === "image") {
        if (input.files?.length || reuse?.checked) out[name] = { sha256: PLACEHOLDER_SHA, mime: "image/png" };
      } else if (type === "number") {
        if (input.value.trim() !== "") out[name] = Number(input.value);
      } else if (input.value !== "") out[name] = input.value;
    }
    return out;
  }

  fields.addEventListener("change", (e) => {
    const t = e.target;
    if (!(t instanceof HTMLInputElement)) return schedule();
    if (t.hasAttribute("data-reuse")) {
      const wrap = t.parentElement?.parentElement;
      const f = wrap?.querySelector<HTMLInputElement>("input[type=file]");
      if (f) {
        f.required = !t.checked;
        if (t.checked && f.value) {
          f.value = "";
          const pv = wrap!.querySelector("[data-preview]");
          if (pv) pv.textContent = "";
        }
      }
    }
    if (t.type === "file") {
      // a chosen file replaces the reused / sample image
      const rb = t.parentElement?.querySelector<HTMLInputElement>("[data-reuse]");
      if (rb && t.files?.length) rb.checked = false;
      const prev = t.parentElement?.querySelector("[data-preview]");
      if (prev) {
        prev.textContent = "";
        const file = t.files?.[0];
        if (file) {
          const img = el("img", { alt: `Preview of the chosen image ${file.name}` });
          img.src = URL.createObjectURL(file);
          prev.appendChild(img);
        }
      }
    }
    schedule();
  });
  fields.addEventListener("input", () => schedule());

  /** Sample inputs of an example: text values, and "@file" images offered as a ticked "use the sample image". */
  function applySample(sample: Record<string, string> | null | undefined): void {
    if (!sample) return;
    for (const [name, v] of Object.entries(sample)) {
      const w = fields!.querySelector(`[data-input="${CSS.escape(name)}"]`);
      if (!w) continue;
      const input = w.querySelector("input");
      if (w.getAttribute("data-type") === "image" && v.charAt(0) === "@") {
        const file = v.slice(1);
        const row = el("div", { class: "row reuse", style: "align-items:center;margin-top:.3rem" });
        const cb = el("input", { type: "checkbox", id: `in-${name}-reuse`, name: `reuse.${name}`, value: `sample:${file}`, "data-reuse": "" });
        cb.checked = true;
        row.appendChild(cb);
        row.appendChild(el("label", { for: `in-${name}-reuse`, style: "margin:0;font-weight:500" }, `use the sample image ${file}`));
        row.appendChild(
          el("img", {
            src: `/ui/examples/files/${encodeURIComponent(file)}`,
            alt: "",
            width: "48",
            height: "48",
            style: "image-rendering:pixelated;border:1px solid #d5d9e0",
          }),
        );
        w.insertBefore(row, w.querySelector("[data-preview]"));
        if (input) input.required = false;
      } else if (input && input.type !== "file") {
        input.value = v;
      }
    }
  }

  // ------------------------------------------------------------ outline
  function render(json: SpecJson, syntax: string | null, errors: ValidationErrorMap = {}): void {
    check!.textContent = "";
    const status = el("div", { id: "validity", role: "status", "aria-live": "polite" });
    const list = el("ul", { id: "outline", class: "outline", "aria-label": "Steps and their problems" });
    let problems = 0;
    let todo = 0;
    for (const issues of Object.values(errors)) for (const i of issues) i.code === "missing_input" ? todo++ : problems++;
    if (syntax) {
      status.appendChild(el("span", { class: "valid-bad" }, "✗ Not valid JSON:"));
      status.appendChild(document.createTextNode(` ${syntax}`));
    } else if (problems) {
      status.appendChild(el("span", { class: "valid-bad" }, `✗ ${problems} problem${problems === 1 ? "" : "s"}`));
      status.appendChild(document.createTextNode(" — listed on the step they belong to."));
    } else {
      status.appendChild(el("span", { class: "valid-ok" }, "✓ Valid"));
      const n = stepsOf(json).length;
      status.appendChild(document.createTextNode(` — ${n} step${n === 1 ? "" : "s"}${todo ? `; ${todo} input${todo === 1 ? "" : "s"} still to fill.` : "."}`));
    }
    const item = (key: string, labelNodes: Node[]) => {
      const issues: ValidationIssue[] = errors[key] ?? [];
      const li = el("li", { "data-key": key });
      if (issues.some((i) => i.code !== "missing_input")) li.className = "has-errors";
      for (const n of labelNodes) li.appendChild(n);
      if (issues.length) {
        const ul = el("ul");
        for (const i of issues) {
          const x = el("li");
          if (i.code === "missing_input") x.className = "muted";
          x.appendChild(el("code", null, i.field || "(step)"));
          x.appendChild(document.createTextNode(` ${i.message} `));
          x.appendChild(el("span", { class: "muted" }, `[${i.code}]`));
          ul.appendChild(x);
        }
        li.appendChild(ul);
      }
      return li;
    };
    const steps = stepsOf(json);
    const keys = new Set(steps.map((s) => s.key));
    for (const g of ["$spec", "$inputs", "$outputs", ...Object.keys(errors).filter((k) => k.charAt(0) !== "$" && !keys.has(k))]) {
      if (errors[g]?.length) list.appendChild(item(g, [el("strong", null, GROUPS[g] ?? g)]));
    }
    steps.forEach((s, i) => {
      list.appendChild(
        item(s.key, [
          el("span", { class: "muted" }, `${i + 1}. `),
          el("strong", null, s.key),
          document.createTextNode(" "),
          el("span", { class: "op mono" }, s.op),
        ]),
      );
    });
    check!.appendChild(status);
    check!.appendChild(list);
    renderFix(json, errors);
  }

  function renderFix(json: SpecJson, errors: ValidationErrorMap): void {
    if (!fix) return;
    fix.textContent = "";
    const unknown = Object.values(errors).some((issues) => issues.some((i) => i.code === "unknown_model"));
    if (!unknown || !models.length || !json || !Array.isArray(json.steps)) return;
    const steps = json.steps as unknown[];
    const p = el("p", { class: "notice" }, "This spec names a model no connected worker serves. ");
    for (const m of models) {
      const b = el("button", { type: "button", class: "secondary", "data-use-model": m }, `Use ${m} for every step`);
      b.addEventListener("click", () => {
        for (const s of steps) if (s && typeof s === "object" && "model" in s) (s as { model: string }).model = m;
        spec!.value = JSON.stringify(json, null, 2);
        validate();
      });
      p.appendChild(b);
    }
    fix.appendChild(p);
  }

  // ------------------------------------------------------------ validation
  let timer: ReturnType<typeof setTimeout> | null = null;
  let reqNo = 0;
  function schedule(): void {
    const stale = document.getElementById("plan");
    if (stale) stale.textContent = ""; // a plan describes the form as it was
    if (timer) clearTimeout(timer);
    timer = setTimeout(validate, 250);
  }
  function validate(): void {
    timer = null;
    const p = parse();
    if (p.error !== undefined) return render(null, p.error, {});
    syncFields(p.json);
    const n = ++reqNo;
    fetch("/ui/api/validate", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      credentials: "same-origin",
      body: JSON.stringify({ spec: p.json, inputs: inputValues() }),
    })
      .then((r) => r.json() as Promise<{ errors?: ValidationErrorMap } | null>)
      .then((res) => {
        if (n !== reqNo) return;
        if (res?.errors) render(p.json, null, res.errors);
        check!.setAttribute("data-checked", String(n));
      })
      .catch(() => {});
  }

  spec.addEventListener("input", schedule);
  if (picker) {
    picker.addEventListener("change", () => {
      const ex = examples[picker.value];
      if (!ex || typeof ex.text !== "string") return;
      // a saved workflow, run unedited, is run as that workflow (the server checks it is unedited)
      let sid = form?.querySelector<HTMLInputElement>("input[name=savedId]") ?? null;
      if (form && !sid) {
        sid = el("input", { type: "hidden", name: "savedId" });
        form.appendChild(sid);
      }
      if (sid) sid.value = picker.value.indexOf("saved:") === 0 ? picker.value.slice(6) : "";
      const text = ex.text;
      spec.value = text;
      const desc = document.getElementById("example-desc");
      if (desc) {
        try {
          const j = JSON.parse(text) as SpecJson;
          desc.textContent = typeof j?.description === "string" ? j.description : "";
        } catch {
          desc.textContent = "";
        }
      }
      fields.textContent = "";
      lastDecls = null;
      const parsed = parse();
      if (parsed.json) syncFields(parsed.json);
      applySample(ex.sample);
      history.replaceState?.(null, "", `/ui/new?pick=${encodeURIComponent(picker.value)}`);
      validate();
    });
  }
  if (form) {
    form.addEventListener("submit", () => {
      const b = document.getElementById("run-btn") as HTMLButtonElement | null;
      if (b) {
        b.disabled = true;
        b.textContent = "Starting…";
      }
    });
  }
  const pb = document.getElementById("plan-btn") as HTMLButtonElement | null;
  const planBox = document.getElementById("plan");
  if (pb && form && planBox && window.FormData) {
    pb.hidden = false;
    pb.addEventListener("click", () => {
      pb.disabled = true;
      planBox.textContent = "Planning…";
      fetch("/ui/plan", { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then((r) => r.text())
        .then((t) => {
          planBox.innerHTML = t; // server-rendered, every interpolation escaped (edge/ui)
        })
        .catch(() => {
          planBox.textContent = "Could not reach the server.";
        })
        .then(() => {
          pb.disabled = false;
        });
    });
  }
  const lb = document.getElementById("load-btn");
  if (lb) lb.hidden = true;
  lastDecls = JSON.stringify(declsOf(parse().json ?? null));
  validate();
}

start();
