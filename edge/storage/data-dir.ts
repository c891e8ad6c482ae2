/**
 * DATA_DIR must be a folder this process can write: the SQLite file, its WAL and the generated
 * keys live there. Checked before anything is opened, so a read-only or missing mount fails with
 * one line naming the folder instead of better-sqlite3's raw `SQLITE_CANTOPEN` stack.
 *
 * @example
 * checkDataDir("./data"); // throws DataDirError("DATA_DIR /srv/data is not writable (EROFS …)")
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export class DataDirError extends Error {
  constructor(
    readonly dir: string,
    override readonly cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | null)?.code ?? "error";
    const why = (cause as Error | null)?.message ?? String(cause);
    super(`DATA_DIR ${dir} is not writable (${code}: ${why}); set DATA_DIR to a folder this process can create files in`);
    this.name = "DataDirError";
  }
}

/** Create the folder if needed and prove a file can be created in it (then remove the probe). */
export function checkDataDir(dir: string): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    // access(W_OK) is not enough: root passes it on a read-only mount, and so does a full disk
    const probe = join(abs, `.write-probe-${process.pid}`);
    writeFileSync(probe, "ok");
    rmSync(probe, { force: true });
  } catch (e) {
    throw new DataDirError(abs, e);
  }
  return abs;
}
