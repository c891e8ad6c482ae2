/**
 * Loads a model package folder: validates the manifest, checks every file's sha256, builds the
 * tokenizer and creates one onnxruntime session per graph.
 */
import { sha256Hex } from "../../../workflows/index.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { KV_GATHER_ONNX_BASE64 } from "../generate/kv-gather.gen.js";
import type { KvDevice } from "../generate/kv-cache.js";
import { Tokenizer } from "../tokenizer/index.js";
import { kvName, parseManifest, PackageError, type ConnectorSpec, type EncoderSpec, type KvCacheSpec, type Manifest } from "./manifest.js";
import {
  createSession,
  defaultSessionConfig,
  ortVersion,
  requestedProviders,
  type Logger,
  type ProviderFallback,
  type Session,
  type SessionConfig,
} from "./session.js";

export interface ModelPackage {
  dir: string;
  manifest: Manifest;
  /** sha256 of manifest.json's bytes: it pins every file's sha256, so it identifies the whole package. */
  sha256: string;
  tokenizerSha256: string;
  tokenizer: Tokenizer;
  /** The provider its sessions actually run on (`webgpu`, `cpu`; `webgpu+cpu` if only some graphs loaded on webgpu). */
  executionProvider: string;
  /** The configured providers in order of preference (CPU last). */
  requestedProviders: string[];
  /** Preferred providers that could not be used for some graph of this package, with the reason. Empty = no fallback. */
  providerFallbacks: ProviderFallback[];
  ortVersion: string;
  encoders: Map<string, { spec: EncoderSpec; session: Session; sha256: string }>;
  connectors: Map<string, { spec: ConnectorSpec; session: Session; sha256: string }>;
  embed: Session;
  decoder: Session;
  /** Set when the decoder keeps its KV cache on the device (WebGPU); undefined = on the CPU. */
  kvDevice?: KvDevice;
  release(): Promise<void>;
}

/** Reads `manifest.json` and checks every listed file's sha256. Throws `PackageError` naming the file. */
export async function readVerifiedManifest(dir: string): Promise<{ manifest: Manifest; sha256: string }> {
  const path = join(dir, "manifest.json");
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (e) {
    throw new PackageError(`cannot read ${path}: ${(e as Error).message}`, "manifest.json");
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw new PackageError(`${path} is not valid JSON: ${(e as Error).message}`, "manifest.json");
  }
  const manifest = parseManifest(json, path);
  for (const [file, expected] of Object.entries(manifest.files)) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, file));
    } catch {
      throw new PackageError(`package ${manifest.name}: file "${file}" is listed in manifest.json but missing from ${dir}`, file);
    }
    const actual = sha256Hex(bytes);
    if (actual !== expected) {
      throw new PackageError(`package ${manifest.name}: sha256 mismatch for "${file}": manifest says ${expected}, file is ${actual}`, file);
    }
  }
  return { manifest, sha256: sha256Hex(raw) };
}

/**
 * Loads and verifies a package, creating its sessions.
 * @example const pkg = await loadPackage("gpu-worker/models/metalm-tiny", { executionProviders: ["cuda", "cpu"], intraOpNumThreads: 1, interOpNumThreads: 1 });
 */
export async function loadPackage(dir: string, cfg: SessionConfig = defaultSessionConfig, log: Logger = console): Promise<ModelPackage> {
  const { manifest, sha256 } = await readVerifiedManifest(dir);
  const tokenizer = Tokenizer.fromJSON(JSON.parse(await readFile(join(dir, manifest.tokenizer), "utf8")), manifest.tokenizer);
  const providers = new Set<string>();
  const fallbacks = new Map<string, ProviderFallback>();
  let decoderProvider = "cpu";
  const open = async (file: string, deviceOutputs: readonly string[] = []) => {
    const r = await createSession(join(dir, file), cfg, log, deviceOutputs);
    providers.add(r.executionProvider);
    for (const f of r.fallbacks) if (!fallbacks.has(f.provider)) fallbacks.set(f.provider, f);
    if (file === manifest.decoder.graph) decoderProvider = r.executionProvider;
    return r.session;
  };
  const encoders = new Map<string, { spec: EncoderSpec; session: Session; sha256: string }>();
  for (const spec of manifest.encoders) encoders.set(spec.name, { spec, session: await open(spec.graph), sha256: manifest.files[spec.graph]! });
  const connectors = new Map<string, { spec: ConnectorSpec; session: Session; sha256: string }>();
  for (const spec of manifest.connectors) connectors.set(spec.name, { spec, session: await open(spec.graph), sha256: manifest.files[spec.graph]! });
  const embed = await open(manifest.decoder.embedGraph);
  // WebGPU: the decoder's present.* outputs stay on the device and come back as the next past
  let gather = requestedProviders(cfg).includes("webgpu") && cfg.kvOnDevice !== false ? await kvGatherSession(cfg, log) : undefined;
  const decoder = await open(manifest.decoder.graph, gather ? presentNames(manifest.decoder.kvCache) : []);
  if (gather && decoderProvider !== "webgpu") {
    await gather.release();
    gather = undefined;
  }
  const kvDevice = gather ? kvDeviceOf(gather) : undefined;
  const all = [...[...encoders.values()].map((e) => e.session), ...[...connectors.values()].map((c) => c.session), embed, decoder, ...(gather ? [gather] : [])];
  const executionProvider = [...providers].join("+");
  if (fallbacks.size) {
    // one line per model, whatever the per-graph warnings above said: what this model runs on, and why
    log.warn(
      `model ${manifest.name}: execution providers requested ${requestedProviders(cfg).join(",")}, running on ${executionProvider} — fallback from ${[...fallbacks.values()].map((f) => `${f.provider} (${f.reason})`).join("; ")}`,
    );
  }
  return {
    dir,
    manifest,
    sha256,
    tokenizerSha256: manifest.files[manifest.tokenizer]!,
    tokenizer,
    executionProvider,
    requestedProviders: requestedProviders(cfg),
    providerFallbacks: [...fallbacks.values()],
    ortVersion,
    encoders,
    connectors,
    embed,
    decoder,
    kvDevice,
    release: async () => {
      await Promise.all(all.map((s) => s.release()));
    },
  };
}

function presentNames(spec: KvCacheSpec): string[] {
  return Array.from({ length: spec.layers }, (_, i) => [kvName(spec.presentKey, i), kvName(spec.presentValue, i)]).flat();
}

/** The KV row-gather graph on WebGPU with its output left on the device, or undefined if WebGPU cannot run it. */
async function kvGatherSession(cfg: SessionConfig, log: Logger): Promise<Session | undefined> {
  const r = await createSession(
    Buffer.from(KV_GATHER_ONNX_BASE64, "base64"),
    { ...cfg, executionProviders: ["webgpu"] },
    { ...log, warn: () => {} }, // a WebGPU that cannot load is reported once, by the package's own graphs
    ["y"],
  );
  if (r.executionProvider === "webgpu") return r.session;
  await r.session.release();
  return undefined;
}

function kvDeviceOf(gather: Session): KvDevice {
  return {
    provider: "webgpu",
    gather: async (x, rows) => {
      const out = await gather.run({ x, rows: new ort.Tensor("int64", BigInt64Array.from(rows, BigInt), [rows.length]) });
      return out.y as ort.Tensor;
    },
  };
}
