import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { caption, questions } from "../../gpu-worker/eval/shapes.js";
import { catalogFrom, validateWorkflow } from "../index.js";
import { advertOfPackage, EXAMPLE_MODEL, EXAMPLES, FIXTURE_MODEL_DIR, loadExample, sampleInputs, SHIPPED_MODEL_DIR, shippedOrFixture, withModel } from "./index.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The sample's inputs as the validator sees them after the edge stored the images. */
function resolvedInputs(name: (typeof EXAMPLES)[number]) {
  const { values, files } = sampleInputs(loadExample(name).sample);
  const images = Object.fromEntries(Object.entries(files).map(([k, b]) => [k, { sha256: sha256(b), mime: "image/png" }]));
  return { ...values, ...images };
}

const OUTPUTS: Record<(typeof EXAMPLES)[number], string[]> = {
  vqa: ["answer"],
  "vqa-then-explain": ["answer", "label", "explanation"],
  caption: ["caption"],
  "few-shot": ["answer"],
  "text-nli": ["label"],
};

describe("example workflows", () => {
  const real = shippedOrFixture().fixture ? null : SHIPPED_MODEL_DIR;

  it.each(EXAMPLES)("%s validates against the fixture package's catalog (model renamed) with its sample inputs", async (name) => {
    const advert = await advertOfPackage(FIXTURE_MODEL_DIR);
    const spec = withModel(loadExample(name).spec, advert.name);
    const r = validateWorkflow(spec, resolvedInputs(name), catalogFrom([advert]));
    expect(r.ok ? {} : r.errors).toEqual({});
  });

  it.skipIf(!real).each(EXAMPLES)("%s validates against the shipped metalm-tiny catalog as written (skipped while gpu-worker/models/metalm-tiny is missing)", async (name) => {
    const advert = await advertOfPackage(real!);
    expect(advert.name).toBe(EXAMPLE_MODEL);
    const r = validateWorkflow(loadExample(name).spec, resolvedInputs(name), catalogFrom([advert]));
    expect(r.ok ? {} : r.errors).toEqual({});
  });

  it.each(EXAMPLES)("%s declares the outputs the README promises and names itself after its file", (name) => {
    const r = validateWorkflow(loadExample(name).spec);
    if (!r.ok) throw r.error;
    expect(r.spec.name).toBe(name);
    expect(Object.keys(r.spec.outputs ?? {}).sort()).toEqual([...OUTPUTS[name]].sort());
    expect(Object.keys(loadExample(name).sample.expected).sort()).toEqual([...OUTPUTS[name]].sort());
  });

  it("the samples' ground truth agrees with the shapes world", () => {
    const vqa = loadExample("vqa").sample;
    expect(questions(vqa.scenes.image!).find((q) => q.question === vqa.inputs.question)?.answer).toBe(vqa.expected.answer);
    const cap = loadExample("caption").sample;
    expect(caption(cap.scenes.image!)).toBe(cap.expected.caption);
    const ve = loadExample("vqa-then-explain").sample;
    expect(questions(ve.scenes.image!).find((q) => q.question === ve.inputs.question)?.answer).toBe(ve.expected.answer);
  });
});
