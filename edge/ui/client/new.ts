/**
 * `new.js`: the new-run page's enhancements — load an example on select, validate the spec as
 * you type (`POST /ui/api/validate`, debounced) and list each problem on its step, rebuild the
 * input fields when the declared inputs change (keeping what was typed or chosen), preview
 * uploaded images, and offer "use model X" when the spec names a model no worker serves.
 * Submitting stays a plain multipart form post. Same rule as run.ts: no backticks, no dollar-brace.
 */
export const NEW_JS = String.raw`(function () {
  "use strict";
  var spec = document.getElementById("spec");
  var check = document.getElementById("check");
  var fields = document.getElementById("inputs-fields");
  var picker = document.getElementById("example");
  var fix = document.getElementById("fix-models");
  var form = document.getElementById("run-form");
  if (!spec || !check || !fields) return;
  // the page's CSRF token (edge/ui/security.ts): JSON posts carry it as a header; forms have a field
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") || "" : "";
  function readJson(id) {
    var el = document.getElementById(id);
    try { return el ? JSON.parse(el.textContent || "null") : null; } catch (e) { return null; }
  }
  var examples = readJson("examples-data") || {};
  var models = readJson("models-data") || [];
  var PLACEHOLDER_SHA = "0000000000000000000000000000000000000000000000000000000000000000";
  var GROUPS = { "$spec": "Workflow", "$inputs": "Inputs", "$outputs": "Outputs" };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function parse() {
    try { return { json: JSON.parse(spec.value) }; } catch (e) { return { error: e.message }; }
  }
  function declsOf(json) {
    var d = json && typeof json.inputs === "object" && json.inputs && !Array.isArray(json.inputs) ? json.inputs : {};
    var out = [];
    for (var k in d) if (d[k] && typeof d[k] === "object") out.push([k, d[k]]);
    return out;
  }
  function stepsOf(json) {
    if (!json || !Array.isArray(json.steps)) return [];
    return json.steps.map(function (s, i) {
      return { key: s && typeof s.id === "string" ? s.id : "steps[" + i + "]", op: s && typeof s.op === "string" ? s.op : "?" };
    });
  }

  // ------------------------------------------------------------ input fields
  function fieldFor(name, d) {
    var type = d.type === "image" ? "image" : d.type === "number" ? "number" : "text";
    var old = fields.querySelector('[data-input="' + CSS.escape(name) + '"]');
    if (old && old.getAttribute("data-type") === type) return old;
    var id = "in-" + name;
    var wrap = el("div", { "class": "field", "data-input": name, "data-type": type });
    var label = el("label", { "for": id }, name + " ");
    var input;
    if (type === "image") {
      label.appendChild(el("span", { "class": "muted" }, "(image, PNG or JPEG)"));
      input = el("input", { id: id, type: "file", name: "inputs." + name, accept: "image/png,image/jpeg", required: "" });
    } else if (type === "number") {
      label.appendChild(el("span", { "class": "muted" }, "(number)"));
      input = el("input", { id: id, type: "number", name: "inputs." + name, step: d.integer ? "1" : "any",
        min: d.min !== undefined ? String(d.min) : null, max: d.max !== undefined ? String(d.max) : null });
      if (d["default"] !== undefined) input.value = String(d["default"]); else input.required = true;
    } else {
      label.appendChild(el("span", { "class": "muted" }, d["default"] !== undefined ? "(text, has a default)" : "(text)"));
      input = el("input", { id: id, type: "text", name: "inputs." + name, maxlength: typeof d.maxLength === "number" ? String(d.maxLength) : null });
      if (typeof d["default"] === "string") input.value = d["default"]; else input.required = true;
    }
    wrap.appendChild(label);
    wrap.appendChild(input);
    if (type === "image") wrap.appendChild(el("div", { "class": "preview", "data-preview": "" }));
    return wrap;
  }
  var lastDecls = null;
  function syncFields(json) {
    var decls = declsOf(json);
    var sig = JSON.stringify(decls);
    if (sig === lastDecls) return;
    lastDecls = sig;
    var next = decls.map(function (p) { return fieldFor(p[0], p[1]); });
    fields.textContent = "";
    if (!next.length) fields.appendChild(el("p", { "class": "muted" }, "This workflow declares no inputs."));
    next.forEach(function (n) { fields.appendChild(n); });
  }
  function inputValues() {
    var out = {};
    var items = fields.querySelectorAll("[data-input]");
    for (var i = 0; i < items.length; i++) {
      var w = items[i];
      var name = w.getAttribute("data-input");
      var type = w.getAttribute("data-type");
      var input = w.querySelector("input");
      if (!input) continue;
      if (type === "image") input = w.querySelector("input[type=file]") || input;
      var reuse = w.querySelector("[data-reuse]");
      if (type === "image") { if ((input.files && input.files.length) || (reuse && reuse.checked)) out[name] = { sha256: PLACEHOLDER_SHA, mime: "image/png" }; }
      else if (type === "number") { if (input.value.trim() !== "") out[name] = Number(input.value); }
      else if (input.value !== "") out[name] = input.value;
    }
    return out;
  }
  fields.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute("data-reuse")) {
      var wrap = t.parentNode.parentNode;
      var f = wrap.querySelector("input[type=file]");
      if (f) {
        f.required = !t.checked;
        if (t.checked && f.value) { f.value = ""; var pv = wrap.querySelector("[data-preview]"); if (pv) pv.textContent = ""; }
      }
    }
    if (t && t.type === "file") {
      // a chosen file replaces the reused / sample image
      var rb = t.parentNode.querySelector("[data-reuse]");
      if (rb && t.files && t.files.length) rb.checked = false;
      var prev = t.parentNode.querySelector("[data-preview]");
      if (prev) {
        prev.textContent = "";
        if (t.files && t.files[0]) {
          var img = el("img", { alt: "Preview of the chosen image " + t.files[0].name });
          img.src = URL.createObjectURL(t.files[0]);
          prev.appendChild(img);
        }
      }
    }
    schedule();
  });
  fields.addEventListener("input", function () { schedule(); });

  /** Sample inputs of an example: text values, and "@file" images offered as a ticked "use the sample image". */
  function applySample(sample) {
    if (!sample) return;
    for (var name in sample) {
      var w = fields.querySelector('[data-input="' + CSS.escape(name) + '"]');
      if (!w) continue;
      var v = sample[name];
      var input = w.querySelector("input");
      if (w.getAttribute("data-type") === "image" && v.charAt(0) === "@") {
        var file = v.slice(1);
        var row = el("div", { "class": "row reuse", style: "align-items:center;margin-top:.3rem" });
        var cb = el("input", { type: "checkbox", id: "in-" + name + "-reuse", name: "reuse." + name, value: "sample:" + file, "data-reuse": "" });
        cb.checked = true;
        row.appendChild(cb);
        row.appendChild(el("label", { "for": "in-" + name + "-reuse", style: "margin:0;font-weight:500" }, "use the sample image " + file));
        var img = el("img", { src: "/ui/examples/files/" + encodeURIComponent(file), alt: "", width: "48", height: "48", style: "image-rendering:pixelated;border:1px solid #d5d9e0" });
        row.appendChild(img);
        var preview = w.querySelector("[data-preview]");
        w.insertBefore(row, preview);
        if (input) input.required = false;
      } else if (input && input.type !== "file") {
        input.value = v;
      }
    }
  }

  // ------------------------------------------------------------ outline
  function render(json, syntax, errors) {
    check.textContent = "";
    var status = el("div", { id: "validity", role: "status", "aria-live": "polite" });
    var list = el("ul", { id: "outline", "class": "outline", "aria-label": "Steps and their problems" });
    errors = errors || {};
    var problems = 0, todo = 0;
    for (var k in errors) errors[k].forEach(function (i) { if (i.code === "missing_input") todo++; else problems++; });
    if (syntax) {
      status.appendChild(el("span", { "class": "valid-bad" }, "✗ Not valid JSON:"));
      status.appendChild(document.createTextNode(" " + syntax));
    } else if (problems) {
      status.appendChild(el("span", { "class": "valid-bad" }, "✗ " + problems + " problem" + (problems === 1 ? "" : "s")));
      status.appendChild(document.createTextNode(" — listed on the step they belong to."));
    } else {
      status.appendChild(el("span", { "class": "valid-ok" }, "✓ Valid"));
      var n = stepsOf(json).length;
      status.appendChild(document.createTextNode(" — " + n + " step" + (n === 1 ? "" : "s") + (todo ? "; " + todo + " input" + (todo === 1 ? "" : "s") + " still to fill." : ".")));
    }
    function item(key, labelNodes) {
      var issues = errors[key] || [];
      var li = el("li", { "data-key": key });
      var hard = issues.filter(function (i) { return i.code !== "missing_input"; });
      if (hard.length) li.className = "has-errors";
      labelNodes.forEach(function (n) { li.appendChild(n); });
      if (issues.length) {
        var ul = el("ul");
        issues.forEach(function (i) {
          var x = el("li");
          if (i.code === "missing_input") x.className = "muted";
          x.appendChild(el("code", null, i.field || "(step)"));
          x.appendChild(document.createTextNode(" " + i.message + " "));
          x.appendChild(el("span", { "class": "muted" }, "[" + i.code + "]"));
          ul.appendChild(x);
        });
        li.appendChild(ul);
      }
      return li;
    }
    var steps = stepsOf(json);
    var keys = {};
    steps.forEach(function (s) { keys[s.key] = true; });
    ["$spec", "$inputs", "$outputs"].concat(Object.keys(errors).filter(function (k) { return k.charAt(0) !== "$" && !keys[k]; }))
      .forEach(function (g) { if ((errors[g] || []).length) list.appendChild(item(g, [el("strong", null, GROUPS[g] || g)])); });
    steps.forEach(function (s, i) {
      list.appendChild(item(s.key, [el("span", { "class": "muted" }, (i + 1) + ". "), el("strong", null, s.key), document.createTextNode(" "), el("span", { "class": "op mono" }, s.op)]));
    });
    check.appendChild(status);
    check.appendChild(list);
    renderFix(json, errors);
  }
  function renderFix(json, errors) {
    if (!fix) return;
    fix.textContent = "";
    var unknown = false;
    for (var k in errors) errors[k].forEach(function (i) { if (i.code === "unknown_model") unknown = true; });
    if (!unknown || !models.length || !json || !Array.isArray(json.steps)) return;
    var p = el("p", { "class": "notice" }, "This spec names a model no connected worker serves. ");
    models.forEach(function (m) {
      var b = el("button", { type: "button", "class": "secondary", "data-use-model": m }, "Use " + m + " for every step");
      b.addEventListener("click", function () {
        json.steps.forEach(function (s) { if (s && typeof s === "object" && "model" in s) s.model = m; });
        spec.value = JSON.stringify(json, null, 2);
        validate();
      });
      p.appendChild(b);
    });
    fix.appendChild(p);
  }

  // ------------------------------------------------------------ validation
  var timer = null, reqNo = 0;
  function schedule() {
    var stale = document.getElementById("plan");
    if (stale) stale.textContent = ""; // a plan describes the form as it was
    if (timer) clearTimeout(timer);
    timer = setTimeout(validate, 250);
  }
  function validate() {
    timer = null;
    var p = parse();
    if (p.error) { render(null, p.error, {}); return; }
    syncFields(p.json);
    var n = ++reqNo;
    fetch("/ui/api/validate", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, credentials: "same-origin",
      body: JSON.stringify({ spec: p.json, inputs: inputValues() }) })
      .then(function (r) { return r.json(); })
      .then(function (res) {
        if (n !== reqNo) return;
        if (res && res.errors) render(p.json, null, res.errors);
        check.setAttribute("data-checked", String(n));
      })
      .catch(function () {});
  }
  spec.addEventListener("input", schedule);
  if (picker) {
    picker.addEventListener("change", function () {
      var ex = examples[picker.value];
      if (!ex || typeof ex.text !== "string") return;
      // a saved workflow, run unedited, is run as that workflow (the server checks it is unedited)
      var sid = form && form.querySelector("input[name=savedId]");
      if (form && !sid) { sid = el("input", { type: "hidden", name: "savedId" }); form.appendChild(sid); }
      if (sid) sid.value = picker.value.indexOf("saved:") === 0 ? picker.value.slice(6) : "";
      var text = ex.text;
      spec.value = text;
      var desc = document.getElementById("example-desc");
      if (desc) { try { var j = JSON.parse(text); desc.textContent = typeof j.description === "string" ? j.description : ""; } catch (e) { desc.textContent = ""; } }
      fields.textContent = "";
      lastDecls = null;
      var parsed = parse();
      if (parsed.json) syncFields(parsed.json);
      applySample(ex.sample);
      if (history.replaceState) history.replaceState(null, "", "/ui/new?pick=" + encodeURIComponent(picker.value));
      validate();
    });
  }
  if (form) {
    form.addEventListener("submit", function () {
      var b = document.getElementById("run-btn");
      if (b) { b.disabled = true; b.textContent = "Starting…"; }
    });
  }
  var pb = document.getElementById("plan-btn");
  var planBox = document.getElementById("plan");
  if (pb && form && planBox && window.FormData) {
    pb.hidden = false;
    pb.addEventListener("click", function () {
      pb.disabled = true;
      planBox.textContent = "Planning…";
      fetch("/ui/plan", { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (t) { planBox.innerHTML = t; })
        .catch(function () { planBox.textContent = "Could not reach the server."; })
        .then(function () { pb.disabled = false; });
    });
  }
  var lb = document.getElementById("load-btn");
  if (lb) lb.hidden = true;
  lastDecls = JSON.stringify(declsOf(parse().json));
  validate();
})();
`;
