import { describe, expect, it } from "vitest";
import { caption, questions, type Scene } from "../../gpu-worker/eval/shapes.js";
import { advertOfPackage, FIXTURE_MODEL_DIR, SHIPPED_MODEL_DIR, shippedOrFixture } from "../../gpu-worker/src/package/shipped.js";
import { catalogFrom, sha256Hex, validateWorkflow } from "../index.js";
import { EXAMPLE_MODEL, EXAMPLES, loadExample, sampleInputs, withModel } from "./index.js";

/** The sample's inputs as the validator sees them after the edge stored the images. */
async function resolvedInputs(name: (typeof EXAMPLES)[number]) {
  const { values, files } = await sampleInputs((await loadExample(name)).sample);
  const images = Object.fromEntries(Object.entries(files).map(([k, b]) => [k, { sha256: sha256Hex(b), mime: "image/png" }]));
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
    const spec = withModel((await loadExample(name)).spec, advert.name);
    const r = validateWorkflow(spec, await resolvedInputs(name), catalogFrom([advert]));
    expect(r.ok ? {} : r.errors).toEqual({});
  });

  it.skipIf(!real).each(EXAMPLES)(
    "%s validates against the shipped metalm-tiny catalog as written (skipped while gpu-worker/models/metalm-tiny is missing)",
    async (name) => {
      const advert = await advertOfPackage(real!);
      expect(advert.name).toBe(EXAMPLE_MODEL);
      const r = validateWorkflow((await loadExample(name)).spec, await resolvedInputs(name), catalogFrom([advert]));
      expect(r.ok ? {} : r.errors).toEqual({});
    },
  );

  it.each(EXAMPLES)("%s declares the outputs the README promises and names itself after its file", async (name) => {
    const ex = await loadExample(name);
    const r = validateWorkflow(ex.spec);
    if (!r.ok) throw r.error;
    expect(r.spec.name).toBe(name);
    expect(Object.keys(r.spec.outputs ?? {}).sort()).toEqual([...OUTPUTS[name]].sort());
    expect(Object.keys(ex.sample.expected).sort()).toEqual([...OUTPUTS[name]].sort());
  });

  it("the samples' ground truth agrees with the shapes world", async () => {
    const scene = (s: { scenes: Record<string, unknown> }) => s.scenes.image as Scene;
    const vqa = (await loadExample("vqa")).sample;
    expect(questions(scene(vqa)).find((q) => q.question === vqa.inputs.question)?.answer).toBe(vqa.expected.answer);
    const cap = (await loadExample("caption")).sample;
    expect(caption(scene(cap))).toBe(cap.expected.caption);
    const ve = (await loadExample("vqa-then-explain")).sample;
    expect(questions(scene(ve)).find((q) => q.question === ve.inputs.question)?.answer).toBe(ve.expected.answer);
  });
});
