/**
 * Free space under a folder (Node only: the Workers bundle never imports this file; D1 has no
 * such probe, so there the disk state comes from write errors alone).
 */
import { statfsSync } from "node:fs";

/** Free bytes for an unprivileged writer on the filesystem holding `dir` (Node's statfs). */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}
