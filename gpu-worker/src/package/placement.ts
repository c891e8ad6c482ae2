/**
 * Node placement: which execution provider runs each node of a package's graphs. onnxruntime
 * decides it when a session is created (nodes without a kernel on the provider, and the int64
 * shape arithmetic it deliberately moves to the CPU, run on the CPU provider, with copies to and
 * from the device around them) and reports it only in its verbose log, so each graph is opened in
 * a child process with `logSeverityLevel: 0` and the report is parsed from its stderr.
 *
 *     VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json npx tsx gpu-worker/src/package/placement.ts [package dir] [provider]
 *
 * prints the placement of every graph and exits 1 when the decoder (the graph run once per
 * generated token) has a node on the CPU, or any graph fell back to CPU entirely.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseManifest } from "./manifest.js";

export interface GraphPlacement {
  graph: string;
  provider: string;
  /** Nodes per execution provider, e.g. `{ WebGpuExecutionProvider: 81 }`. */
  counts: Record<string, number>;
  /** The CPU provider's nodes as `OpType (node name)` (empty when every node is on the device). */
  cpuNodes: string[];
  /** Copies between host and device inserted around CPU islands and graph inputs/outputs on the host. */
  memcpyNodes: number;
}

const CPU = "CPUExecutionProvider";
const ortEntry = pathToFileURL(createRequire(import.meta.url).resolve("onnxruntime-node")).href;

// The child creates one session with the same options as `createSession` (the placement depends on
// the graph optimizations) and ORT's verbose logging, then exits.
const CHILD = `
const ort = await import(process.argv[1]);
await ort.InferenceSession.create(process.argv[2], {
  executionProviders: [process.argv[3]], graphOptimizationLevel: "all",
  intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 0, logVerbosityLevel: 0,
});`;

/** Parses ORT's `VerifyEachNodeIsAssignedToAnEp` report out of a verbose session log. */
export function parsePlacement(log: string, graph: string, provider: string): GraphPlacement {
  const counts: Record<string, number> = {};
  const nodes: Record<string, string[]> = {};
  let current: string | null = null;
  let seen = false;
  for (const line of log.split("\n")) {
    const head = /VerifyEachNodeIsAssignedToAnEp\]\s+(All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    if (head) {
      seen = true;
      current = head[2]!;
      counts[current] = (counts[current] ?? 0) + Number(head[3]);
      nodes[current] ??= [];
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s{3}(\S+ \(.*\))\s*$/.exec(line);
    if (node && current) nodes[current]!.push(node[1]!);
    else if (!/VerifyEachNodeIsAssignedToAnEp\]/.test(line)) current = null;
  }
  if (!seen) throw new Error(`${graph}: no node placement report in onnxruntime's verbose log (did the session fail to load?)`);
  const all = Object.values(nodes).flat();
  return { graph, provider, counts, cpuNodes: nodes[CPU] ?? [], memcpyNodes: all.filter((n) => n.startsWith("Memcpy")).length };
}

/** The placement of one graph on `provider` (a child process; ~0.3 s per graph). */
export async function graphPlacement(path: string, provider: string, graph = path): Promise<GraphPlacement> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, ortEntry, path, provider], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    log += s;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0) throw new Error(`${graph}: session creation on "${provider}" failed (exit ${code}): ${log.split("\n").slice(-5).join("\n")}`);
  return parsePlacement(log, graph, provider);
}

/** Placement of every graph of a package, in manifest order (encoders, connectors, embed, decoder). */
export async function packagePlacement(dir: string, provider: string): Promise<GraphPlacement[]> {
  const path = join(dir, "manifest.json");
  const manifest = parseManifest(JSON.parse(await readFile(path, "utf8")), path);
  const graphs = [...manifest.encoders.map((e) => e.graph), ...manifest.connectors.map((c) => c.graph), manifest.decoder.embedGraph, manifest.decoder.graph];
  const out: GraphPlacement[] = [];
  for (const g of graphs) out.push(await graphPlacement(join(dir, g), provider, g));
  return out;
}

export function formatPlacement(rows: readonly GraphPlacement[]): string {
  return rows
    .map((r) => {
      const counts = Object.entries(r.counts)
        .map(([ep, n]) => `${ep.replace("ExecutionProvider", "")} ${n}`)
        .join(", ");
      const cpu = r.cpuNodes.length ? `\n    on CPU: ${r.cpuNodes.join(", ")}` : "";
      return `  ${r.graph.padEnd(24)} ${counts} (memcpy ${r.memcpyNodes})${cpu}`;
    })
    .join("\n");
}

/** Problems that make a package unfit for `provider`: CPU nodes in the decoder, or a graph with no node on the provider. */
export function placementProblems(rows: readonly GraphPlacement[], decoderGraph: string): string[] {
  const problems: string[] = [];
  for (const r of rows) {
    const onDevice = Object.entries(r.counts).some(([ep, n]) => ep !== CPU && n > 0);
    if (r.provider !== "cpu" && !onDevice) problems.push(`${r.graph}: no node on ${r.provider}`);
    if (r.graph === decoderGraph && r.provider !== "cpu" && r.cpuNodes.length) problems.push(`${r.graph}: ${r.cpuNodes.length} node(s) on the CPU`);
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dir = process.argv[2] ?? "gpu-worker/models/metalm-tiny";
  const provider = process.argv[3] ?? "webgpu";
  const rows = await packagePlacement(dir, provider);
  const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as { decoder: { graph: string } };
  console.log(`node placement of ${dir} on ${provider}:\n${formatPlacement(rows)}`);
  const problems = placementProblems(rows, manifest.decoder.graph);
  if (problems.length) {
    console.error(`placement check failed:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
}
