/**
 * A 16-megapixel JPEG like the ones of issue 15 (4000 × 4000, ~0.45 MB: gradients compress well),
 * encoded once per process; `bigJpeg(tag)` returns a copy with a comment segment holding `tag`, so
 * each tag has its own sha256 (no cache or memo shares them) but decodes to the same pixels.
 */
import jpeg from "jpeg-js";

let base: Uint8Array | undefined;

function encodeBase(): Uint8Array {
  const W = 4000;
  const H = 4000;
  const data = Buffer.alloc(W * H * 4);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      data[i] = (x >> 4) & 255;
      data[i + 1] = (y >> 4) & 255;
      data[i + 2] = ((x + y) >> 5) & 255;
      data[i + 3] = 255;
    }
  return new Uint8Array(jpeg.encode({ data, width: W, height: H }, 50).data);
}

export function bigJpeg(tag: string): Uint8Array {
  base ??= encodeBase();
  const text = Buffer.from(tag.slice(0, 200), "latin1");
  const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0, text.length + 2]), text]);
  // SOI, then the comment, then the rest
  return new Uint8Array(Buffer.concat([Buffer.from(base.subarray(0, 2)), com, Buffer.from(base.subarray(2))]));
}
