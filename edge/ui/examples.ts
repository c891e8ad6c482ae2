/**
 * Example workflows for the new-run page: `workflows/examples/*.json` (bare specs), read when the
 * page is rendered so a new example shows up without a restart. On a runtime without a file
 * system (Workers) the list is simply empty and the page falls back to saved workflows.
 */
export interface Example {
  /** File name without `.json`. */
  name: string;
  description: string | undefined;
  /** The file's text, as written (so its layout survives into the editor). */
  text: string;
}

const DIR = new URL("../../workflows/examples/", import.meta.url);

export async function loadExamples(dir: URL = DIR): Promise<Example[]> {
  try {
    const fs = await import("node:fs/promises");
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith(".json")).sort();
    const out: Example[] = [];
    for (const f of files) {
      const text = await fs.readFile(new URL(f, dir), "utf8");
      let description: string | undefined;
      try {
        const j = JSON.parse(text) as { description?: unknown };
        if (typeof j.description === "string") description = j.description;
      } catch {
        continue; // a broken example is skipped, not shown
      }
      out.push({ name: f.slice(0, -".json".length), description, text });
    }
    // the flagship example first
    return out.sort((a, b) => Number(b.name === "vqa-then-explain") - Number(a.name === "vqa-then-explain"));
  } catch {
    return [];
  }
}
