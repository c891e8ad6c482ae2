/**
 * A small real filesystem for disk-full tests: a tmpfs of `mb` MiB (needs root — CI runs as
 * root; elsewhere `available()` is false and the suites say so instead of passing vacuously).
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), "tmpfs-probe-"));
  const ok = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]).status === 0;
  if (ok) spawnSync("umount", [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}

export function mountTmpfs(mb: number): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), "tmpfs-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${mb}m`, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mount tmpfs: ${r.stderr}`);
  mkdirSync(join(dir, "data"));
  return {
    dir,
    unmount() {
      spawnSync("umount", ["-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Write `file` until the filesystem is full (ENOSPC); returns the bytes written. */
export function fillDisk(file: string, chunk = 256 << 10): number {
  const fd = openSync(file, "w");
  const buf = Buffer.alloc(chunk, 1);
  let n = 0;
  try {
    for (;;) n += writeSync(fd, buf);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  // the last partial chunk: fill what is left byte-exactly
  const fd2 = openSync(file, "a");
  try {
    for (let size = chunk >> 1; size >= 512; size >>= 1) {
      const b = Buffer.alloc(size, 1);
      try {
        for (;;) n += writeSync(fd2, b);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
      }
    }
  } finally {
    closeSync(fd2);
  }
  return n;
}

/** A file of `bytes` bytes (ballast to delete later, so space "returns"). */
export function ballast(file: string, bytes: number): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, Buffer.alloc(bytes, 2));
  } finally {
    closeSync(fd);
  }
}
