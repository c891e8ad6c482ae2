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

  /** Whether `key` is being computed right now (by `getOrCompute` or `computeMany`). */
  computing(key: string): boolean {
    return this.inflight.has(key);
  }

  /**
   * Computes the values of several keys with ONE call (e.g. one batched model run) and caches
   * them. Keys already cached or being computed are left out of `compute`; callers of
   * `getOrCompute` for a key computed here wait for it (single flight, as for one key).
   * Rejects when `compute` does (nothing is cached then).
   */
  async computeMany(keys: readonly string[], compute: (missing: string[]) => Promise<V[]>): Promise<void> {
    const todo = [...new Set(keys)].filter((k) => !this.map.has(k) && !this.inflight.has(k));
    if (!todo.length) return;
    this.misses += todo.length;
    const all = compute(todo);
    todo.forEach((k, i) => {
      const one = all.then((vs) => vs[i]!);
      one.catch(() => {}); // awaited (and reported) by whoever waits for the key, if anyone
      this.inflight.set(k, one);
    });
    try {
      const values = await all;
      if (values.length !== todo.length) throw new Error(`computeMany: ${values.length} values for ${todo.length} keys`);
      todo.forEach((k, i) => this.set(k, values[i]!));
    } finally {
      for (const k of todo) this.inflight.delete(k);
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
