/**
 * `run.js`: the run page's live view. Follows `GET /v1/runs/:id/events` (SSE) from the event id
 * the page was rendered at; shows `token` events as they arrive; on step/run completion swaps in
 * the server-rendered fragment of that cell / the header. A plain classic script (no modules, no
 * build), kept in a string so the edge serves it on any runtime. Rule for this file: no backticks
 * and no dollar-brace inside the script (it lives in a template literal).
 */
export const RUN_JS = String.raw`(function () {
  "use strict";
  var root = document.getElementById("run");
  if (!root || root.getAttribute("data-live") !== "1" || !window.EventSource) return;
  var runId = root.getAttribute("data-run-id");
  var last = root.getAttribute("data-last-event-id") || "0";
  var base = "/ui/runs/" + encodeURIComponent(runId) + "/fragment/";
  var live = document.getElementById("live-status");
  function say(msg) { if (live) live.textContent = msg; }
  function cell(id) { return document.getElementById("cell-" + id); }
  function fromHtml(text) {
    var t = document.createElement("template");
    t.innerHTML = text.trim();
    return t.content.firstElementChild;
  }
  function setStatus(id, st) {
    var c = cell(id);
    if (!c || !st) return;
    c.setAttribute("data-status", st);
    var slot = c.querySelector("[data-status-slot]");
    if (slot) {
      slot.textContent = "";
      var b = document.createElement("span");
      b.className = "badge s-" + st;
      b.setAttribute("data-status-badge", "");
      b.textContent = st.replace("_", " ");
      slot.appendChild(b);
    }
    var w = c.querySelector("[data-waiting]");
    if (w && st === "running") w.textContent = "Running…";
  }
  var seq = {};
  function refreshCell(id) {
    var n = (seq[id] = (seq[id] || 0) + 1);
    return fetch(base + "cell/" + encodeURIComponent(id), { headers: { accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (!text || n !== seq[id]) return;
        var c = cell(id);
        var fresh = fromHtml(text);
        if (!c || !fresh) return;
        var active = document.activeElement; // before anything moves (moving a node drops focus)
        // tokens that streamed in while the fragment was on its way stay (the fragment may predate them)
        var oldToks = c.querySelector("[data-live-tokens]");
        var newToks = fresh.querySelector("[data-live-tokens]");
        if (oldToks && newToks && oldToks.children.length > newToks.children.length) {
          newToks.replaceWith(oldToks);
          var fw = fresh.querySelector("[data-waiting]");
          if (fw) fw.textContent = "Generating…";
        }
        var open = c.querySelector("details.rerun[open]");
        if (open) {
          var d = fresh.querySelector("details.rerun");
          var old = c.querySelector("footer");
          var nf = fresh.querySelector("footer");
          if (d && old && nf) nf.replaceWith(old);
        }
        c.replaceWith(fresh);
        // a form being edited moved along with its footer: keep the caret where it was
        if (active && active !== document.body && fresh.contains(active) && active.focus) active.focus();
      })
      .catch(function () {});
  }
  function refreshHead() {
    return fetch(base + "head", { headers: { accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        var h = document.getElementById("run-head");
        var fresh = text && fromHtml(text);
        if (h && fresh) h.replaceWith(fresh);
      })
      .catch(function () {});
  }
  function onToken(d) {
    var c = cell(d.stepId);
    if (!c) return;
    var box = c.querySelector("[data-live-tokens]");
    if (!box || box.querySelector('[data-index="' + d.index + '"]')) return;
    var w = c.querySelector("[data-waiting]");
    if (w) w.textContent = "Generating…";
    var p = Math.min(1, Math.max(0, Math.exp(Number(d.logprob))));
    var s = document.createElement("span");
    s.className = "tok";
    s.style.setProperty("--p", p.toFixed(3));
    s.setAttribute("data-index", String(d.index));
    s.title = "#" + d.index + " p=" + p.toFixed(3) + " log-prob " + Number(d.logprob).toFixed(3);
    s.textContent = d.text === "" ? "∅" : d.text;
    box.appendChild(s);
  }
  var es = new EventSource("/v1/runs/" + encodeURIComponent(runId) + "/events?lastEventId=" + encodeURIComponent(last));
  function on(type, fn) {
    es.addEventListener(type, function (e) {
      var d;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      fn(d);
    });
  }
  on("step.queued", function (d) { setStatus(d.stepId, "queued"); });
  on("step.retrying", function (d) { setStatus(d.stepId, "queued"); say("Step " + d.stepId + " is retrying"); });
  on("step.started", function (d) { setStatus(d.stepId, "running"); refreshCell(d.stepId); });
  on("token", onToken);
  ["step.completed", "step.failed", "step.skipped", "step.canceled", "step.timed_out"].forEach(function (t) {
    on(t, function (d) {
      setStatus(d.stepId, d.status);
      refreshCell(d.stepId);
      say("Step " + d.stepId + ": " + (d.status || t.slice(5)));
    });
  });
  on("run.started", function () { refreshHead(); });
  on("run.completed", function (d) {
    es.close();
    root.setAttribute("data-live", "0");
    // cells already final were refreshed by their own event; catch up the rest
    var final = { succeeded: 1, cached: 1, failed: 1, skipped: 1, canceled: 1, timed_out: 1 };
    var cells = document.querySelectorAll("li.cell[data-step]");
    var all = [];
    for (var i = 0; i < cells.length; i++) {
      if (!final[cells[i].getAttribute("data-status")] || !cells[i].querySelector("[data-meta]") || cells[i].querySelector("[data-waiting]")) all.push(refreshCell(cells[i].getAttribute("data-step")));
    }
    all.push(refreshHead());
    Promise.all(all).then(function () {
      root.setAttribute("data-done", d.status || "done");
      say("Run " + (d.status || "finished"));
    });
  });
})();
`;
