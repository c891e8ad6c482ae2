/**
 * The CLI's live view of a run: one line per step (status, op, timing, cache hit, worker, and the
 * tokens of a decode as they stream), redrawn in place on a terminal, one line per change otherwise.
 */
import type { RunStatus, StepError, StepStatus } from "../workflows/index.js";
import type { Run, RunEvent, StepView } from "./client.js";

interface StepLine {
  id: string;
  op: string;
  status: StepStatus;
  tokens: string[];
  detail: string;
}

const ICON: Record<StepStatus, string> = {
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

const errorText = (err: StepError) => `${err.code}: ${err.message}`;

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
  private status: RunStatus = "queued";
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
    (this.handlers[e.type] as (ev: RunEvent) => void)(e);
  }

  // One handler per event type: a type added to workflows/src/events.ts without one here is a
  // compile error.
  private readonly handlers: { [T in RunEvent["type"]]: (e: Extract<RunEvent, { type: T }>) => void } = {
    "run.created": (e) => this.runStatus(e.status),
    "run.started": (e) => this.runStatus(e.status),
    "run.completed": (e) => this.runStatus(e.status),
    token: (e) => {
      const s = this.stepOf(e);
      if (!s) return;
      s.tokens.push(e.text);
      s.detail = `${s.tokens.join(" ")}…`;
      this.schedule();
    },
    "step.queued": (e) => this.stepStatus(e, e.status, undefined),
    "step.started": (e) => this.stepStatus(e, e.status, `attempt ${e.attempt} on ${e.workerId ?? "?"}`),
    "step.retrying": (e) => this.stepStatus(e, e.status, errorText(e.error)),
    "step.completed": (e) =>
      this.stepStatus(
        e,
        e.status,
        detailOf({
          ...stub,
          status: e.status,
          output: e.output,
          computeMs: e.computeMs ?? null,
          cacheHit: Boolean(e.cacheHit),
          workerId: e.workerId ?? null,
          cachedFrom: e.cachedFrom ?? null,
        }),
      ),
    "step.failed": (e) => this.stepStatus(e, e.status, errorText(e.error)),
    "step.timed_out": (e) => this.stepStatus(e, e.status, errorText(e.error)),
    "step.skipped": (e) => this.stepStatus(e, e.status, errorText(e.error)),
    "step.canceled": (e) => this.stepStatus(e, e.status, undefined),
  };

  private stepOf(e: RunEvent): StepLine | undefined {
    return e.stepId ? this.steps.get(e.stepId) : undefined;
  }

  private runStatus(status: RunStatus): void {
    this.status = status;
    if (!this.tty) this.out.write(`run ${this.status}\n`);
    this.schedule();
  }

  private stepStatus(e: RunEvent, status: StepStatus, detail: string | undefined): void {
    const s = this.stepOf(e);
    if (!s) return;
    s.status = status;
    if (detail !== undefined) s.detail = detail;
    if (!this.tty) this.out.write(`  ${ICON[s.status]} ${s.id} ${s.status} ${s.detail}\n`);
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
      ...[...this.steps.values()].map((s) => `  ${ICON[s.status]} ${s.id.padEnd(12)} ${s.op.padEnd(8)} ${s.status.padEnd(9)} ${s.detail}`.slice(0, width - 1)),
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
