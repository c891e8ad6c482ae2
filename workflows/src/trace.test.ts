import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { traceNow, traceRun, tracing } from "./trace.js";

const traceModule = fileURLToPath(new URL("./trace.ts", import.meta.url));
/**
 * A fresh Node process that (unless `load` is false) traces two points of run r1 with the given
 * environment; it prints its count of exit listeners and whether the module says it is tracing.
 */
const traceInChild = (env: Record<string, string>, load = true) =>
  spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "-e",
      load
        ? `const t = await import(${JSON.stringify(traceModule)}); t.traceRun("r1", "a"); t.traceRun("r1", "b", 1234.5); console.log(process.listenerCount("exit"), t.tracing);`
        : `console.log(process.listenerCount("exit"), "none");`,
    ],
    { env: { ...process.env, ...env }, encoding: "utf8" },
  );
/** Exit listeners of a process that never loads the tracer (tsx has its own). */
const baseListeners = () => Number(traceInChild({}, false).stdout.trim().split(" ")[0]);

describe("traceRun (METALM_TRACE_DIR)", () => {
  it("writes `runId label epochMs` lines to <dir>/trace-<pid>.log at exit", () => {
    const dir = mkdtempSync(join(tmpdir(), "trace-test-"));
    try {
      const before = traceNow();
      const r = traceInChild({ METALM_TRACE_DIR: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`${baseListeners() + 1} true`); // the flush at exit
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^trace-\d+\.log$/);
      const lines = readFileSync(join(dir, files[0]!), "utf8").trim().split("\n");
      expect(lines).toHaveLength(2);
      const [id, label, at] = lines[0]!.split(" ");
      expect([id, label]).toEqual(["r1", "a"]);
      expect(Number(at)).toBeGreaterThanOrEqual(before); // one clock across processes
      expect(Number(at)).toBeLessThan(traceNow());
      expect(lines[1]).toBe("r1 b 1234.500");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("creates a missing directory, and a directory it cannot write to stops tracing without throwing", () => {
    const root = mkdtempSync(join(tmpdir(), "trace-test-"));
    try {
      const dir = join(root, "not", "yet");
      const r = traceInChild({ METALM_TRACE_DIR: dir });
      expect(r.status, r.stderr).toBe(0);
      expect(readdirSync(dir)).toHaveLength(1);
      // a path under a regular file can never be a directory: the exit flush reports it once
      writeFileSync(join(root, "file"), "x");
      const bad = traceInChild({ METALM_TRACE_DIR: join(root, "file", "sub") });
      expect(bad.status, bad.stderr).toBe(0);
      expect(bad.stderr).toMatch(/cannot write trace lines .*tracing stops/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("is a no-op without it: no exit hook, no file", () => {
    const r = traceInChild({ METALM_TRACE_DIR: "" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`${baseListeners()} false`);
    expect(tracing).toBe(false); // this process has no METALM_TRACE_DIR either
    expect(() => traceRun("r", "x")).not.toThrow();
  });
});
