import { defineConfig } from "drizzle-kit";

/** `npx drizzle-kit generate` writes SQL migrations for db/schema.ts into db/migrations/. */
export default defineConfig({
  dialect: "sqlite",
  schema: "./db/schema.ts",
  out: "./db/migrations",
});
