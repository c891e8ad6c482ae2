/**
 * `npm run test:faults` — only the fault tests with real processes (test/faults/*.faults.ts):
 * worker and edge SIGKILLs with runs in flight, webhook receiver outages, a tampered model
 * package, a locked SQLite file; one file at a time, with longer timeouts. They are part of
 * `npm test` too (vitest.config.ts includes them); this config is for running them alone.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/faults/**/*.faults.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
