/**
 * Which errors mean "the disk (or the database file) cannot take this write" — as opposed to "this
 * write is wrong". No imports: `edge/lib/errors.ts` (the app's one error handler) needs it too.
 */

/** SQLite/D1 storage error code in `e` or its cause chain (`SQLITE_FULL`, `SQLITE_IOERR_*`, …), else undefined. */
export function storageErrorCode(e: unknown): string | undefined {
  for (let x: unknown = e, i = 0; x && i < 4; x = (x as { cause?: unknown }).cause, i++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code)) return code;
    const msg = (x as { message?: unknown }).message;
    if (typeof msg === "string") {
      const m = /\b(SQLITE_(?:FULL|IOERR\w*|READONLY\w*)|ENOSPC|EROFS|database or disk is full)\b/.exec(msg);
      if (m) return m[1] === "database or disk is full" ? "SQLITE_FULL" : m[1];
    }
  }
  return undefined;
}
