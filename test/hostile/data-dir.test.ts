/**
 * A DATA_DIR the edge cannot write (a read-only mount; for a non-root user also a 0555 folder):
 * `npm start` and `edge/node.ts` exit 1 with one line naming the folder, not a SQLITE_CANTOPEN
 * stack (issue 15, item 9). Real processes.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../faults/procs.js";

const TSX = import.meta.resolve("tsx");
let root: string;
let readOnly: string;
let mounted = false;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "datadir-"));
  readOnly = join(root, "ro");
  mkdirSync(readOnly);
  // root ignores mode bits, so as root a read-only tmpfs is the honest way to get EROFS
  if (process.getuid?.() === 0) {
    mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", readOnly]).status === 0;
    if (!mounted) throw new Error("running as root but `mount -t tmpfs -o ro` failed: cannot make a read-only folder");
  } else chmodSync(readOnly, 0o555);
});

afterAll(() => {
  if (mounted) spawnSync("umount", [readOnly]);
  else chmodSync(readOnly, 0o755);
  rmSync(root, { recursive: true, force: true });
});

function start(entry: string, dataDir: string) {
  return spawnSync(process.execPath, ["--import", TSX, join(REPO, entry)], {
    cwd: REPO,
    env: { ...process.env, DATA_DIR: dataDir, PORT: "0", WORKERS: "0", ADMIN_KEY: "mla_x", DEV_API_KEY: "mlk_datadir-test-key-00000000000000000000000000" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("DATA_DIR not writable", () => {
  it.each([
    ["edge/node.ts", () => readOnly],
    ["edge/node.ts", () => join(readOnly, "sub")], // a folder that cannot be created
    ["start.ts", () => readOnly],
  ])("%s exits 1 naming the folder", (entry, dir) => {
    const r = start(entry, dir());
    expect(r.status).toBe(1);
    const err = r.stderr;
    expect(err).toContain(`DATA_DIR ${dir()} is not writable`);
    expect(err).not.toMatch(/SQLITE_CANTOPEN| {4}at /);
  });
});
