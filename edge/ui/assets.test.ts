/** `/ui/assets/:name` serves its three assets and nothing else: inherited names are 404, not 500 (issue 15). */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeHarness, type Harness } from "../testing/harness.js";

let h: Harness;
beforeEach(() => (h = makeHarness()));
afterEach(() => h.close());

describe("UI assets", () => {
  it.each(["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", "isPrototypeOf", "nope.js"])("%s → 404", async (name) => {
    // without a credential, as an attacker would ask (the asset route is open)
    const res = await h.app.request(`/ui/assets/${name}`, { headers: { authorization: "" } });
    expect(res.status).toBe(404);
  });

  it.each(["app.css", "run.js", "new.js"])("%s → 200", async (name) => {
    const res = await h.app.request(`/ui/assets/${name}`);
    expect(res.status).toBe(200);
    expect((await res.text()).length).toBeGreaterThan(100);
  });
});
