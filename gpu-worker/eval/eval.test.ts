/**
 * The eval harness's mechanics on a small slice with the random-weight fixture (not accuracy):
 * every table is produced, item counts match the slice, metrics are in range, the markdown has all
 * its sections, and an EVAL.md next to a package does not stop it from loading.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadPackage } from "../src/package/load.js";
import { FIXTURE_DIR } from "../src/testing/fixture.js";
import { FULL, FULL_HELD_OUT, renderMarkdown } from "./report.js";
import { fullSplit, jpegSplit, runEval, tsSplit } from "./run.js";
import { FULL_PLACEMENT } from "./shapes.js";

const TESTSETS = fileURLToPath(new URL("../training/testsets", import.meta.url));

describe("eval harness (fixture package, small slice)", () => {
  it("produces every table", async () => {
    const r = await runEval({
      testsetDir: TESTSETS,
      packages: { metalm: FIXTURE_DIR, gpt: FIXTURE_DIR, veExpl: FIXTURE_DIR, veNoexpl: FIXTURE_DIR },
      limit: 2,
      tsScenes: 1,
      tsSizes: [64],
      fullScenes: 2,
      fullHeldOutScenes: 1,
      latencyRuns: 3,
      batch: 3,
    });
    expect(r.nli!.n).toBe(2);
    expect(r.icl!.map((x) => x.k)).toEqual([0, 1, 4]);
    expect(r.caption!.map((c) => [c.split, c.n])).toEqual([
      ["in-domain", 2],
      ["held-out", 2],
      ["other-renderer", 2],
      ["ts-64px", 1],
      [FULL, 2],
      [FULL_HELD_OUT, 1],
      [`${FULL} jpeg`, 2],
      [`${FULL_HELD_OUT} jpeg`, 1],
    ]);
    for (const c of r.caption!) expect(c.cider).toBeGreaterThanOrEqual(0);
    expect(r.vqa!.map((v) => v.split)).toEqual([
      "in-domain",
      "held-out",
      "other-renderer",
      "ts-64px",
      FULL,
      FULL_HELD_OUT,
      `${FULL} jpeg`,
      `${FULL_HELD_OUT} jpeg`,
    ]);
    // placement buckets: every full-placement scene in exactly one bucket per axis
    for (const [split, n] of [
      [FULL, 2],
      [FULL_HELD_OUT, 1],
    ] as const)
      for (const axis of ["vertical", "horizontal"]) {
        const rows = r.placement!.filter((p) => p.split === split && p.axis === axis);
        expect(rows.length).toBe(axis === "vertical" ? 3 : 2);
        expect(rows.reduce((a, p) => a + p.scenes, 0)).toBe(n);
        expect(rows.reduce((a, p) => a + p.questions, 0)).toBe(r.vqa!.find((v) => v.split === split)!.n);
      }
    // visual entailment on generated hypotheses: both label mechanisms, every label and form
    expect(r.veFull!.map((v) => v.split)).toEqual([FULL, FULL_HELD_OUT]);
    for (const v of r.veFull!) {
      for (const x of [v.label, v.labelScored, v.explExact]) expect(x >= 0 && x <= 1).toBe(true);
      expect(Object.values(v.perLabel).reduce((a, e) => a + e.n, 0)).toBe(v.n);
      expect(Object.keys(v.perKind).sort()).toEqual(["at", "count_all", "count_shape", "exists", "neutral", "shape_color"]);
    }
    // vqa-then-explain consistency: 3 positions per scene; scored + nothing + unparsable = asked; right + wrong = scored
    expect(r.consistency!.map((c) => [c.split, c.asked])).toEqual([
      ["in-domain", 6],
      ["held-out", 6],
      ["other-renderer", 6],
      [FULL, 6],
      [FULL_HELD_OUT, 3],
    ]);
    for (const c of r.consistency!) {
      expect(c.scored + c.nothing.n + c.unparsable.n).toBe(c.asked);
      expect(c.right.n + c.wrong.n).toBe(c.scored);
      expect(Object.values(c.labels).reduce((a, b) => a + b, 0)).toBe(c.scored);
    }
    expect(r.latency!.runs).toBe(3);
    expect(r.latency!.p50).toBeGreaterThan(0);
    expect(r.vqa!.find((v) => v.split === "in-domain")!.n).toBe(2);
    expect(r.ve!.length).toBe(3 * 4);
    for (const v of r.ve!) {
      expect(v.label).toBeGreaterThanOrEqual(0);
      expect(v.label).toBeLessThanOrEqual(1);
    }
    expect(r.ve!.filter((v) => v.explBleu !== undefined).length).toBe(8);
    const md = renderMarkdown(r, { command: "test", date: "today", machine: "here", note: "" });
    for (const h of [
      "## Targets (issue 11) at a glance",
      "## 1. Text NLI",
      "## 2. In-context",
      "## 3. Captioning",
      "## 4. Open-ended VQA",
      "## 5. Visual entailment",
      "## 6. Placement offset",
      "## 7. Visual entailment on full placement",
      "## 8. vqa-then-explain",
      "## 9. Latency",
    ])
      expect(md).toContain(h);
    expect(md).toMatch(/\*\*(PASS|MISS)\*\*/);
  }, 60_000);

  it("the TS-renderer split is deterministic", () => {
    const a = tsSplit(2, [64]);
    const b = tsSplit(2, [64]);
    expect(a.map((x) => x.png.equals(b[a.indexOf(x)]!.png))).toEqual([true, true]);
  });

  it("the full-placement splits are deterministic, prefix-stable, sized 64/128/256 and within the world's ranges", () => {
    const a = fullSplit(12, 4);
    const b = fullSplit(3, 1);
    expect(a.filter((x) => x.split === FULL).length).toBe(12);
    expect(b.map((x) => x.png)).toEqual([...a.slice(0, 3), a[12]!].map((x) => x.png));
    expect(new Set(a.map((x) => x.size))).toEqual(new Set([64, 128, 256]));
    for (const x of a) {
      expect(x.layout!.map((l) => l !== null)).toEqual(x.scene.map((o) => o !== null));
      for (const l of x.layout!) {
        if (!l) continue;
        expect(l.cy).toBeGreaterThanOrEqual(FULL_PLACEMENT.cy[0]);
        expect(l.cy).toBeLessThanOrEqual(FULL_PLACEMENT.cy[1]);
        expect(Math.abs(l.dx)).toBeLessThanOrEqual(FULL_PLACEMENT.dx);
      }
    }
  });

  it("the JPEG splits are the first scenes of each full-placement split again, as real JPEGs", () => {
    const full = fullSplit(4, 3);
    const j = jpegSplit(full, 2);
    expect(j.map((x) => x.split)).toEqual([`${FULL} jpeg`, `${FULL} jpeg`, `${FULL_HELD_OUT} jpeg`, `${FULL_HELD_OUT} jpeg`]);
    expect(j.map((x) => x.scene)).toEqual([full[0]!, full[1]!, full[4]!, full[5]!].map((x) => x.scene));
    for (const x of j) expect([...x.png.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
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
