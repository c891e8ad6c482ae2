/**
 * A tampered model package (a graph whose sha256 no longer matches the manifest) and a corrupt one
 * (manifest is not JSON) next to a good one: the worker process refuses both with a clear error
 * naming the package and the file, registers only the good model, and serves runs on it.
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referencePngs } from "../../gpu-worker/src/testing/fixture.js";
import { api, FIXTURE, MODEL, startEdge, startWorker, tempDir, until, vqaSpec, type Edge, type Proc } from "./procs.js";
import { freePort } from "../helpers/net.js";

const data = tempDir("faults-pkg-data-");
const models = tempDir("faults-pkg-models-");
let edge: Edge;
let worker: Proc;

beforeAll(async () => {
  cpSync(FIXTURE, join(models.dir, "good"), { recursive: true });
  const tampered = join(models.dir, "tampered");
  cpSync(FIXTURE, tampered, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(tampered, "manifest.json"), "utf8"));
  manifest.name = "metalm-tiny-tampered";
  writeFileSync(join(tampered, "manifest.json"), JSON.stringify(manifest, null, 2));
  const graph = readFileSync(join(tampered, "vision_encoder.onnx"));
  graph[graph.length - 1] = graph[graph.length - 1]! ^ 0xff; // one flipped bit pattern in the last byte
  writeFileSync(join(tampered, "vision_encoder.onnx"), graph);
  const corrupt = join(models.dir, "corrupt");
  cpSync(FIXTURE, corrupt, { recursive: true });
  writeFileSync(join(corrupt, "manifest.json"), '{"format": "metalm-package/1", "name": ');
  edge = await startEdge(data.dir, await freePort());
  worker = startWorker(edge.url, "pkg-worker", { MODELS_DIR: models.dir });
}, 90_000);

afterAll(async () => {
  await worker?.kill("SIGKILL");
  await edge?.kill("SIGKILL");
  data.remove();
  models.remove();
});

describe("model package integrity", () => {
  it("refuses the tampered and the corrupt package with clear errors and serves the good one", async () => {
    const listed = await until("the worker to register", async () => {
      const r = await api(edge.url, "/v1/models");
      return r.body.models?.length ? r.body.models : undefined;
    });
    expect(listed.map((m: { name: string }) => m.name)).toEqual([MODEL]);
    const log = worker.output();
    expect(log).toMatch(/refusing model package [^\n]*tampered[^\n]*sha256 mismatch for \\?"vision_encoder\.onnx\\?"/);
    expect(log).toMatch(/refusing model package [^\n]*corrupt/);
    const image = `data:image/png;base64,${referencePngs.a!.toString("base64")}`;
    const run = await api(edge.url, "/v1/runs", { spec: vqaSpec(), inputs: { image } }, { prefer: "wait=30" });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body.status).toBe("succeeded");
    const bad = vqaSpec();
    for (const s of bad.steps) if ("model" in s) (s as { model: string }).model = "metalm-tiny-tampered";
    const refused = await api(edge.url, "/v1/runs", { spec: bad, inputs: { image } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.error.details)).toContain("unknown_model");
    expect(worker.child.exitCode).toBeNull();
  }, 120_000);
});
