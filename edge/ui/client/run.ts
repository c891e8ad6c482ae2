/**
 * The run page's live view (served as `/ui/assets/run.js`, bundled by scripts/build-ui.ts).
 * Follows `GET /v1/runs/:id/events` (SSE) from the event id the page was rendered at; shows
 * `token` events as they arrive; on step/run completion swaps in the server-rendered fragment of
 * that cell / the header. Every run event type has a handler (a `Record` over the vocabulary of
 * workflows/src/events.ts), so a new type is a compile error here until it is handled.
 */
import type { RunEvent, RunEventOf, RunEventType } from "../../../workflows/src/events.js";
import { STEP_DEAD, STEP_OK, type StepStatus } from "../../../workflows/src/status.js";

function start(): void {
  const root = document.getElementById("run");
  if (!root || root.getAttribute("data-live") !== "1" || !window.EventSource) return;
  const runId = root.getAttribute("data-run-id") ?? "";
  const last = root.getAttribute("data-last-event-id") || "0";
  const base = `/ui/runs/${encodeURIComponent(runId)}/fragment/`;
  const live = document.getElementById("live-status");
  const say = (msg: string) => {
    if (live) live.textContent = msg;
  };
  const cell = (id: string | null) => (id ? document.getElementById(`cell-${id}`) : null);
  const fromHtml = (text: string) => {
    const t = document.createElement("template");
    t.innerHTML = text.trim();
    return t.content.firstElementChild;
  };

  function setStatus(id: string | null, st: StepStatus): void {
    const c = cell(id);
    if (!c) return;
    c.setAttribute("data-status", st);
    const slot = c.querySelector("[data-status-slot]");
    if (slot) {
      slot.textContent = "";
      const b = document.createElement("span");
      b.className = `badge s-${st}`;
      b.setAttribute("data-status-badge", "");
      b.textContent = st.replace("_", " ");
      slot.appendChild(b);
    }
    const w = c.querySelector("[data-waiting]");
    if (w && st === "running") w.textContent = "Running…";
  }

  // the newest request per cell wins: an older fragment that arrives late is dropped
  const seq: Record<string, number> = {};
  async function refreshCell(id: string | null): Promise<void> {
    if (!id) return;
    const n = (seq[id] = (seq[id] ?? 0) + 1);
    try {
      const r = await fetch(`${base}cell/${encodeURIComponent(id)}`, { headers: { accept: "text/html" }, credentials: "same-origin" });
      const text = r.ok ? await r.text() : null;
      if (!text || n !== seq[id]) return;
      const c = cell(id);
      const fresh = fromHtml(text);
      if (!c || !fresh) return;
      const active = document.activeElement; // before anything moves (moving a node drops focus)
      // tokens that streamed in while the fragment was on its way stay (the fragment may predate them)
      const oldToks = c.querySelector("[data-live-tokens]");
      const newToks = fresh.querySelector("[data-live-tokens]");
      if (oldToks && newToks && oldToks.children.length > newToks.children.length) {
        newToks.replaceWith(oldToks);
        const fw = fresh.querySelector("[data-waiting]");
        if (fw) fw.textContent = "Generating…";
      }
      if (c.querySelector("details.rerun[open]")) {
        const old = c.querySelector("footer");
        const nf = fresh.querySelector("footer");
        if (fresh.querySelector("details.rerun") && old && nf) nf.replaceWith(old);
      }
      c.replaceWith(fresh);
      // a form being edited moved along with its footer: keep the caret where it was
      if (active instanceof HTMLElement && active !== document.body && fresh.contains(active)) active.focus();
    } catch {
      // a fragment that cannot be fetched leaves the cell as it is; the next event retries
    }
  }

  async function refreshHead(): Promise<void> {
    try {
      const r = await fetch(`${base}head`, { headers: { accept: "text/html" }, credentials: "same-origin" });
      const fresh = r.ok ? fromHtml(await r.text()) : null;
      const h = document.getElementById("run-head");
      if (h && fresh) h.replaceWith(fresh);
    } catch {
      // as above
    }
  }

  function onToken(d: RunEventOf<"token">): void {
    const c = cell(d.stepId);
    const box = c?.querySelector("[data-live-tokens]");
    if (!c || !box || box.querySelector(`[data-index="${d.index}"]`)) return;
    const w = c.querySelector("[data-waiting]");
    if (w) w.textContent = "Generating…";
    const p = Math.min(1, Math.max(0, Math.exp(d.logprob)));
    const s = document.createElement("span");
    s.className = "tok";
    s.style.setProperty("--p", p.toFixed(3));
    s.setAttribute("data-index", String(d.index));
    s.title = `#${d.index} p=${p.toFixed(3)} log-prob ${d.logprob.toFixed(3)}`;
    s.textContent = d.text === "" ? "∅" : d.text;
    box.appendChild(s);
  }

  const stepEnded = (d: RunEventOf<"step.completed" | "step.failed" | "step.skipped" | "step.canceled" | "step.timed_out">) => {
    setStatus(d.stepId, d.status);
    void refreshCell(d.stepId);
    say(`Step ${d.stepId}: ${d.status}`);
  };

  const es = new EventSource(`/v1/runs/${encodeURIComponent(runId)}/events?lastEventId=${encodeURIComponent(last)}`);
  const handlers: { [T in RunEventType]: (d: RunEventOf<T>) => void } = {
    "run.created": () => {},
    "run.started": () => void refreshHead(),
    "step.queued": (d) => setStatus(d.stepId, "queued"),
    "step.retrying": (d) => {
      setStatus(d.stepId, "queued");
      say(`Step ${d.stepId} is retrying`);
    },
    "step.started": (d) => {
      setStatus(d.stepId, "running");
      void refreshCell(d.stepId);
    },
    token: onToken,
    "step.completed": stepEnded,
    "step.failed": stepEnded,
    "step.skipped": stepEnded,
    "step.canceled": stepEnded,
    "step.timed_out": stepEnded,
    "run.completed": (d) => {
      es.close();
      root.setAttribute("data-live", "0");
      // cells already final were refreshed by their own event; catch up the rest
      const pending: Promise<void>[] = [];
      for (const c of document.querySelectorAll("li.cell[data-step]")) {
        const st = c.getAttribute("data-status") as StepStatus;
        const final = STEP_OK.has(st) || STEP_DEAD.has(st);
        if (!final || !c.querySelector("[data-meta]") || c.querySelector("[data-waiting]")) pending.push(refreshCell(c.getAttribute("data-step")));
      }
      pending.push(refreshHead());
      void Promise.all(pending).then(() => {
        root.setAttribute("data-done", d.status);
        say(`Run ${d.status}`);
      });
    },
  };
  for (const type of Object.keys(handlers) as RunEventType[]) {
    es.addEventListener(type, (e) => {
      let d: RunEvent;
      try {
        d = JSON.parse((e as MessageEvent<string>).data) as RunEvent;
      } catch {
        return;
      }
      (handlers[type] as (d: RunEvent) => void)(d);
    });
  }
}

start();
