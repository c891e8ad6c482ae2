/**
 * The edge: ONE Hono app, runtime-agnostic. Entry points (edge/node.ts today, a Workers entry
 * later) build a `Store` and call `createApp`; handlers reach the engine through `c.var`.
 *
 * @example
 * const app = createApp({ store: openSqliteStore("./data/metalm.sqlite"), poolToken: "s3cret" });
 * const res = await app.request("/v1/runs/run_x"); // 404 { error: { code: "run_not_found", … } }
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { DEFAULT_TENANT } from "../db/schema.js";
import { MAX_TOKENS } from "../workflows/index.js";
import { mountApiDocs } from "./api/openapi.js";
import { validationHook } from "./api/route.js";
import { adminRoutes } from "./auth/admin.js";
import { credentialRoutes } from "./credentials/routes.js";
import { loginRoutes } from "./auth/login.js";
import { authenticate } from "./auth/middleware.js";
import { checkMemory, edgeCaches, memoryConfig } from "./limits/memory.js";
import { DEFAULT_RATE_LIMIT, RateLimiter } from "./limits/rate.js";
import { StorageHealth, watchWrites } from "./storage/health.js";
import { runWebhooksRoutes, webhooksRoutes } from "./webhooks/routes.js";
import type { AppDeps, Env, Limits } from "./context.js";
import { localNotifier } from "./engine/notifier.js";
import { DEFAULT_RUN_TIMEOUT_MS } from "./engine/runs.js";
import { workflowsPlanner } from "./engine/planner.js";
import type { EngineCtx } from "./engine/context.js";
import { outboxHook } from "./webhooks/outbox.js";
import { apiError, onError } from "./lib/errors.js";
import { Metrics } from "./metrics.js";
import { eventsRoutes } from "./routes/events.js";
import { modelsRoutes, opsRoutes, planRoutes } from "./routes/ops.js";
import { poolAuth, poolRoutes } from "./routes/pool.js";
import { rerunRoutes } from "./routes/rerun.js";
import { runsRoutes } from "./routes/runs.js";
import { workflowsRoutes } from "./routes/workflows.js";
import { mountUi } from "./ui/index.js";
import { uiSecurity } from "./ui/security.js";

export const DEFAULT_LIMITS: Limits = { bodyBytes: 16 << 20, imageBytes: 4 << 20, maxWaitS: 60, imagePixels: 16_000_000, maxSteps: 64, maxTokens: MAX_TOKENS };

export interface EdgeApp extends OpenAPIHono<Env> {
  /** The engine context the app runs on (for entrypoints: timers, sweeps). */
  readonly engine: EngineCtx;
}

export function createApp(deps: AppDeps): EdgeApp {
  const limits: Limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const memory = memoryConfig(deps.memory);
  const caches = edgeCaches(memory);
  const storage = deps.storage ?? new StorageHealth();
  // batches report to the disk-pressure state (507 + not ready while writes fail)
  const store = watchWrites(deps.store, storage);
  const rateLimit = deps.rateLimit ?? DEFAULT_RATE_LIMIT;
  const limiter = rateLimit ? new RateLimiter(rateLimit, memory.rateBucketBytes) : undefined;
  const metrics = (deps.metrics ?? new Metrics()).attach(store).watch({ caches, storage, memory, limiter });
  const engine: EngineCtx = {
    store,
    planner: deps.planner ?? workflowsPlanner,
    notifier: deps.notifier ?? localNotifier(),
    now: deps.now ?? Date.now,
    leaseMs: deps.leaseMs ?? 30_000,
    runTimeoutMs: deps.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
    observer: metrics,
    // webhook messages for each commit's events, in the same atomic batch (edge/webhooks/outbox.ts)
    commitHooks: [outboxHook],
    pool: { sweptAt: 0, touched: new Map() },
  };
  const app = new OpenAPIHono<Env>({ defaultHook: validationHook }) as EdgeApp;
  Object.defineProperty(app, "engine", { value: engine });

  app.onError(onError);
  app.notFound((c) => {
    throw apiError(404, "not_found", `no route ${c.req.method} ${c.req.path}`);
  });
  app.use("*", async (c, next) => {
    c.set("engine", engine);
    c.set("tenantId", DEFAULT_TENANT); // the API key's tenant replaces it (edge/auth)
    c.set("limits", limits);
    c.set("metrics", metrics);
    c.set("webhooks", deps.webhooks ?? {});
    c.set("memory", memory);
    c.set("caches", caches);
    c.set("storage", storage);
    const t0 = performance.now();
    await next();
    // after onError has run, so errors count with their status; route = the matched pattern
    metrics.observeRequest(c.req.method, c.req.routePath, c.res.status, (performance.now() - t0) / 1000);
  });
  app.use("*", uiSecurity());
  app.use("*", authenticate({ adminKey: deps.adminKey, limiter }));
  // refuse a body before reading it when memory or disk cannot take it (pool calls are small and
  // finish runs; admin calls are tiny): 503 memory_pressure / 507 insufficient_storage
  app.on(["POST", "PUT", "PATCH"], ["/v1/*", "/ui/*"], async (c, next) => {
    const p = c.req.path;
    if (!p.startsWith("/v1/pool/") && !p.startsWith("/v1/admin/")) {
      checkMemory(c, memory);
      const len = Number(c.req.header("content-length") ?? 0);
      storage.checkUpload(Number.isFinite(len) && len > 0 ? len : 0);
    }
    await next();
  });
  const tooLarge = () => {
    throw apiError(413, "payload_too_large", `request body is larger than ${limits.bodyBytes} bytes`, { limit: limits.bodyBytes });
  };
  const streamLimit = bodyLimit({ maxSize: limits.bodyBytes, onError: tooLarge });
  app.on(["POST", "PUT", "PATCH"], "/v1/*", async (c, next) => {
    // With a Content-Length (the parser enforces it) the check is one comparison. hono's
    // bodyLimit wraps the body stream, which makes @hono/node-server build a full WHATWG Request
    // for every POST (measurable CPU on the pool's hot path); it stays for chunked bodies.
    const len = c.req.header("content-length");
    if (len === undefined) return streamLimit(c, next);
    if (Number(len) > limits.bodyBytes) tooLarge();
    await next();
  });
  app.use("/v1/pool/*", poolAuth(deps.poolToken));

  app.route("/", opsRoutes);
  app.route("/v1/runs", runsRoutes);
  app.route("/v1/runs", rerunRoutes);
  app.route("/v1/runs", eventsRoutes);
  app.route("/v1/workflows", workflowsRoutes);
  app.route("/v1/models", modelsRoutes);
  app.route("/v1/plan", planRoutes);
  app.route("/v1/pool", poolRoutes);
  app.route("/v1/admin", adminRoutes);
  app.route("/v1/admin/worker-credentials", credentialRoutes);
  app.route("/v1/webhooks", webhooksRoutes);
  app.route("/v1/runs", runWebhooksRoutes);
  app.route("/", loginRoutes);
  mountUi(app); // notebook UI (edge/ui/: /, /ui/*) — owned by the UI work

  mountApiDocs(app); // /openapi.json and /docs, generated from the routes mounted above
  return app;
}
