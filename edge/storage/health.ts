/**
 * Disk pressure as a state, not a crash (issue 15). A full (or read-only, or failing) disk makes
 * SQLite writes fail; reads keep working. So:
 *
 * - a write that fails for storage reasons answers **507 `insufficient_storage`** (never a 500),
 *   and puts the edge in the `failing` state: `/readyz` answers 503 (`storage: "failing"`);
 * - the state clears by itself: on the next write that commits, or (Node) as soon as the data
 *   folder has `minFreeBytes` free again — no restart;
 * - uploads are refused **before** they are read when the folder has less than their size +
 *   `minFreeBytes` free (`freeBytes`, from statfs on Node; Workers/D1 have no such probe);
 * - nothing on the read path writes (the rate limiter is in memory: edge/limits/rate.ts).
 *
 * @example
 * const health = new StorageHealth({ freeBytes: () => statfsFree(dataDir), minFreeBytes: 32 << 20 });
 * const store = watchWrites(openSqliteStore(file), health);
 */
import type { Store } from "../../db/driver.js";
import { apiError } from "../lib/errors.js";
import { storageErrorCode } from "./errors.js";

export { storageErrorCode };

export interface StorageOptions {
  /** Free bytes where the database lives, or undefined when it cannot be known. */
  freeBytes?: () => number | undefined;
  /** Headroom kept free: uploads that would eat into it are refused. Default 32 MiB. */
  minFreeBytes?: number;
}

export const DEFAULT_MIN_FREE_BYTES = 32 << 20;

export class StorageHealth {
  readonly minFreeBytes: number;
  private failingSince: number | undefined;
  private lastCode: string | undefined;
  /** Write failures seen (for /metrics) and whether the last one was logged. */
  failures = 0;

  constructor(private readonly opts: StorageOptions = {}) {
    this.minFreeBytes = opts.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
  }

  freeBytes(): number | undefined {
    try {
      return this.opts.freeBytes?.();
    } catch {
      return undefined;
    }
  }

  /** A write failed for a storage reason: enter the failing state (logged once per episode). */
  writeFailed(code: string, now = Date.now()): void {
    this.failures++;
    this.lastCode = code;
    if (this.failingSince === undefined) {
      this.failingSince = now;
      console.error(JSON.stringify({ msg: "storage: writes failing; answering 507 and not ready until space returns", code }));
    }
  }

  writeOk(): void {
    if (this.failingSince === undefined) return;
    this.failingSince = undefined;
    console.error(JSON.stringify({ msg: "storage: writes succeed again", code: this.lastCode }));
  }

  /** The state /readyz reports. Re-checks free space, so recovery needs no write and no restart. */
  state(): { ok: boolean; storage: "ok" | "failing" | "low"; freeBytes?: number; code?: string } {
    const free = this.freeBytes();
    if (this.failingSince !== undefined && free !== undefined && free >= this.minFreeBytes) this.writeOk();
    if (this.failingSince !== undefined) return { ok: false, storage: "failing", code: this.lastCode, ...(free !== undefined ? { freeBytes: free } : {}) };
    if (free !== undefined && free < this.minFreeBytes) return { ok: false, storage: "low", freeBytes: free };
    return { ok: true, storage: "ok", ...(free !== undefined ? { freeBytes: free } : {}) };
  }

  /** Refuse an upload of `bytes` before reading it if it would not leave `minFreeBytes` free. */
  checkUpload(bytes: number): void {
    const free = this.freeBytes();
    if (free === undefined || free - bytes >= this.minFreeBytes) return;
    throw insufficientStorage(
      `not enough free disk space to accept this request (${bytes} bytes; ${free} free, ${this.minFreeBytes} kept in reserve); try again later`,
      { freeBytes: free, requestBytes: bytes, reserveBytes: this.minFreeBytes },
    );
  }
}

export const insufficientStorage = (message: string, details: Record<string, unknown>) =>
  apiError(507, "insufficient_storage", message, details, { "Retry-After": "30" });

/**
 * The store, with its atomic writes (`batch`) reporting to `health`: a storage error enters the
 * failing state, a commit leaves it. (Single-statement writes outside `batch` are reported by the
 * app's error handler when they fail.)
 */
export function watchWrites(store: Store, health: StorageHealth): Store {
  return {
    ...store,
    db: store.db,
    async batch(stmts) {
      try {
        await store.batch(stmts);
      } catch (e) {
        const code = storageErrorCode(e);
        if (code) health.writeFailed(code);
        throw e;
      }
      if (stmts.length) health.writeOk();
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
