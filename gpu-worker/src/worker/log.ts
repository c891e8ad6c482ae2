/** One JSON line per event on stderr (what a process supervisor collects). */
export interface Log {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const LEVELS = { info: 0, warn: 1, error: 2, silent: 3 } as const;

export function jsonLog(
  base: Record<string, unknown>,
  level: keyof typeof LEVELS = "info",
  out: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Log {
  const emit = (lv: "info" | "warn" | "error") => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lv] >= LEVELS[level]) out(JSON.stringify({ time: new Date().toISOString(), level: lv, msg, ...base, ...fields }));
  };
  return { info: emit("info"), warn: emit("warn"), error: emit("error") };
}
