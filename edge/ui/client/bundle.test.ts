/**
 * The UI's browser code is typed TS (run.ts, new.ts) bundled into bundle.gen.ts, which the edge
 * serves. A source changed without rebuilding fails here; the served scripts are the bundle.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bundleUi, OUT } from "../../../scripts/build-ui.js";
import { makeHarness } from "../../testing/harness.js";
import { NEW_JS, RUN_JS } from "./bundle.gen.js";

describe("UI browser bundle", () => {
  it("bundle.gen.ts is what scripts/build-ui.ts builds from the sources now", async () => {
    expect(readFileSync(OUT, "utf8")).toBe(await bundleUi());
  });

  it("is served as classic scripts, and each parses", async () => {
    const h = makeHarness();
    try {
      for (const [name, body] of [
        ["run.js", RUN_JS],
        ["new.js", NEW_JS],
      ] as const) {
        const r = await h.app.request(`/ui/assets/${name}`);
        expect(r.status).toBe(200);
        expect(r.headers.get("content-type")).toMatch(/javascript/);
        expect(await r.text()).toBe(body);
        expect(() => new Function(body)).not.toThrow(); // a syntax error would throw here
        expect(body).not.toMatch(/^\s*(import|export)\s/m); // no module syntax in a classic script
      }
    } finally {
      h.close();
    }
  });
});
