/**
 * A least-recently-used map bounded by the BYTES its values hold (as `sizeOf` reports them), not
 * by entry count: one 11 MB run view must not cost what a 2 KB one does. Entries larger than
 * `maxEntryBytes` are not kept at all (big values are served from the database each time instead
 * of crowding out every small one). `bytes` / `limitBytes` feed /metrics.
 *
 * @example
 * const views = new ByteLru<string>(64 << 20, (s) => s.length * 2, 1 << 20);
 * views.set("run_1", json); views.get("run_1");
 */
export class ByteLru<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private total = 0;

  constructor(
    readonly limitBytes: number,
    private readonly sizeOf: (v: V) => number,
    readonly maxEntryBytes = limitBytes,
  ) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  /** Keep `value` (evicting the least recently used) — or drop it when it alone is too large. Returns whether it was kept. */
  set(key: string, value: V): boolean {
    this.delete(key);
    const size = this.sizeOf(value);
    if (size > this.maxEntryBytes || size > this.limitBytes) return false;
    this.map.set(key, { value, size });
    this.total += size;
    for (const [k, e] of this.map) {
      if (this.total <= this.limitBytes) break;
      this.map.delete(k);
      this.total -= e.size;
    }
    return true;
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.total -= e.size;
  }
}
