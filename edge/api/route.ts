/**
 * How a route is declared: `route(router, createRoute({...}), handler)` registers the handler and
 * its OpenAPI entry in one call (`OpenAPIHono.openapi`), so `/openapi.json` is generated from the
 * routes that exist (edge/api/openapi.test.ts walks them).
 *
 * Who validates what:
 * - path params, query and headers: the router, from the route's zod schemas; a failure is the
 *   API's one error shape (400 `invalid_request` naming every field, as `parseOr400` words it);
 * - bodies: the handler, with the same zod schema the document shows. Bodies stay with the
 *   handlers because their errors are part of the contract the router cannot give: `invalid_json`
 *   for a malformed or empty body whatever its content type, multipart run requests, and the
 *   workflow validator's per-step error map for a spec. So `route` documents a body schema as a
 *   `$ref` to the named zod schema and keeps it out of the router's validators.
 */
import { OpenAPIHono, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { z } from "zod";
import type { Env } from "../context.js";
import { apiError, zodIssues } from "../lib/errors.js";
import { ErrorSchema } from "./schemas.js";

type Router = OpenAPIHono<Env>;

const WHAT: Record<string, string> = { query: "query", param: "path", header: "headers", cookie: "cookies", json: "request body", form: "request body" };

/**
 * The routers' `defaultHook`: a failed param/query/header check becomes the one error shape.
 *
 * @example
 * const r = new OpenAPIHono<Env>({ defaultHook: validationHook });
 */
export function validationHook(result: { success: true } | { success: false; error: z.ZodError; target: string }): void {
  if (result.success) return;
  const what = WHAT[result.target] ?? result.target;
  const issues = zodIssues(result.error);
  throw apiError(400, "invalid_request", `invalid ${what}: ${issues.map((i) => `${i.field || "(root)"}: ${i.message}`).join("; ")}`, { issues });
}

/** A router for one feature (mount it with `app.route(prefix, r)`), failing validation in the one error shape. */
export function newRouter(): Router {
  return new OpenAPIHono<Env>({ defaultHook: validationHook });
}

/** A handler whose request parts (`c.req.valid("query")`, …) are typed from its route. */
export type RouteFn<R extends RouteConfig> = (c: Parameters<RouteHandler<R, Env>>[0]) => Response | Promise<Response>;

/**
 * Register `handler` for `def` on `r`, documented in /openapi.json. The handler parses the body.
 *
 * @example
 * route(r, createRoute({ method: "get", path: "/{id}", request: { params: IdParam }, responses: { 200: json(Run, "The run") } }),
 *   async (c) => c.json(await load(c, c.req.valid("param").id)));
 */
export function route<R extends RouteConfig>(r: Router, def: R, handler: RouteFn<R>): void {
  // documented whole; validated by the router without the body (`hide`: the entry above is the doc)
  r.openAPIRegistry.registerPath(def);
  const { body: _body, ...validated } = def.request ?? {};
  r.openapi({ ...def, request: validated, hide: true }, handler as never);
}

/** `{ description, content: { "application/json": { schema } } }` for a response. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
/** An error response (the one error shape). */
export const err = (description: string) => json(ErrorSchema, description);
/** A JSON request body, parsed by the handler (see the module comment). */
export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({ required, content: { "application/json": { schema } } });
