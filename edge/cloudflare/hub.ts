/**
 * Cross-isolate wake-ups on Workers: a Durable Object per notifier topic.
 *
 * On Node one process holds every waiter, so the in-memory `localNotifier` wakes a waiting lease
 * the moment a job is queued. On Workers each request may run in a different isolate (and data
 * centre), so an in-memory publish reaches nobody else. `durableNotifier` keeps the same
 * `Notifier` contract but routes it through `PoolHub`, one Durable Object per topic
 * (`idFromName("jobs")`, `idFromName("run:<id>")`): `wait` is a request the object holds open until
 * the next `publish` to it (or the timeout), and `publish` is a request that releases them all.
 * Sharding by topic keeps the lease waiters on one object and spreads run/SSE waiters over many.
 *
 * It stays an optimization, exactly as on Node: every waiter re-reads D1 on its own short interval,
 * so a lost publish (object restarted, network) costs latency, never correctness.
 *
 * @example
 * // edge/cloudflare/main.ts
 * const notifier = durableNotifier(env.POOL_HUB, (p) => requestScope.getStore()?.waitUntil(p));
 * createApp({ store: openD1Store(env.DB), poolToken: env.POOL_TOKEN, notifier });
 */
import type { D1Database, DurableObjectNamespace, DurableObjectState } from "@cloudflare/workers-types";
import { openD1Store } from "../../db/d1.js";
import { localNotifier, type Notifier } from "../engine/notifier.js";
import { webhooksFromEnv } from "../limits/env.js";
import { webhookPass } from "./background.js";

/** Longest single wait the object holds (ms); callers ask for `recheckMs` (2 s) at most. */
const MAX_HOLD_MS = 30_000;
const HUB_ORIGIN = "https://pool-hub.internal";

/**
 * The Durable Object: an in-memory `localNotifier` shared by every isolate that reaches it.
 * Requests: `POST /publish`, `POST /wait?ms=N` (answers `{ woken }`), `POST /alarm?at=ms` (run a
 * webhook pass then — the `webhooks` object's alarm, edge/cloudflare/background.ts).
 */
export class PoolHub {
  private readonly local = localNotifier();
  private waiting = 0;

  constructor(
    private readonly state: DurableObjectState,
    private readonly env: { DB?: D1Database } & Record<string, unknown>,
  ) {}

  /** A webhook pass at the armed time; re-armed while retries keep falling due within the horizon. */
  async alarm(): Promise<void> {
    if (!this.env.DB) return;
    const vars = Object.fromEntries(Object.entries(this.env).filter((e): e is [string, string] => typeof e[1] === "string"));
    const { wakeAt } = await webhookPass(openD1Store(this.env.DB), webhooksFromEnv(vars));
    if (wakeAt !== undefined) await this.state.storage.setAlarm(Math.max(wakeAt, Date.now() + 1_000));
  }

  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === "POST" && url.pathname === "/alarm") {
      const at = Number(url.searchParams.get("at"));
      if (!Number.isFinite(at)) return new Response("bad at", { status: 400 });
      const current = await this.state.storage.getAlarm();
      if (current === null || at < current) await this.state.storage.setAlarm(at);
      return Response.json({ alarmAt: Math.min(at, current ?? at) });
    }
    if (req.method === "POST" && url.pathname === "/publish") {
      const n = this.waiting;
      this.local.publish("t");
      return Response.json({ woke: n });
    }
    if (req.method === "POST" && url.pathname === "/wait") {
      const ms = Math.min(MAX_HOLD_MS, Math.max(0, Number(url.searchParams.get("ms")) || 0));
      let woken = true;
      const timer = setTimeout(() => (woken = false), ms);
      this.waiting++;
      try {
        await this.local.wait("t", ms, req.signal);
      } finally {
        this.waiting--;
        clearTimeout(timer);
      }
      return Response.json({ woken });
    }
    return new Response("not found", { status: 404 });
  }
}

/** Keep a promise alive past the response (Workers: `ctx.waitUntil`); undefined = best effort. */
export type WaitUntil = (p: Promise<unknown>) => void;

/**
 * How long waiters go between database re-reads when a PoolHub is waking them (ms). They still
 * re-read (backoff expiries and lease sweeps are time-based, and a publish may be lost), just
 * 4–8× less often than with the in-process notifier: fewer D1 queries per long-poll.
 */
export const HUB_RECHECK_MS = 2_000;

/**
 * A `Notifier` backed by `PoolHub` objects. `publish` is fire-and-forget (kept alive with
 * `waitUntil`); `wait` never throws and never outlives `ms` by more than the round trip.
 */
export function durableNotifier(ns: DurableObjectNamespace, waitUntil: WaitUntil = () => {}, opts: { recheckMs?: number } = {}): Notifier {
  const stub = (topic: string) => ns.get(ns.idFromName(topic));
  return {
    recheckMs: opts.recheckMs ?? HUB_RECHECK_MS,
    publish(topic) {
      const p = stub(topic)
        .fetch(`${HUB_ORIGIN}/publish`, { method: "POST" })
        .then((r) => r.arrayBuffer())
        .catch((e: unknown) => console.error(JSON.stringify({ msg: "pool hub publish failed", topic, error: String(e) })));
      waitUntil(p);
    },
    async wait(topic, ms, signal) {
      if (ms <= 0 || signal?.aborted) return;
      const ctl = new AbortController();
      const onAbort = () => ctl.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      // a slow or failed hub must not stretch the caller's poll interval
      const guard = setTimeout(onAbort, ms + 250);
      try {
        const res = await stub(topic).fetch(`${HUB_ORIGIN}/wait?ms=${Math.ceil(ms)}`, { method: "POST", signal: ctl.signal as never });
        await res.arrayBuffer();
      } catch {
        // timeout, abort or hub failure: the caller re-reads the database either way
      } finally {
        clearTimeout(guard);
        signal?.removeEventListener("abort", onAbort);
      }
    },
  };
}
