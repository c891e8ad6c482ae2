/**
 * Shared test fixtures: the VQA-then-explain spec of docs/CONTRACTS.md §1 and a catalog with
 * `metalm-tiny`. Pure data, exported so the edge and worker tests can reuse them.
 */
import type { WorkflowSpecInput } from "./spec.js";
import type { ModelAdvert, ModelCatalog } from "./wire.js";

/** sha256 of the fixture model (any 64 hex digits). */
export const TINY_SHA = "a".repeat(64);

/** The `metalm-tiny` advert used by tests. */
export const tinyAdvert: ModelAdvert = {
  name: "metalm-tiny",
  version: "0.1.0",
  sha256: TINY_SHA,
  encoders: [
    { name: "vision", modality: "image", hiddenSize: 128 },
    { name: "text", modality: "text", hiddenSize: 128 },
  ],
  connectors: [
    { name: "vision", encoder: "vision" },
    { name: "text", encoder: "text" },
  ],
  ops: ["encode", "connect", "decode", "explain"],
  vocabSize: 120,
};

/** A catalog holding only `metalm-tiny`. */
export const tinyCatalog: ModelCatalog = { "metalm-tiny": tinyAdvert };

/**
 * The example spec of docs/CONTRACTS.md §1 (a fresh copy per call, so tests may mutate it).
 *
 * @example
 * validateWorkflow(vqaSpec(), { image }, tinyCatalog).ok; // true
 */
export function vqaSpec(): WorkflowSpecInput {
  return {
    name: "vqa-then-explain",
    inputs: {
      image: { type: "image" },
      question: { type: "text", default: "what color is the circle?" },
      n: { type: "number", min: 0, max: 10, default: 1 },
    },
    steps: [
      { id: "see", op: "encode", model: "metalm-tiny", encoder: "vision", image: "{{inputs.image}}" },
      { id: "dock", op: "connect", from: "see" },
      {
        id: "answer",
        op: "decode",
        model: "metalm-tiny",
        segments: [{ span: "dock" }, { text: "question: {{inputs.question}} answer:" }],
        params: { maxTokens: 8, temperature: 0 },
      },
      {
        id: "why",
        op: "explain",
        model: "metalm-tiny",
        segments: [{ span: "dock" }, { text: "hypothesis: the circle is {{steps.answer.text}} it is" }],
        labels: ["entailment", "contradiction", "neutral"],
        params: { maxTokens: 24 },
      },
    ],
    outputs: {
      answer: "{{steps.answer.text}}",
      label: "{{steps.why.label}}",
      explanation: "{{steps.why.explanation}}",
    },
  };
}
