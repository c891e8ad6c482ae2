/**
 * Opaque list cursors: base64url of `<createdAt>.<runId>` (the last row of the previous page).
 * Anything that does not decode to that shape is a 400, never a 500 or an empty page.
 */
import { apiError } from "./errors.js";

export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}.${id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const bad = () => apiError(400, "invalid_cursor", "cursor is not one this API returned", { field: "cursor" });
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw bad();
  const m = /^(\d{1,15})\.(run_[0-9a-z]{26})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!m) throw bad();
  return { createdAt: Number(m[1]), id: m[2]! };
}
