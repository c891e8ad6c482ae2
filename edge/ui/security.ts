/**
 * Browser-facing protections for the notebook UI (`/`, `/ui/*`, the login page):
 *
 * - **Headers on every UI response** (pages, fragments, redirects, errors): a CSP that allows
 *   only this origin's scripts (the UI has no inline script; `style-src 'unsafe-inline'` because
 *   cells colour tokens with `style="--p:…"`), `frame-ancestors 'none'` + `X-Frame-Options: DENY`
 *   (no clickjacking), `nosniff`, `Referrer-Policy: same-origin` (run ids stay on the site).
 * - **CSRF tokens.** The cookie is SameSite=Lax, but another port on the same host is the same
 *   *site*, so a page there can post a form with the cookie. Every `<form method="post">` the UI
 *   renders gets a hidden `_csrf` field, and every page a `<meta name="csrf-token">` for its
 *   scripts; a UI POST that authenticates with the cookie must carry the token (field or
 *   `X-CSRF-Token` header). The token is sha256("metalm-csrf:" + key): only a holder of the key
 *   can compute it, it needs no server state (any instance checks it), and revealing it does not
 *   reveal the key. Requests with `Authorization`/`X-API-Key` are not forgeable by a form and are
 *   not checked. The login form (no key yet) refuses cross-site posts by `Sec-Fetch-Site`/`Origin`.
 *
 * @example
 * app.use("*", uiSecurity()); // before authenticate(): its login redirects get the headers too
 */
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Ctx, Env } from "../context.js";
import { KEY_COOKIE } from "../auth/middleware.js";
import { sha256Hex } from "../../workflows/index.js";
import { apiError } from "../lib/errors.js";

export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-csrf-token";

export const UI_SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

const isUiPath = (p: string) => p === "/" || p === "/ui" || p.startsWith("/ui/");

/** The CSRF token for an API key (the same on every instance, for as long as the key lives). */
export async function csrfToken(key: string): Promise<string> {
  return sha256Hex(`metalm-csrf:${key}`).slice(0, 40);
}

/** Whether a browser says the request came from another origin (absent headers = not a browser form). */
function crossOrigin(c: Ctx): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return true;
  const origin = c.req.header("origin");
  if (origin && origin !== "null") return origin !== new URL(c.req.url).origin;
  return origin === "null";
}

async function presentedCsrf(c: Ctx): Promise<string | undefined> {
  const h = c.req.header(CSRF_HEADER);
  if (h) return h;
  const type = c.req.header("content-type") ?? "";
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(type)) return undefined;
  try {
    // a clone: the handler parses the body itself (with its own options)
    const v = (await c.req.raw.clone().formData()).get(CSRF_FIELD);
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Insert the token into every POST form and the page head of an HTML body. */
export function withCsrf(body: string, token: string): string {
  return body
    .replace(/<form\b[^>]*\bmethod="post"[^>]*>/gi, (tag) => `${tag}<input type="hidden" name="${CSRF_FIELD}" value="${token}">`)
    .replace(/<head>/i, `<head>\n<meta name="csrf-token" content="${token}">`);
}

export function uiSecurity(): MiddlewareHandler<Env> {
  return async (c, next) => {
    const path = c.req.path;
    if (!isUiPath(path)) return next();
    const cookieKey = getCookie(c, KEY_COOKIE) || undefined;
    const viaCookie = !!cookieKey && !c.req.header("authorization") && !c.req.header("x-api-key");
    const token = cookieKey ? await csrfToken(cookieKey) : undefined;
    if (c.req.method === "POST") {
      if (path === "/ui/login") {
        if (crossOrigin(c)) throw apiError(403, "csrf_rejected", "sign-in forms are accepted only from this origin", { field: "Origin" });
      } else if (viaCookie && token !== (await presentedCsrf(c))) {
        throw apiError(
          403,
          "csrf_rejected",
          `a form post signed in by cookie needs the page's CSRF token (field ${CSRF_FIELD} or header X-CSRF-Token); reload the page`,
          {
            field: CSRF_FIELD,
          },
        );
      }
    }
    await next();
    if (token && (c.res.headers.get("content-type") ?? "").startsWith("text/html")) {
      const res = c.res;
      const text = await res.text();
      const headers = new Headers(res.headers);
      headers.delete("content-length");
      c.res = undefined; // replace, not merge (hono merges headers into a new c.res)
      c.res = new Response(withCsrf(text, token), { status: res.status, headers });
    }
    for (const [k, v] of Object.entries(UI_SECURITY_HEADERS)) c.res.headers.set(k, v);
  };
}
