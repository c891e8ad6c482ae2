/**
 * CPU time of a stack's processes from Linux /proc, for the benchmarks that read it
 * (`bench/e2e.ts`, `bench/sustained.ts`): clock ticks of 10 ms, utime + stime.
 */
import { readdirSync, readFileSync } from "node:fs";

/** utime + stime (ticks) and the process group of a `/proc/…/stat` line. */
function parseStat(stat: string): { pgrp: number; ticks: number } {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
  return { pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) }; // fields 5; 14, 15
}

/** Every live process of process group `pgid`: its pid, command line (NUL-separated) and CPU ticks. */
export function groupProcesses(pgid: number): { pid: string; cmd: string; ticks: number }[] {
  const out: { pid: string; cmd: string; ticks: number }[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    let cmd: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue; // a process that ended meanwhile
    }
    const s = parseStat(stat);
    if (s.pgrp === pgid) out.push({ pid, cmd, ticks: s.ticks });
  }
  return out;
}

/** A process's CPU ticks split into its main thread and all its other threads. */
export function threadTicks(pid: string): { main: number; other: number } {
  const t = { main: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const { ticks } = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
      if (tid === pid) t.main += ticks;
      else t.other += ticks;
    } catch {
      /* a thread that ended */
    }
  }
  return t;
}
