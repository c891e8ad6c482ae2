/**
 * Limits checked before a spec is validated, planned or stored — on the raw JSON, so they hold
 * whatever else is wrong with it: steps per workflow (`maxSteps`) and `params.maxTokens` of
 * decode/explain steps (`maxTokens`, below the spec's own bound `MAX_TOKENS` when configured lower).
 * Over a limit is a 422 naming the limit, the step and the field; image pixels are checked from
 * the image header (PNG IHDR, JPEG SOFn) without decoding: 422 `image_too_many_pixels`.
 */
import { MAX_TOKENS } from "../../workflows/index.js";
import type { Limits } from "../context.js";
import { apiError } from "../lib/errors.js";

export function checkSpecLimits(specJson: unknown, limits: Pick<Limits, "maxSteps" | "maxTokens">): void {
  const steps = (specJson as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return; // validation reports it
  if (steps.length > limits.maxSteps)
    throw apiError(422, "too_many_steps", `a workflow may have at most ${limits.maxSteps} steps; this one has ${steps.length}`, {
      field: "steps",
      limit: limits.maxSteps,
      actual: steps.length,
    });
  steps.forEach((s, i) => {
    const mt = (s as { params?: { maxTokens?: unknown } } | null)?.params?.maxTokens;
    // above the spec's own bound the schema answers (400 invalid_workflow), not this limit
    if (typeof mt === "number" && mt > limits.maxTokens && mt <= MAX_TOKENS) {
      const id = (s as { id?: unknown }).id;
      throw apiError(
        422,
        "max_tokens_exceeded",
        `step '${typeof id === "string" ? id : i}': params.maxTokens ${mt} is over this service's limit of ${limits.maxTokens}`,
        {
          field: `steps.${i}.params.maxTokens`,
          stepId: typeof id === "string" ? id : null,
          limit: limits.maxTokens,
          actual: mt,
        },
      );
    }
  });
}

/** Width × height from a PNG or JPEG header, or undefined when the header cannot be read. */
export function imageDimensions(b: Uint8Array): { width: number; height: number } | undefined {
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) {
        i++;
        continue;
      }
      const marker = b[i + 1]!;
      if (marker === 0xff) {
        i++;
        continue;
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2;
        continue;
      }
      const len = (b[i + 2]! << 8) | b[i + 3]!;
      // SOF0..SOF15 except DHT (c4), JPG (c8), DAC (cc)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]! };
      }
      if (len < 2) return undefined;
      i += 2 + len;
    }
  }
  return undefined;
}

/** 422 when the image header says more than `maxPixels` pixels (the worker checks again when decoding). */
export function checkImagePixels(bytes: Uint8Array, field: string, maxPixels: number): void {
  const d = imageDimensions(bytes);
  if (!d) return; // unreadable headers are the worker's `corrupt_image`
  const pixels = d.width * d.height;
  if (pixels > maxPixels)
    throw apiError(422, "image_too_many_pixels", `${field}: image is ${d.width}×${d.height} = ${pixels} pixels, the limit is ${maxPixels}`, {
      field,
      width: d.width,
      height: d.height,
      limit: maxPixels,
    });
}
