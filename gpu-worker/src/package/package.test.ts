import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURE_DIR, fixturePackage } from "../testing/fixture.js";
import { loadPackage, readVerifiedManifest } from "./load.js";
import { PackageError, parseManifest } from "./manifest.js";
import { checkedRun, createSession, FeedError } from "./session.js";

const dirs: string[] = [];
const copyFixture = () => {
  const d = mkdtempSync(join(tmpdir(), "pkg-"));
  cpSync(FIXTURE_DIR, d, { recursive: true });
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const manifestJson = () => JSON.parse(readFileSync(join(FIXTURE_DIR, "manifest.json"), "utf8"));

describe("model package loading", () => {
  it("loads the fixture, verifying every file", async () => {
    const pkg = await fixturePackage();
    expect(pkg.manifest.name).toBe("metalm-tiny-fixture");
    expect(pkg.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(pkg.executionProvider).toBe("cpu");
    expect([...pkg.encoders.keys()]).toEqual(["vision", "text"]);
    expect(pkg.decoder.inputNames).toContain("past_key_values.0.key");
  });

  it("names the file whose sha256 does not match", async () => {
    const d = copyFixture();
    const bytes = readFileSync(join(d, "embed.onnx"));
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(join(d, "embed.onnx"), bytes);
    const err = await readVerifiedManifest(d).catch((e) => e);
    expect(err).toBeInstanceOf(PackageError);
    expect(err.file).toBe("embed.onnx");
    expect(err.message).toMatch(/sha256 mismatch for "embed.onnx"/);
  });

  it("names a listed file that is missing", async () => {
    const d = copyFixture();
    rmSync(join(d, "text_connector.onnx"));
    await expect(loadPackage(d)).rejects.toThrow(/"text_connector.onnx" is listed in manifest.json but missing/);
  });

  it("rejects invalid manifests with every problem and its path", () => {
    expect(() => parseManifest({ ...manifestJson(), format: "metalm-package/2" })).toThrow(/format: .*metalm-package\/1/);
    const m = manifestJson();
    m.decoder.specialTokens.eos = 999;
    m.connectors[0].encoder = "audio";
    delete m.files["decoder.onnx"];
    try {
      parseManifest(m);
      throw new Error("expected a PackageError");
    } catch (e) {
      expect(e).toBeInstanceOf(PackageError);
      const msg = (e as Error).message;
      expect(msg).toMatch(/decoder\.specialTokens\.eos: token id 999/);
      expect(msg).toMatch(/connectors\.0\.encoder: unknown encoder "audio"/);
      expect(msg).toMatch(/decoder\.graph: "decoder.onnx" is not listed in files/);
    }
    expect(() => parseManifest({ ...manifestJson(), files: { "../etc/passwd": "0".repeat(64) } })).toThrow(/files\.\.\.\/etc\/passwd/);
  });

  it("rejects unreadable or non-JSON manifests", async () => {
    const d = copyFixture();
    writeFileSync(join(d, "manifest.json"), "{ nope");
    await expect(readVerifiedManifest(d)).rejects.toThrow(/not valid JSON/);
    await expect(readVerifiedManifest(join(d, "missing"))).rejects.toThrow(/cannot read/);
  });

  it("falls back to CPU with a warning when CUDA is configured but absent", async () => {
    const warnings: string[] = [];
    const { session, executionProvider } = await createSession(
      join(FIXTURE_DIR, "embed.onnx"),
      { executionProviders: ["cuda", "cpu"], intraOpNumThreads: 1, interOpNumThreads: 1 },
      { warn: (m) => warnings.push(m) },
    );
    expect(executionProvider).toBe("cpu");
    expect(warnings.join("\n")).toMatch(/cuda/);
    await session.release();
  });
});

describe("checkedRun", () => {
  it("rejects missing, unknown and wrongly typed feeds, naming the graph", async () => {
    const pkg = await fixturePackage();
    const ids = new ort.Tensor("int64", BigInt64Array.from([1n, 2n]), [1, 2]);
    await expect(checkedRun(pkg.embed, {}, "embed.onnx")).rejects.toThrow(/embed.onnx: missing input\(s\) "input_ids"/);
    await expect(checkedRun(pkg.embed, { input_ids: ids, extra: ids }, "embed.onnx")).rejects.toThrow(/unknown input\(s\) "extra"/);
    await expect(checkedRun(pkg.embed, { input_ids: new ort.Tensor("int32", Int32Array.from([1, 2]), [1, 2]) }, "embed.onnx")).rejects.toThrow(FeedError);
    await expect(checkedRun(pkg.embed, { input_ids: new ort.Tensor("int32", Int32Array.from([1, 2]), [1, 2]) })).rejects.toThrow(
      /dtype int32, graph expects int64/,
    );
    await expect(checkedRun(pkg.embed, { input_ids: new ort.Tensor("int64", BigInt64Array.from([1n]), [1]) })).rejects.toThrow(/rank 1/);
    const ok = await checkedRun(pkg.embed, { input_ids: ids });
    expect(ok.inputs_embeds!.dims).toEqual([1, 2, pkg.manifest.decoder.hiddenSize]);
  });
});
