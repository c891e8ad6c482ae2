/**
 * The benchmarks' session settings from the environment, the same knobs a worker has:
 * `EXECUTION_PROVIDERS` (comma-separated, in order; default `cpu`; CPU is always the last resort)
 * and `CPU_THREADS` (onnxruntime intra-op threads; default 1 — the `cpu@8` of issue 14's table is
 * `CPU_THREADS=8`). `providerLine` names the provider a package's sessions actually run on, so a
 * silent fallback cannot pass for a GPU number.
 */
import type { ModelPackage } from "../gpu-worker/src/package/load.js";
import type { SessionConfig } from "../gpu-worker/src/package/session.js";
import { configFromEnv } from "../gpu-worker/src/worker/config.js";

/** @example const cfg = benchSessionConfig(); // EXECUTION_PROVIDERS=webgpu CPU_THREADS=8 → { executionProviders: ["webgpu"], intraOpNumThreads: 8, … } */
export function benchSessionConfig(env: Record<string, string | undefined> = process.env): SessionConfig {
  // the worker's own parser: the same names, defaults and validation
  const cfg = configFromEnv({
    EXECUTION_PROVIDERS: env.EXECUTION_PROVIDERS,
    INTRA_OP_THREADS: env.CPU_THREADS ?? env.INTRA_OP_THREADS,
    KV_ON_DEVICE: env.KV_ON_DEVICE,
  });
  return { executionProviders: cfg.executionProviders, intraOpNumThreads: cfg.intraOpNumThreads, interOpNumThreads: 1, kvOnDevice: cfg.kvOnDevice };
}

/** "provider webgpu (requested webgpu,cpu), 1 intra-op thread" — plus the fallback, loudly, if any. */
export function providerLine(pkg: ModelPackage, cfg: SessionConfig): string {
  const fell = pkg.providerFallbacks.map((f) => `${f.provider} FAILED: ${f.reason}`).join("; ");
  const kv = pkg.kvDevice ? `, KV cache on ${pkg.kvDevice.provider}` : "";
  return `provider ${pkg.executionProvider} (requested ${pkg.requestedProviders.join(",")}), ${cfg.intraOpNumThreads} intra-op thread${cfg.intraOpNumThreads === 1 ? "" : "s"}${kv}${fell ? ` — FALLBACK: ${fell}` : ""}`;
}
