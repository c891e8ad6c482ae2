/**
 * `npm run test:workers` — the Cloudflare Workers side (issue 8), separate from `npm test`:
 * - project "d1": the DB suite (db/suite/store-suite.ts) on D1 inside workerd, through
 *   @cloudflare/vitest-pool-workers with the bindings of wrangler.toml (D1 + PoolHub), plus the
 *   PoolHub notifier tests; migrations are the same db/migrations/*.sql wrangler applies;
 * - project "sqlite": the same suite on better-sqlite3, so one run shows both drivers side by side;
 * - project "smoke": `wrangler dev --local` + a real Node gpu-worker + one VQA run (test/workers/smoke.test.ts).
 */
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { build } from "esbuild";
import { builtinModules, createRequire } from "node:module";
import { defineConfig } from "vitest/config";
import { hooksBinding, outbound } from "./test/workers/hook-sink.js";

const migrations = await readD1Migrations("db/migrations");

/**
 * prom-client is CommonJS and `require`s Node built-ins. vitest-pool-workers 0.15.1 serves such
 * `require`s from a fixed list of workerd built-ins that lacks `node:process`, so loading it fails
 * in the pool (wrangler's own bundle is fine: the smoke test runs it). Pre-bundle it to ESM the
 * way wrangler does — built-ins become `import … from "node:x"` — and alias it for the d1 project.
 */
async function promClientEsm(): Promise<string> {
  const outfile = ".tmp/vitest-workers/prom-client.mjs";
  const builtins = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));
  // a CommonJS entry bundles to a default export only: re-export its names for `import { Registry }`
  const names = Object.keys(createRequire(import.meta.url)("prom-client") as object);
  await build({
    stdin: { contents: `import pc from "prom-client"; export default pc; export const { ${names.join(", ")} } = pc;`, resolveDir: process.cwd() },
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["main"],
    outfile,
    logLevel: "error",
    plugins: [
      {
        name: "node-builtins-as-imports",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) => {
            const name = a.path.replace(/^node:/, "");
            if (a.namespace === "builtin") return { path: `node:${name}`, external: true };
            return builtins.has(name) ? { path: name, namespace: "builtin" } : undefined;
          });
          b.onLoad({ filter: /.*/, namespace: "builtin" }, (a) => ({
            contents: `import * as m from "node:${a.path}"; export default (m.default ?? m);`,
            loader: "js",
          }));
        },
      },
    ],
  });
  return new URL(outfile, `file://${process.cwd()}/`).pathname;
}
const promClient = await promClientEsm();

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { POOL_TOKEN: "suite-pool-token", ADMIN_KEY: "suite-admin-key", WEBHOOK_BACKOFF_MS: "300", TEST_MIGRATIONS: migrations },
              // the Worker's outbound fetches (webhook deliveries) go to a recording receiver
              outboundService: outbound,
              serviceBindings: { HOOKS: hooksBinding },
            },
          }),
        ],
        test: {
          name: "d1",
          include: [
            "test/workers/d1.test.ts",
            "test/workers/hub.test.ts",
            "test/workers/entry.test.ts",
            "test/workers/webhooks.test.ts",
            "test/workers/subrequests.test.ts",
          ],
          testTimeout: 30_000,
          // the test files share one D1 database and wipe it per test: run them one after another
          fileParallelism: false,
          alias: { "prom-client": promClient },
        },
      },
      { test: { name: "sqlite", include: ["db/suite/sqlite.test.ts"], pool: "forks" } },
      { test: { name: "smoke", include: ["test/workers/smoke.test.ts"], pool: "forks", testTimeout: 180_000, hookTimeout: 180_000 } },
    ],
  },
});
