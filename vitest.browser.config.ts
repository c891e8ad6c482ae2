import { defineConfig } from "vitest/config";

/** Browser tests (`npm run test:browser`): the real stack + Debian's Chromium via playwright-core. */
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    fileParallelism: false,
  },
});
