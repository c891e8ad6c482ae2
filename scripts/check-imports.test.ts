import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cycles, importsOf, problems, type Edge } from "./check-imports.js";

const e = (from: string, to: string, typeOnly = false): Edge => ({ from, to, typeOnly });

describe("import graph rules", () => {
  it("reads static, re-export, dynamic and type-only imports, resolving relative ones to .ts files", () => {
    const src = `import { a } from "./a.js";\nimport type { B } from "../b.js";\nimport { type C, type D } from "./c.js";\nexport * from "./e.js";\nconst f = await import("node:fs");\ntype G = import("./g.js").G;\n`;
    expect(importsOf("edge/x/y.ts", src)).toEqual([
      e("edge/x/y.ts", "edge/x/a.ts"),
      e("edge/x/y.ts", "edge/b.ts", true),
      e("edge/x/y.ts", "edge/x/c.ts", true),
      e("edge/x/y.ts", "edge/x/e.ts"),
      e("edge/x/y.ts", "node:fs"),
      e("edge/x/y.ts", "edge/x/g.ts", true),
    ]);
  });

  it("finds a cycle through several modules, and a self-import", () => {
    expect(cycles(["a", "b", "c", "d"], [e("a", "b"), e("b", "c"), e("c", "a"), e("c", "d")])).toEqual([["a", "b", "c"]]);
    expect(cycles(["a"], [e("a", "a")])).toEqual([["a"]]);
    expect(cycles(["a", "b"], [e("a", "b")])).toEqual([]);
  });

  it("flags edge/ cycles (runtime imports only), the core reaching outward, and a web framework in workflows/", () => {
    const files = ["edge/p.ts", "edge/q.ts", "workflows/w.ts", "db/s.ts", "workflows/w.test.ts"];
    expect(problems(files, [e("edge/p.ts", "edge/q.ts"), e("edge/q.ts", "edge/p.ts", true)])).toEqual([]);
    expect(problems(files, [e("edge/p.ts", "edge/q.ts"), e("edge/q.ts", "edge/p.ts")])).toEqual(["import cycle in edge/: edge/p.ts → edge/q.ts"]);
    expect(problems(files, [e("workflows/w.ts", "gpu-worker/src/x.ts", true), e("db/s.ts", "edge/app.ts"), e("workflows/w.test.ts", "edge/app.ts")])).toEqual([
      "workflows/w.ts imports gpu-worker/src/x.ts: workflows/ and db/ must not depend on edge/ or gpu-worker/",
      "db/s.ts imports edge/app.ts: workflows/ and db/ must not depend on edge/ or gpu-worker/",
    ]);
    expect(problems(files, [e("workflows/w.ts", "@hono/zod-openapi"), e("workflows/w.ts", "zod")])).toEqual([
      "workflows/w.ts imports @hono/zod-openapi: workflows/ uses plain zod, no web framework",
    ]);
  });

  it("the repository follows them", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "scripts/check-imports.ts"], { encoding: "utf8" });
    expect(out).toMatch(/import graph: \d+ modules, 0 problems/);
  });
});
