/**
 * Image inputs: base64 or data-URL strings in JSON, or multipart file parts. The bytes must be
 * PNG or JPEG (checked by magic bytes, not by the claimed type) and at most `maxBytes`.
 */
import { apiError } from "./errors.js";

export type ImageMime = "image/png" | "image/jpeg";

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The image type told by the first bytes, or undefined. */
export function sniffImage(bytes: Uint8Array): ImageMime | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return "image/png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  return undefined;
}

const B64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decode standard or url-safe base64, strictly: throws on anything else. */
export function decodeBase64Strict(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  if (!B64_RE.test(clean) || clean.replace(/=+$/, "").length % 4 === 1) throw new Error("not valid base64");
  const buf = Buffer.from(clean.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface DecodedImage {
  bytes: Uint8Array;
  mime: ImageMime;
}

/**
 * Check image bytes; `field` names the input in the error (`inputs.image`).
 * @example checkImage(bytes, "inputs.image", 4 << 20) // { bytes, mime: "image/png" }
 */
export function checkImage(bytes: Uint8Array, field: string, maxBytes: number): DecodedImage {
  if (bytes.length === 0) throw apiError(400, "invalid_image", `${field}: empty image`, { field });
  if (bytes.length > maxBytes)
    throw apiError(413, "image_too_large", `${field}: image is ${bytes.length} bytes, the limit is ${maxBytes}`, {
      field,
      size: bytes.length,
      limit: maxBytes,
    });
  const mime = sniffImage(bytes);
  if (!mime) throw apiError(400, "invalid_image", `${field}: bytes are not a PNG or JPEG image`, { field });
  return { bytes, mime };
}

/** A JSON image value: `data:image/png;base64,…` or bare base64. */
export function decodeImageString(value: string, field: string, maxBytes: number): DecodedImage {
  let b64 = value;
  const m = /^data:([^;,]*)(;[^,]*)?,/.exec(value);
  if (m) {
    if (!(m[2] ?? "").split(";").includes("base64")) throw apiError(400, "invalid_image", `${field}: data URL must be base64-encoded`, { field });
    b64 = value.slice(m[0].length);
  }
  // cheap pre-check so a huge string fails as too large before decoding
  if (Math.floor((b64.length * 3) / 4) > maxBytes + 3)
    throw apiError(413, "image_too_large", `${field}: image is larger than ${maxBytes} bytes`, { field, limit: maxBytes });
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64Strict(b64);
  } catch {
    throw apiError(400, "invalid_base64", `${field}: not valid base64 or a base64 data URL`, { field });
  }
  return checkImage(bytes, field, maxBytes);
}
