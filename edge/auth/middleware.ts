/**
 * Who is calling. Every route needs a credential except `/healthz`, `/readyz`, `/openapi.json`,
 * `/docs`, the UI's static assets and its login page:
 * - `/v1/pool/*`: the pool token (checked by the pool routes' own middleware);
 * - `/v1/admin/*`: the admin key (`ADMIN_KEY`);
 * - everything else: an API key — `Authorization: Bearer mlk_…`, `X-API-Key`, or the UI's
 *   `metalm_key` cookie — which picks the tenant (`c.var.tenantId`) every query filters by.
 *   `/metrics` takes only the admin key (it shows every tenant's totals; a tenant key gets 403).
 * The UI's HTML pages redirect to `/ui/login` instead of answering 401; a UI GET with `?key=`
 * stores the key in the cookie and redirects to the same URL without it.
 * After a key is accepted, the per-key rate limit (edge/limits/rate.ts) takes one token.
 */
import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { Ctx, Env } from "../context.js";
import type { RateLimiter } from "../limits/rate.js";
import { apiError } from "../lib/errors.js";
import { findApiKey, safeEqual } from "./keys.js";

export const KEY_COOKIE = "metalm_key";

export interface AuthOptions {
  /** The admin key; undefined = the admin API is off. */
  adminKey?: string;
  /** Per-key rate limiter (in memory: a read never writes); undefined = off. */
  limiter?: RateLimiter;
}

// the API's description is public: `npm start` prints it as the first link to open
const OPEN = new Set(["/healthz", "/readyz", "/openapi.json", "/docs"]);

const isUiPath = (p: string) => p === "/" || p === "/ui" || p.startsWith("/ui/");

/** The credential a request presents (header first, then the cookie). */
export function presentedKey(c: Ctx): string | undefined {
  const auth = c.req.header("authorization");
  const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (m) return m[1];
  const x = c.req.header("x-api-key");
  if (x) return x.trim();
  return getCookie(c, KEY_COOKIE) || undefined;
}

export function unauthorized(message: string) {
  return apiError(401, "unauthorized", message, null, { "WWW-Authenticate": 'Bearer realm="metalm"' });
}

export function setKeyCookie(c: Ctx, key: string): void {
  setCookie(c, KEY_COOKIE, key, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: 30 * 24 * 3600,
  });
}

export function authenticate(opts: AuthOptions): MiddlewareHandler<Env> {
  return async (c, next) => {
    const path = c.req.path;
    if (OPEN.has(path) || path === "/v1/pool" || path.startsWith("/v1/pool/") || path.startsWith("/ui/assets/") || path === "/ui/login") return next();
    const { store } = c.var.engine;

    if (path === "/v1/admin" || path.startsWith("/v1/admin/")) {
      const given = presentedKey(c);
      if (!opts.adminKey) throw unauthorized("the admin API is off: start the edge with ADMIN_KEY set");
      if (!given || !safeEqual(given, opts.adminKey)) throw unauthorized("admin calls need 'Authorization: Bearer <ADMIN_KEY>'");
      c.set("keyId", "admin");
      return next();
    }

    // a UI link carrying ?key= logs in (cookie) and drops the key from the address
    const queryKey = isUiPath(path) && c.req.method === "GET" ? c.req.query("key") : undefined;
    if (queryKey) {
      const row = await findApiKey(store, queryKey);
      if (!row) throw unauthorized("unknown or revoked API key");
      setKeyCookie(c, queryKey);
      const u = new URL(c.req.url);
      u.searchParams.delete("key");
      return c.redirect(`${u.pathname}${u.search}`, 302);
    }

    const given = presentedKey(c);
    // /metrics sums every tenant's runs, cache hits and queue: the operator's view, not a tenant's
    if (path === "/metrics") {
      if (given && opts.adminKey && safeEqual(given, opts.adminKey)) {
        c.set("keyId", "admin");
        return next();
      }
      if (given && (await findApiKey(store, given)))
        throw apiError(403, "admin_only", "/metrics shows every tenant's totals: it needs the admin key, not an API key");
      throw unauthorized(
        opts.adminKey
          ? "/metrics needs 'Authorization: Bearer <ADMIN_KEY>'"
          : "/metrics is admin-only and the admin API is off: start the edge with ADMIN_KEY set",
      );
    }
    const row = given ? await findApiKey(store, given) : undefined;
    if (!row) {
      if (isUiPath(path) && c.req.method === "GET" && !path.startsWith("/ui/api/")) {
        return c.redirect(`/ui/login?next=${encodeURIComponent(path + (new URL(c.req.url).search || ""))}`, 302);
      }
      throw unauthorized(given ? "unknown or revoked API key" : "an API key is required: 'Authorization: Bearer <key>'");
    }
    c.set("tenantId", row.tenantId);
    c.set("keyId", row.id);
    if (opts.limiter) {
      const r = opts.limiter.take(row.id, c.var.engine.now());
      if (!r.ok)
        throw apiError(
          429,
          "rate_limited",
          `too many requests for this API key; retry in ${r.retryAfterS} s`,
          { retryAfterS: r.retryAfterS, limit: opts.limiter.limit },
          {
            "Retry-After": String(r.retryAfterS),
          },
        );
    }
    return next();
  };
}
