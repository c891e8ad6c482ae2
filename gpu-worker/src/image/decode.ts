/**
 * Image decoding: PNG (pngjs) and JPEG (jpeg-js), detected by magic bytes, never by a claimed
 * mime type. The pixel count is read from the header and checked against a limit *before* the
 * image is decompressed, so a small "decompression bomb" cannot exhaust memory.
 */
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { decodePngFast } from "./png.js";

export class ImageError extends Error {
  override name = "ImageError";
  constructor(
    message: string,
    readonly code: "not_an_image" | "corrupt_image" | "image_too_large" | "image_decode_timeout",
  ) {
    super(message);
  }
}

export type ImageFormat = "png" | "jpeg";
export interface Rgba {
  width: number;
  height: number;
  /** width × height × 4 bytes, row-major RGBA. */
  data: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffImage(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  return undefined;
}

/** Width and height from the PNG IHDR or the JPEG SOFn marker, without decoding pixels. */
export function imageDimensions(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === "png") {
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR")
      throw new ImageError("corrupt PNG: missing IHDR header", "corrupt_image");
    return { width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) throw new ImageError(`corrupt JPEG: expected a marker at byte ${i}`, "corrupt_image");
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = dv.getUint16(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > bytes.length) break;
      return { height: dv.getUint16(i + 5), width: dv.getUint16(i + 7) };
    }
    i += 2 + len;
  }
  throw new ImageError("corrupt JPEG: no frame header (SOF) found", "corrupt_image");
}

/**
 * Decodes PNG or JPEG bytes to RGBA, rejecting non-images, corrupt files and images with more
 * than `maxPixels` pixels, each with an `ImageError` whose `code` says which.
 * @example const { width, height, data } = decodeImage(readFileSync("cat.png"), { maxPixels: 4096 * 4096 });
 */
export function decodeImage(bytes: Uint8Array, { maxPixels = 16_777_216 }: { maxPixels?: number } = {}): Rgba & { format: ImageFormat } {
  const format = sniffImage(bytes);
  if (!format) {
    const head = Buffer.from(bytes.subarray(0, 8)).toString("hex");
    throw new ImageError(`not a PNG or JPEG image (first bytes ${head || "(empty)"})`, "not_an_image");
  }
  const { width, height } = imageDimensions(bytes, format);
  if (width === 0 || height === 0) throw new ImageError(`corrupt ${format.toUpperCase()}: ${width}×${height} image`, "corrupt_image");
  if (width * height > maxPixels) {
    throw new ImageError(`image is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels}`, "image_too_large");
  }
  if (format === "png") {
    const fast = decodePngFast(bytes); // exactly pngjs's pixels, or undefined for pngjs to decide
    if (fast) return { format, ...fast };
  }
  try {
    if (format === "png") {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { format, width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      maxResolutionInMP: Math.max(1, Math.ceil(maxPixels / 1e6)),
      maxMemoryUsageInMB: 1024,
    });
    return { format, width: img.width, height: img.height, data: img.data };
  } catch (e) {
    throw new ImageError(`corrupt ${format.toUpperCase()}: ${(e as Error).message}`, "corrupt_image");
  }
}
