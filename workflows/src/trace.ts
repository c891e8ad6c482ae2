/**
 * Critical-path timestamps of a run across processes, for `bench/critical-path.ts`: with
 * `METALM_TRACE_DIR` set (Node only), `traceRun(runId, label)` appends `runId label epochMs`
 * (`performance.timeOrigin + performance.now()`, comparable between processes on one machine) to
 * `<dir>/trace-<pid>.log`, buffered and written on every 64th line and at exit. Unset (the
 * default, and always on Workers) it is a no-op; hot paths test `tracing` first, so they do not
 * even build the labels then.
 *
 * @example if (tracing) traceRun(run.id, "edge.created"); // after the create commit
 */
type Fs = { appendFileSync(path: string, data: string): void };

const dir = typeof process !== "undefined" ? process.env?.METALM_TRACE_DIR : undefined;
const builtin = dir ? (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule : undefined;
const fs = builtin ? (builtin("node:fs") as Fs) : undefined;

const buf: string[] = [];
const flush = () => {
  if (fs && buf.length) fs.appendFileSync(`${dir}/trace-${process.pid}.log`, `${buf.splice(0).join("\n")}\n`);
};
if (fs) process.on("exit", flush);

/** Whether `traceRun` writes anything (METALM_TRACE_DIR is set and this is Node). */
export const tracing = fs !== undefined;

/** Now, on the clock `traceRun` uses (epoch ms, sub-millisecond). */
export const traceNow = (): number => performance.timeOrigin + performance.now();

export const traceRun: (runId: string, label: string, at?: number) => void = fs
  ? (runId, label, at) => {
      buf.push(`${runId} ${label} ${(at ?? traceNow()).toFixed(3)}`);
      if (buf.length >= 64) flush();
    }
  : () => {};
