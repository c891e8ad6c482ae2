/** Loading every model package under MODELS_DIR and describing them for registration. */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ModelAdvert } from "../../../workflows/index.js";
import { ModelRuntime, type RuntimeOptions } from "../ops/runtime.js";
import { loadPackage } from "../package/load.js";
import type { SessionConfig } from "../package/session.js";

/** Package folders: MODELS_DIR itself if it holds a manifest.json, else each subfolder that does. */
export function packageDirs(modelsDir: string): string[] {
  if (existsSync(join(modelsDir, "manifest.json"))) return [modelsDir];
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(modelsDir, d.name, "manifest.json")))
    .map((d) => join(modelsDir, d.name))
    .sort();
}

/**
 * Load every package under `modelsDir`. A package that fails its checks (sha256 mismatch, bad
 * manifest, graph that does not load) is refused — reported through `refuse` with the reason —
 * and the others are served; only when no package loads does this throw.
 */
export async function loadRuntimes(
  modelsDir: string,
  session: SessionConfig,
  opts: RuntimeOptions,
  warn: (m: string) => void,
  refuse: (m: string) => void = warn,
): Promise<Map<string, ModelRuntime>> {
  const dirs = packageDirs(modelsDir);
  if (dirs.length === 0) throw new Error(`no model packages (folders with a manifest.json) under ${modelsDir}`);
  const out = new Map<string, ModelRuntime>();
  const refused: string[] = [];
  for (const dir of dirs) {
    let pkg: Awaited<ReturnType<typeof loadPackage>>;
    try {
      pkg = await loadPackage(dir, session, { warn });
    } catch (e) {
      const msg = `refusing model package ${dir}: ${(e as Error).message}`;
      refused.push(msg);
      refuse(msg);
      continue;
    }
    if (out.has(pkg.manifest.name)) throw new Error(`two packages named "${pkg.manifest.name}" under ${modelsDir}`);
    out.set(pkg.manifest.name, new ModelRuntime(pkg, opts));
  }
  if (out.size === 0) throw new Error(`no usable model package under ${modelsDir}:\n${refused.join("\n")}`);
  return out;
}

export function advertOf(rt: ModelRuntime): ModelAdvert {
  const m = rt.pkg.manifest;
  return {
    name: m.name,
    version: m.version,
    sha256: rt.pkg.sha256,
    encoders: m.encoders.map((e) => ({ name: e.name, modality: e.modality, hiddenSize: e.hiddenSize })),
    connectors: m.connectors.map((c) => ({ name: c.name, encoder: c.encoder })),
    ops: ["encode", "connect", "decode", "explain"],
    vocabSize: m.decoder.vocabSize,
    executionProvider: rt.pkg.executionProvider,
    requestedProviders: rt.pkg.requestedProviders,
    providerFallbacks: rt.pkg.providerFallbacks,
  };
}
