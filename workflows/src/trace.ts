/**
 * Critical-path timestamps of a run across processes, for `bench/critical-path.ts`: with
 * `METALM_TRACE_DIR` set (Node only), `traceRun(runId, label)` appends `runId label epochMs`
 * (`performance.timeOrigin + performance.now()`, comparable between processes on one machine) to
 * `<dir>/trace-<pid>.log`, buffered and written on every 64th line and at exit. Unset (the
 * default, and always on Workers) it is a no-op; hot paths test `tracing` first, so they do not
 * even build the labels then. The directory is created if missing; a write that fails (a full
 * disk, a removed directory) is reported once on stderr and tracing stops — it never throws into
 * the request that traced.
 *
 * @example if (tracing) traceRun(run.id, "edge.created"); // after the create commit
 */
type Fs = { appendFileSync(path: string, data: string): void; mkdirSync(path: string, opts: { recursive: true }): unknown };

const dir = typeof process !== "undefined" ? process.env?.METALM_TRACE_DIR : undefined;
const builtin = dir ? (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule : undefined;
const fs = builtin ? (builtin("node:fs") as Fs) : undefined;

const buf: string[] = [];
let broken = false;
let made = false;
const flush = () => {
  if (!fs || broken || !buf.length) return;
  const lines = `${buf.splice(0).join("\n")}\n`;
  try {
    if (!made) fs.mkdirSync(dir!, { recursive: true }); // once, not on every flush
    made = true;
    fs.appendFileSync(`${dir}/trace-${process.pid}.log`, lines);
  } catch (e) {
    broken = true;
    console.error(`METALM_TRACE_DIR=${dir}: cannot write trace lines (${(e as Error).message}); tracing stops`);
  }
};
if (fs) process.on("exit", flush);

/** Whether `traceRun` writes anything (METALM_TRACE_DIR is set and this is Node). */
export const tracing = fs !== undefined;

/** Now, on the clock `traceRun` uses (epoch ms, sub-millisecond). */
export const traceNow = (): number => performance.timeOrigin + performance.now();

export const traceRun: (runId: string, label: string, at?: number) => void = fs
  ? (runId, label, at) => {
      if (broken) return;
      buf.push(`${runId} ${label} ${(at ?? traceNow()).toFixed(3)}`);
      if (buf.length >= 64) flush();
    }
  : () => {};
