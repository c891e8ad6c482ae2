/**
 * onnxruntime-node sessions: execution-provider selection with CPU fallback, and `checkedRun`,
 * which checks every feed against the graph's declared inputs before running it.
 */
import * as ort from "onnxruntime-node";

// onnxruntime's own logger prints a provider that fails to load (e.g. CUDA on a CPU-only build)
// as a red native error line, although the fallback below handles it and logs one warning of its
// own with the reason. Its output is for debugging ORT itself: ORT_LOG_LEVEL=warning shows it.
// (Read once, when the first session initialises ORT's environment.)
const ORT_LOG_LEVELS = ["verbose", "info", "warning", "error", "fatal"] as const;
const ortLogLevel = (globalThis.process?.env?.ORT_LOG_LEVEL ?? "fatal") as (typeof ORT_LOG_LEVELS)[number];
ort.env.logLevel = ORT_LOG_LEVELS.includes(ortLogLevel) ? ortLogLevel : "fatal";

export type Session = ort.InferenceSession;
export type Feeds = Record<string, ort.Tensor>;
export type Logger = { warn: (msg: string) => void; info?: (msg: string) => void };

export interface SessionConfig {
  /** In order of preference, e.g. `["cuda", "cpu"]`. CPU is always appended as the last resort. */
  executionProviders: string[];
  intraOpNumThreads: number;
  interOpNumThreads: number;
  /**
   * On WebGPU, keep the decoder's KV cache on the device between calls (default true; the worker's
   * `KV_ON_DEVICE=0` turns it off, e.g. to measure the copy it saves). No effect on the CPU.
   */
  kvOnDevice?: boolean;
}

export const defaultSessionConfig: SessionConfig = { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1 };

export const ortVersion: string = ort.env.versions?.common ?? "unknown";

/** The providers this onnxruntime-node binary actually ships (`cuda` is not bundled on CPU builds). */
export function availableProviders(): Set<string> {
  const fn = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends;
  const list = fn ? fn() : [{ name: "cpu", bundled: true }];
  // `bundled: false` means the provider needs a separately installed library that may be absent;
  // we still try it (session creation fails cleanly if it is missing) and fall back to CPU.
  return new Set(list.map((b) => b.name));
}

/** A configured execution provider that could not be used, and why (ORT's first error line). */
export interface ProviderFallback {
  provider: string;
  reason: string;
}

/**
 * Providers that failed to initialise in this process, with the reason (a missing CUDA library or
 * no WebGPU adapter fails every graph: each is tried once per process, then skipped).
 */
const brokenProviders = new Map<string, string>();

/** The configured providers in order of preference, normalized, with CPU appended as the last resort. */
export function requestedProviders(cfg: SessionConfig): string[] {
  const wanted = [...new Set(cfg.executionProviders.map((p) => p.trim().toLowerCase()).filter(Boolean))];
  if (!wanted.includes("cpu")) wanted.push("cpu");
  return wanted;
}

/**
 * Creates a session with the first configured execution provider that works, falling back to CPU
 * with a logged warning. onnxruntime itself never reports which provider it ended up with, so the
 * session is created with exactly one provider at a time: the one that succeeds is the one used
 * (ORT still places the nodes that provider has no kernel for on the CPU inside it). Returns that
 * provider (for receipts) and every preferred provider that was skipped, with the reason.
 */
export async function createSession(
  path: string | Uint8Array,
  cfg: SessionConfig = defaultSessionConfig,
  log: Logger = console,
  /** Outputs to leave on the device when the session runs on WebGPU (fed back as inputs without a copy). */
  deviceOutputs: readonly string[] = [],
): Promise<{ session: Session; executionProvider: string; fallbacks: ProviderFallback[] }> {
  const available = availableProviders();
  const wanted = requestedProviders(cfg);
  const fallbacks: ProviderFallback[] = [];
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: cfg.intraOpNumThreads,
    interOpNumThreads: cfg.interOpNumThreads,
    graphOptimizationLevel: "all",
  };
  for (const ep of wanted) {
    const known = brokenProviders.get(ep);
    if (ep !== "cpu" && known !== undefined) {
      fallbacks.push({ provider: ep, reason: known }); // warned about when it failed
      continue;
    }
    if (ep !== "cpu" && !available.has(ep)) {
      const reason = `not supported by this onnxruntime-node build (it has: ${[...available].join(", ")})`;
      log.warn(`execution provider "${ep}" ${reason}; trying the next one (CPU fallback)`);
      brokenProviders.set(ep, reason);
      fallbacks.push({ provider: ep, reason });
      continue;
    }
    try {
      const opts: ort.InferenceSession.SessionOptions = { ...base, executionProviders: [ep] };
      if (ep === "webgpu" && deviceOutputs.length) opts.preferredOutputLocation = Object.fromEntries(deviceOutputs.map((n) => [n, "gpu-buffer" as const]));
      const session = typeof path === "string" ? await ort.InferenceSession.create(path, opts) : await ort.InferenceSession.create(path, opts);
      return { session, executionProvider: ep, fallbacks };
    } catch (e) {
      if (ep === "cpu") throw e;
      // a provider whose library or device cannot load fails for every graph: try it once per process
      const reason = firstErrorLine(e);
      brokenProviders.set(ep, reason);
      fallbacks.push({ provider: ep, reason });
      log.warn(
        `execution provider "${ep}" failed for ${typeof path === "string" ? path : "an in-memory graph"} (${reason}); falling back to the next provider for this process`,
      );
    }
  }
  throw new Error("unreachable: cpu provider always tried");
}

/** ORT's messages start with a source location; the reason is the part after it, on the first line. */
function firstErrorLine(e: unknown): string {
  const line = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim();
  const m = /\S+\.(?:cc|cpp|h):\d+ .*?(?:was false\. )(.*)$/.exec(line);
  return (m?.[1] ?? line).slice(0, 300);
}

/** A feed did not match the graph's inputs. Names the graph and the feed. Never retryable. */
export class FeedError extends Error {
  override name = "FeedError";
}

/**
 * Runs `session` after checking `feeds` against `session.inputNames` and input metadata:
 * missing inputs, unknown inputs, dtype and rank mismatches each raise a `FeedError` naming the graph.
 * @example const out = await checkedRun(decoder, { inputs_embeds, attention_mask, position_ids }, "decoder.onnx");
 */
export async function checkedRun(session: Session, feeds: Feeds, graph = "graph"): Promise<Record<string, ort.Tensor>> {
  checkFeeds(session, feeds, graph);
  return (await session.run(feeds)) as Record<string, ort.Tensor>;
}

export function checkFeeds(session: Session, feeds: Feeds, graph = "graph"): void {
  const names = new Set(session.inputNames);
  const problems: string[] = [];
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) problems.push(`missing input(s) ${missing.map((n) => `"${n}"`).join(", ")}`);
  const unknown = Object.keys(feeds).filter((n) => !names.has(n));
  if (unknown.length) problems.push(`unknown input(s) ${unknown.map((n) => `"${n}"`).join(", ")} (graph inputs: ${session.inputNames.join(", ")})`);
  for (const meta of session.inputMetadata) {
    const t = feeds[meta.name];
    if (!t || !meta.isTensor) continue;
    if (t.type !== meta.type) problems.push(`input "${meta.name}" has dtype ${t.type}, graph expects ${meta.type}`);
    if (meta.shape.length && t.dims.length !== meta.shape.length) {
      problems.push(`input "${meta.name}" has rank ${t.dims.length} [${t.dims.join(",")}], graph expects rank ${meta.shape.length} [${meta.shape.join(",")}]`);
    } else {
      meta.shape.forEach((d, i) => {
        if (typeof d === "number" && d >= 0 && t.dims[i] !== d) problems.push(`input "${meta.name}" dim ${i} is ${t.dims[i]}, graph expects ${d}`);
      });
    }
  }
  if (problems.length) throw new FeedError(`${graph}: ${problems.join("; ")}`);
}
