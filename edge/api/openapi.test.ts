/**
 * /openapi.json is generated from the routes: every route the app serves is in it (this walks the
 * router's own table, so a handler added without `route(...)` fails here), a real OpenAPI
 * validator accepts it, and it and /docs are readable without a key.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp, type EdgeApp } from "../app.js";
import { makeHarness, POOL_TOKEN, TEST_API_KEY, type Harness } from "../testing/harness.js";

let h: Harness;
let app: EdgeApp; // without the harness's default key: requests carry only what a test gives
beforeEach(() => {
  h = makeHarness();
  app = createApp({ store: h.store, poolToken: POOL_TOKEN, rateLimit: false });
});
afterEach(() => h.close());

const noKey = (path: string) => app.request(path);
const openApi = async () =>
  (await (await noKey("/openapi.json")).json()) as {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
    components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  };

/**
 * Served but not API: the notebook UI's HTML pages and form posts (edge/ui, /ui/login), and the
 * description itself. Everything else must be documented.
 */
const notApi = (path: string) => path === "/" || path === "/ui" || path.startsWith("/ui/") || path === "/openapi.json" || path === "/docs";

describe("/openapi.json", () => {
  it("lists every route the app serves, with its method", async () => {
    const doc = await openApi();
    const served = app.routes
      // middleware (`use`, and the body limit on /v1/*) is not a route
      .filter((r) => r.method !== "ALL" && !r.path.includes("*") && !notApi(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(served.length).toBeGreaterThan(30);
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)));
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
    // and nothing documented that is not served
    expect([...documented].filter((d) => !served.includes(d))).toEqual([]);
    expect(documented).toContain("get /v1/workflows/{id}/versions");
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const doc = await openApi();
    const v = new Validator();
    const res = await v.validate(doc as never);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    expect(v.version).toBe("3.1");
    // every $ref resolves to a component
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => !(r in doc.components.schemas))).toEqual([]);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["WorkflowSpec", "StepSpec", "Step", "Run", "RunEvent", "Job", "JobResult", "Error", "CreateRunRequest"]),
    );
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(["apiKey", "adminKey", "poolToken"]));
  });

  it("shows request bodies from the schemas the handlers parse with", async () => {
    const doc = (await openApi()) as any;
    expect(doc.paths["/v1/runs"].post.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/CreateRunRequest" });
    expect(doc.paths["/v1/runs"].post.requestBody.content["multipart/form-data"].schema).toEqual({ $ref: "#/components/schemas/CreateRunMultipart" });
    expect(doc.paths["/v1/webhooks/endpoints"].post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/CreateWebhookEndpoint",
    });
    expect(doc.components.schemas.CreateRunRequest.properties.spec).toEqual({ $ref: "#/components/schemas/WorkflowSpec" });
  });

  it("/openapi.json and /docs answer without a key", async () => {
    expect((await noKey("/openapi.json")).status).toBe(200);
    const docs = await noKey("/docs");
    expect(docs.status).toBe(200);
    const page = await docs.text();
    expect(page).toContain("/v1/workflows/{id}/versions");
    expect(page).toContain('id="schema-WorkflowSpec"');
    expect((await noKey("/v1/runs")).status).toBe(401); // only the description is open
  });
});

describe("validation by the router", () => {
  it("a bad query is a 400 in the one error shape, naming the field", async () => {
    const r = await app.request("/v1/runs?limit=0&status=nope", { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: string; message: string; details: { issues: { field: string }[] } } };
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toMatch(/^invalid query: /);
    expect(body.error.details.issues.map((i) => i.field).sort()).toEqual(["limit", "status"]);
  });
});
