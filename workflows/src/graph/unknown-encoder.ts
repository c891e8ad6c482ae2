import type { GraphRule, KeyedIssue } from "./types.js";

/**
 * Rule (with a catalog): an encode step's encoder exists in its model, and the step gives what
 * the encoder's modality needs — `image` for image encoders, `text` for text encoders, both for
 * `image+text` — and nothing it cannot take.
 *
 * @example
 * unknownEncoder.check(ctx); // [{ key: "see", code: "unknown_encoder", field: "encoder", ... }]
 */
export const unknownEncoder: GraphRule = {
  name: "unknown-encoder",
  check({ spec, catalog }) {
    if (!catalog) return [];
    const out: KeyedIssue[] = [];
    for (const step of spec.steps) {
      if (step.op !== "encode" || !Object.hasOwn(catalog, step.model)) continue;
      const advert = catalog[step.model]!;
      const enc = advert.encoders.find((e) => e.name === step.encoder);
      if (!enc) {
        const names = advert.encoders.map((e) => e.name).join(", ") || "none";
        out.push({
          key: step.id,
          field: "encoder",
          code: "unknown_encoder",
          message: `model '${step.model}' has no encoder '${step.encoder}' (has: ${names})`,
        });
        continue;
      }
      const wantsImage = enc.modality !== "text";
      const wantsText = enc.modality !== "image";
      const issue = (field: "image" | "text", message: string) => out.push({ key: step.id, field, code: "type_mismatch", message });
      if (wantsImage && step.image === undefined) issue("image", `encoder '${enc.name}' (${enc.modality}) needs an image`);
      if (!wantsImage && step.image !== undefined) issue("image", `encoder '${enc.name}' (${enc.modality}) takes no image`);
      if (wantsText && step.text === undefined) issue("text", `encoder '${enc.name}' (${enc.modality}) needs a text`);
      if (!wantsText && step.text !== undefined) issue("text", `encoder '${enc.name}' (${enc.modality}) takes no text`);
    }
    return out;
  },
};
