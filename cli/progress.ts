/**
 * The CLI's live view of a run: one line per step (status, op, timing, cache hit, worker, and the
 * tokens of a decode as they stream), redrawn in place on a terminal, one line per change otherwise.
 */
import type { Run, RunEvent, StepView } from "./client.js";

interface StepLine {
  id: string;
  op: string;
  status: string;
  tokens: string[];
  detail: string;
}

const ICON: Record<string, string> = {
  pending: "·",
  queued: "○",
  running: "▸",
  succeeded: "✓",
  cached: "✓",
  failed: "✗",
  timed_out: "✗",
  canceled: "-",
  skipped: "-",
};

/** A short text for a step's output (the answer, the label, a tensor's shape). */
export function outputText(step: Pick<StepView, "output">): string {
  const o = step.output;
  if (!o) return "";
  switch (o.op) {
    case "encode":
    case "connect":
      return `[${o.tensor.shape.join("×")}] norm ${o.tensor.norm.toFixed(2)}`;
    case "decode":
      return JSON.stringify(o.text);
    case "explain":
      return `${o.label} because ${JSON.stringify(o.explanation)}`;
  }
}

function detailOf(s: StepView): string {
  const parts: string[] = [];
  if (s.status === "cached") parts.push(`memo hit${s.cachedFrom ? ` (${s.cachedFrom})` : ""}`);
  if (s.computeMs !== null) parts.push(`${s.computeMs.toFixed(1)} ms`);
  if (s.cacheHit && s.status !== "cached") parts.push("encoder cache hit");
  if (s.workerId) parts.push(s.workerId);
  const out = outputText(s);
  if (out) parts.push(`→ ${out}`);
  if (s.error) parts.push(`${s.error.code}: ${s.error.message}`);
  return parts.join("  ");
}

export class ProgressView {
  private readonly steps = new Map<string, StepLine>();
  private status = "queued";
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = Date.now();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly runId: string,
    private readonly name: string,
    run: Run,
  ) {
    this.status = run.status;
    for (const s of run.steps) this.steps.set(s.id, { id: s.id, op: s.op, status: s.status, tokens: [], detail: detailOf(s) });
    if (!this.tty) out.write(`run ${runId} (${name}) ${run.status}\n`);
    this.render();
  }

  private get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  onEvent(e: RunEvent): void {
    const s = e.stepId ? this.steps.get(e.stepId) : undefined;
    if (e.type === "token" && s) {
      s.tokens.push(String(e.text ?? ""));
      s.detail = `${s.tokens.join(" ")}…`;
      return this.schedule();
    }
    if (e.type.startsWith("run.")) {
      this.status = String(e.status ?? this.status);
      if (!this.tty) this.out.write(`run ${this.status}\n`);
      return this.schedule();
    }
    if (!s) return;
    s.status = String(e.status ?? s.status);
    if (e.type === "step.completed" && e.output) s.detail = detailOf({ ...stub, status: s.status as StepView["status"], output: e.output as StepView["output"], computeMs: (e.computeMs as number | undefined) ?? null, cacheHit: Boolean(e.cacheHit), workerId: (e.workerId as string | undefined) ?? null, cachedFrom: (e.cachedFrom as string | undefined) ?? null });
    else if (e.type === "step.started") s.detail = `attempt ${String(e.attempt ?? 1)} on ${String(e.workerId ?? "?")}`;
    else if (e.error && typeof e.error === "object") {
      const err = e.error as { code?: string; message?: string };
      s.detail = `${err.code ?? "error"}: ${err.message ?? ""}`;
    }
    if (!this.tty) this.out.write(`  ${ICON[s.status] ?? "?"} ${s.id} ${s.status} ${s.detail}\n`);
    this.schedule();
  }

  /** Final redraw from the finished run (authoritative timings and outputs). */
  finish(run: Run): void {
    for (const st of run.steps) {
      const s = this.steps.get(st.id);
      if (s) Object.assign(s, { status: st.status, detail: detailOf(st) });
    }
    this.status = run.status;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.render(); // (without a terminal, every change was already printed as it came)
  }

  private schedule(): void {
    if (!this.tty || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, 40);
  }

  private render(): void {
    if (!this.tty) return;
    const width = this.out.columns || 100;
    const secs = ((Date.now() - this.t0) / 1000).toFixed(1);
    const lines = [
      `run ${this.runId} (${this.name})  ${this.status}  ${secs}s`,
      ...[...this.steps.values()].map((s) => `  ${ICON[s.status] ?? "?"} ${s.id.padEnd(12)} ${s.op.padEnd(8)} ${s.status.padEnd(9)} ${s.detail}`.slice(0, width - 1)),
    ];
    let buf = this.drawn ? `\x1b[${this.drawn}A` : "";
    for (const l of lines) buf += `\x1b[2K${l}\n`;
    this.out.write(buf);
    this.drawn = lines.length;
  }
}

const stub: StepView = {
  id: "",
  op: "",
  model: null,
  status: "pending",
  attempts: 0,
  maxAttempts: 0,
  cacheKey: null,
  cacheHit: false,
  cachedFrom: null,
  workerId: null,
  queuedAt: null,
  startedAt: null,
  finishedAt: null,
  queueMs: null,
  computeMs: null,
  output: null,
  receipt: null,
  error: null,
};
