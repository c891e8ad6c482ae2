/**
 * `npm run test:faults` — fault tests with real processes (test/faults/*.faults.ts): worker and
 * edge SIGKILLs with runs in flight, webhook receiver outages, a tampered model package, a locked
 * SQLite file. Kept out of `npm test` (they take minutes on a small machine); one file at a time.
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
