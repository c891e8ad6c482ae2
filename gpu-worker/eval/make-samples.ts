/**
 * Renders the examples' sample inputs with the shapes world's TS renderer (here in
 * gpu-worker/eval/) and writes them into workflows/examples/: the images, and
 * `samples/<name>.json` (not beside the specs, so that `*.json` there are exactly the workflows):
 * the inputs to run it with (`@file` = a file in that folder), the scenes drawn, and the ground
 * truth the model should answer.
 *
 * Every scene is a random draw, `randomScene(rng(seed))`, from the fixed seeds below: the first
 * scene drawn from its seed to which the example's question applies (a condition of the world,
 * stated next to each example, never of what a model answers), drawn with the world's full
 * placement ranges (`placement: "full"`, 128 px). No scene or seed was chosen for the model
 * getting it right; the end-to-end test checks the model against this ground truth.
 *
 * Deterministic: `npx tsx gpu-worker/eval/make-samples.ts` reproduces the committed files byte for byte.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ExampleName, Sample } from "../../workflows/examples/index.js";
import { caption, hypotheses, questions, randomScene, renderPng, rng, VE_LABELS, type Scene } from "./shapes.js";

const here = (f: string) => fileURLToPath(new URL(f, new URL("../../workflows/examples/", import.meta.url)));

/** The seed every draw below starts from (one stream per example, so that examples do not shift each other). */
const SEED = 20_261_100;

/** The ground-truth answer of a question about a scene (throws if the world does not ask it of that scene). */
function answerOf(scene: Scene, question: string): string {
  const q = questions(scene).find((x) => x.question === question);
  if (!q) throw new Error(`the shapes world does not ask "${question}" of this scene`);
  return q.answer;
}

/** The first scene drawn from `rand` for which `applies` holds. */
function firstDraw(rand: () => number, applies: (s: Scene) => boolean = () => true): Scene {
  for (;;) {
    const s = randomScene(rand);
    if (applies(s)) return s;
  }
}

// vqa: "what color is the circle?" is asked only of a scene with exactly one circle.
const vqaQuestion = "what color is the circle?";
const vqaScene = firstDraw(rng(SEED + 1), (s) => questions(s).some((q) => q.question === vqaQuestion));
// vqa-then-explain: "what is on the left?" must name an object (not "nothing"), and only one object
// in the scene may be that object, so that the explanation ("the {shape} on the left is {color}") is
// the only right one.
const explainQuestion = "what is on the left?";
const explainScene = firstDraw(rng(SEED + 2), (s) => !!s[0] && s.filter((o) => o && o.color === s[0]!.color && o.shape === s[0]!.shape).length === 1);
const left = explainScene[0]!;
// caption: any scene.
const captionScene = firstDraw(rng(SEED + 3));
// few-shot, the task (never stated) is the color of the middle object: four scenes with a middle object.
const fewShotRand = rng(SEED + 4);
const [demo1, demo2, demo3, query] = [0, 1, 2, 3].map(() => firstDraw(fewShotRand, (s) => !!s[1])) as [Scene, Scene, Scene, Scene];
const middleColor = (s: Scene) => s[1]!.color;
// text-nli: as training draws it, the premise is a drawn scene's caption, then a label drawn
// uniformly and a hypothesis with that label from the world's hypotheses about the scene
// (gpu-worker/eval/shapes.ts `hypotheses`).
const nliRand = rng(SEED + 5);
const nliScene = firstDraw(nliRand);
const nliLabel = VE_LABELS[Math.floor(nliRand() * VE_LABELS.length)]!;
const nliPool = hypotheses(nliScene, nliRand).filter((h) => h.label === nliLabel);
const nli = nliPool[Math.floor(nliRand() * nliPool.length)]!;

// [file, scene, rendering seed]
const images: Array<[string, Scene, number]> = [
  ["vqa.png", vqaScene, SEED + 11],
  ["vqa-then-explain.png", explainScene, SEED + 12],
  ["caption.png", captionScene, SEED + 13],
  ["few-shot-demo1.png", demo1, SEED + 14],
  ["few-shot-demo2.png", demo2, SEED + 15],
  ["few-shot-demo3.png", demo3, SEED + 16],
  ["few-shot-query.png", query, SEED + 17],
];

const samples: Record<ExampleName, Sample> = {
  vqa: {
    inputs: { image: "@vqa.png", question: vqaQuestion },
    scenes: { image: vqaScene },
    expected: { answer: answerOf(vqaScene, vqaQuestion) },
  },
  "vqa-then-explain": {
    inputs: { image: "@vqa-then-explain.png", question: explainQuestion },
    scenes: { image: explainScene },
    // training's explanation for an entailed "there is {object}": "the {shape} {position} is {color}"
    expected: { answer: answerOf(explainScene, explainQuestion), label: "entailment", explanation: `the ${left.shape} on the left is ${left.color}` },
  },
  caption: {
    inputs: { image: "@caption.png" },
    scenes: { image: captionScene },
    expected: { caption: caption(captionScene) },
  },
  "few-shot": {
    inputs: {
      demo1: "@few-shot-demo1.png",
      answer1: middleColor(demo1),
      demo2: "@few-shot-demo2.png",
      answer2: middleColor(demo2),
      demo3: "@few-shot-demo3.png",
      answer3: middleColor(demo3),
      query: "@few-shot-query.png",
    },
    scenes: { demo1, demo2, demo3, query },
    expected: { answer: middleColor(query) },
  },
  "text-nli": {
    inputs: { premise: caption(nliScene), hypothesis: nli.hypothesis },
    scenes: {},
    expected: { label: nli.label },
  },
};

for (const [file, scene, seed] of images) writeFileSync(here(`./${file}`), renderPng(scene, { size: 128, seed, placement: "full" }));
for (const [name, s] of Object.entries(samples)) writeFileSync(here(`./samples/${name}.json`), `${JSON.stringify(s, null, 2)}\n`);
console.log(`wrote ${images.length} images and ${Object.keys(samples).length} samples to ${here(".")}`);
