/**
 * A byte-bounded LRU cache with hit/miss counters, and single-flight `getOrCompute` so that
 * concurrent requests for the same key compute it once.
 */
export interface CacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
  maxBytes: number;
  evictions: number;
}

export class ByteLru<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private readonly inflight = new Map<string, Promise<V>>();
  private used = 0;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (v: V) => number,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key); // re-insert: most recently used last
    this.map.set(key, e);
    return e.value;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, value: V): void {
    const bytes = this.sizeOf(value);
    const old = this.map.get(key);
    if (old) {
      this.used -= old.bytes;
      this.map.delete(key);
    }
    if (bytes > this.maxBytes) return; // never cache what cannot fit
    this.map.set(key, { value, bytes });
    this.used += bytes;
    for (const [k, e] of this.map) {
      if (this.used <= this.maxBytes) break;
      this.map.delete(k);
      this.used -= e.bytes;
      this.evictions++;
    }
  }

  /**
   * Returns the cached value (a hit) or computes, stores and returns it (a miss). Concurrent
   * callers of a key being computed share the computation (and count as hits).
   * @example const { value, hit } = await lru.getOrCompute(key, () => encode(image));
   */
  async getOrCompute(key: string, compute: () => Promise<V>): Promise<{ value: V; hit: boolean }> {
    const cached = this.get(key);
    if (cached !== undefined) {
      this.hits++;
      return { value: cached, hit: true };
    }
    const pending = this.inflight.get(key);
    if (pending) {
      this.hits++;
      return { value: await pending, hit: true };
    }
    this.misses++;
    const p = compute();
    this.inflight.set(key, p);
    try {
      const value = await p;
      this.set(key, value);
      return { value, hit: false };
    } finally {
      this.inflight.delete(key);
    }
  }

  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, entries: this.map.size, bytes: this.used, maxBytes: this.maxBytes, evictions: this.evictions };
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}
