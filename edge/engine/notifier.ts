/**
 * In-process wake-ups for long-polls (lease, `Prefer: wait`, SSE). Purely an optimization: every
 * waiter also re-reads the database on a short interval, which stays the source of truth (several
 * edge instances share one DB and do not see each other's notifications).
 */
export interface Notifier {
  publish(topic: string): void;
  /** Resolves on the next publish to `topic`, after `ms`, or on abort — whichever is first. */
  wait(topic: string, ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Longest a waiter may go without re-reading the database. Unset: each caller's own short
   * interval, since an in-process notifier never sees other instances' publishes. A notifier that
   * delivers every instance's publishes (the PoolHub Durable Object on Workers) sets it longer,
   * which saves database queries per long-poll.
   */
  readonly recheckMs?: number;
  /**
   * How many times `topic` was published in this process so far (a version counter). Only the
   * in-process notifier has it: a lease poll that found this worker's queue empty at version v
   * need not query again while the version is still v, within `recheckMs` of that query (the
   * bound it already has for work queued by another process, or a retry whose backoff ends).
   * Unset (Workers: PoolHub): every poll queries.
   */
  seq?(topic: string): number;
}

export function localNotifier(): Notifier {
  const waiters = new Map<string, Set<() => void>>();
  const seqs = new Map<string, number>();
  return {
    seq: (topic) => seqs.get(topic) ?? 0,
    publish(topic) {
      seqs.set(topic, (seqs.get(topic) ?? 0) + 1);
      const set = waiters.get(topic);
      if (!set) return;
      waiters.delete(topic);
      for (const w of set) w();
    },
    wait(topic, ms, signal) {
      return new Promise<void>((resolve) => {
        let set = waiters.get(topic);
        if (!set) waiters.set(topic, (set = new Set()));
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          waiters.get(topic)?.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, ms));
        set.add(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    },
  };
}

export const JOBS_TOPIC = "jobs";
export const runTopic = (runId: string) => `run:${runId}`;
