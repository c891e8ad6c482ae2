/**
 * The eval harness's mechanics on a small slice with the random-weight fixture (not accuracy):
 * every table is produced, item counts match the slice, metrics are in range, the markdown has the
 * five sections, and an EVAL.md next to a package does not stop it from loading.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadPackage } from "../src/package/load.js";
import { FIXTURE_DIR } from "../src/testing/fixture.js";
import { renderMarkdown, runEval, tsSplit } from "./run.js";

const TESTSETS = fileURLToPath(new URL("../training/testsets", import.meta.url));

describe("eval harness (fixture package, small slice)", () => {
  it("produces all five tables", async () => {
    const r = await runEval({
      testsetDir: TESTSETS,
      packages: { metalm: FIXTURE_DIR, gpt: FIXTURE_DIR, veExpl: FIXTURE_DIR, veNoexpl: FIXTURE_DIR },
      limit: 2,
      tsScenes: 1,
      tsSizes: [64],
      batch: 3,
    });
    expect(r.nli!.n).toBe(2);
    expect(r.icl!.map((x) => x.k)).toEqual([0, 1, 4]);
    expect(r.caption!.map((c) => [c.split, c.n])).toEqual([
      ["in-domain", 2],
      ["held-out", 2],
      ["other-renderer", 2],
      ["ts-64px", 1],
    ]);
    for (const c of r.caption!) expect(c.cider).toBeGreaterThanOrEqual(0);
    expect(r.vqa!.map((v) => v.split)).toEqual(["in-domain", "held-out", "other-renderer", "ts-64px"]);
    expect(r.vqa!.find((v) => v.split === "in-domain")!.n).toBe(2);
    expect(r.ve!.length).toBe(3 * 4);
    for (const v of r.ve!) {
      expect(v.label).toBeGreaterThanOrEqual(0);
      expect(v.label).toBeLessThanOrEqual(1);
    }
    expect(r.ve!.filter((v) => v.explBleu !== undefined).length).toBe(8);
    const md = renderMarkdown(r, { command: "test", date: "today", machine: "here", note: "" });
    for (const h of ["## 1. Text NLI", "## 2. In-context", "## 3. Captioning", "## 4. Open-ended VQA", "## 5. Visual entailment"]) expect(md).toContain(h);
    expect(md).toMatch(/\*\*(PASS|MISS)\*\*/);
  }, 60_000);

  it("the TS-renderer split is deterministic", () => {
    const a = tsSplit(2, [64]);
    const b = tsSplit(2, [64]);
    expect(a.map((x) => x.png.equals(b[a.indexOf(x)]!.png))).toEqual([true, true]);
  });

  it("an EVAL.md in a package folder does not break loading (the loader checks only files the manifest lists)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "evalpkg-"));
    try {
      for (const f of readdirSync(FIXTURE_DIR)) copyFileSync(join(FIXTURE_DIR, f), join(dir, f));
      writeFileSync(join(dir, "EVAL.md"), "# eval\n");
      const pkg = await loadPackage(dir, undefined, { warn: () => {} });
      expect(pkg.manifest.files["EVAL.md"]).toBeUndefined();
      await pkg.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
