import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // test/faults/*.faults.ts: real-process fault tests (~1 min); also alone via `npm run test:faults`
    include: ["**/*.test.ts", "test/faults/**/*.faults.ts"],
    exclude: ["node_modules/**", "data/**", "test/browser/**", "test/training/**", "test/workers/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
