import { describe, expect, it } from "vitest";
import { parsePlacement, placementProblems } from "./placement.js";

// Lines as onnxruntime 1.30 prints them (session_state.cc VerifyEachNodeIsAssignedToAnEp), trimmed.
const V = "[V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]";
const mixed = [
  "[V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp] Node placements",
  `${V.replace("1385", "1383")}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 2`,
  `${V}   Gather (/dec/Gather)`,
  `${V}   Range (/dec/Range)`,
  `${V.replace("1385", "1383")}  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 3`,
  `${V}   MemcpyFromHost (Memcpy)`,
  `${V}   MatMul (/dec/MatMul)`,
  `${V}   Add (/dec/Add)`,
  "[I:onnxruntime:, inference_session.cc:2100 Initialize] Session successfully initialized.",
].join("\n");

describe("node placement report", () => {
  it("parses counts, the CPU nodes and the host copies", () => {
    const p = parsePlacement(mixed, "decoder.onnx", "webgpu");
    expect(p.counts).toEqual({ CPUExecutionProvider: 2, WebGpuExecutionProvider: 3 });
    expect(p.cpuNodes).toEqual(["Gather (/dec/Gather)", "Range (/dec/Range)"]);
    expect(p.memcpyNodes).toBe(1);
    expect(placementProblems([p], "decoder.onnx")).toEqual(["decoder.onnx: 2 node(s) on the CPU"]);
    // CPU islands in another graph are reported, not failed
    expect(placementProblems([{ ...p, graph: "vision_encoder.onnx" }], "decoder.onnx")).toEqual([]);
  });

  it("reads the all-on-one-provider form and fails a graph that fell back to the CPU entirely", () => {
    const all = `${V.replace("1385", "1383")}  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 81`;
    const p = parsePlacement(all, "decoder.onnx", "webgpu");
    expect(p).toMatchObject({ counts: { WebGpuExecutionProvider: 81 }, cpuNodes: [], memcpyNodes: 0 });
    expect(placementProblems([p], "decoder.onnx")).toEqual([]);
    const cpu = parsePlacement(all.replace("WebGpu", "CPU"), "embed.onnx", "webgpu");
    expect(placementProblems([cpu], "decoder.onnx")).toEqual(["embed.onnx: no node on webgpu"]);
  });

  it("refuses a log without a placement report", () => {
    expect(() => parsePlacement("nothing here", "decoder.onnx", "webgpu")).toThrow(/no node placement report/);
  });
});
