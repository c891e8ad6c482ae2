/**
 * The UI's login: `GET /ui/login` is a one-field form, `POST /ui/login` checks the key and keeps
 * it in an HttpOnly, SameSite=Lax cookie (`metalm_key`) that the UI's in-process API calls
 * forward. A link `…/ui/runs?key=mlk_…` does the same in one step (middleware.ts).
 */
import { Hono } from "hono";
import { html } from "hono/html";
import type { Env } from "../context.js";
import { findApiKey } from "./keys.js";
import { setKeyCookie } from "./middleware.js";

export const loginRoutes = new Hono<Env>();

/** Only same-site relative paths are followed after login. */
const safeNext = (next: string | undefined) => (next && /^\/(?!\/)[^\\\s]*$/.test(next) && !next.startsWith("/ui/login") ? next : "/ui/runs");

const form = (next: string, error?: string) => html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Sign in · MetaLM</title>
    <link rel="stylesheet" href="/ui/assets/app.css" />
  </head>
  <body>
    <main>
      <h1>Sign in</h1>
      ${error ? html`<p class="error" role="alert">${error}</p>` : ""}
      <form method="post" action="/ui/login">
        <input type="hidden" name="next" value="${next}" />
        <label for="key">API key</label>
        <input id="key" name="key" type="password" autocomplete="current-password" placeholder="mlk_…" required />
        <button type="submit">Sign in</button>
      </form>
      <p>A fresh <code>npm start</code> prints a development key.</p>
    </main>
  </body>
</html>`;

loginRoutes.get("/ui/login", (c) => c.html(form(safeNext(c.req.query("next")))));

loginRoutes.post("/ui/login", async (c) => {
  let key = "";
  let next: string | undefined;
  try {
    const body = await c.req.parseBody();
    key = typeof body.key === "string" ? body.key.trim() : "";
    next = typeof body.next === "string" ? body.next : undefined;
  } catch {
    /* fall through: no key */
  }
  const row = key ? await findApiKey(c.var.engine.store, key) : undefined;
  if (!row) return c.html(form(safeNext(next), "Unknown or revoked API key."), 401);
  setKeyCookie(c, key);
  return c.redirect(safeNext(next), 303);
});
