import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeLeaseFrame, encodeLeaseFrame } from "./lease-frame.js";

const a = new Uint8Array([1, 2, 3, 4, 5]);
const b = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
const jobs = [{ jobId: "j1", op: "encode", note: "é" }, { jobId: "j2" }];

describe("lease frame", () => {
  it("round-trips jobs and images: the head as JSON, the images as copies of their bytes", () => {
    const frame = encodeLeaseFrame(jobs, { ["a".repeat(64)]: a, ["b".repeat(64)]: b });
    expect(Array.from(frame.subarray(0, 4), (c) => String.fromCharCode(c)).join("")).toBe("MLF1");
    const { head, blobs } = decodeLeaseFrame(frame);
    expect(head).toEqual({ jobs, blobs: { ["a".repeat(64)]: [0, 5], ["b".repeat(64)]: [5, 3000] } });
    expect(blobs.get("a".repeat(64))).toEqual(a);
    expect(blobs.get("b".repeat(64))).toEqual(b);
    frame.fill(0, frame.length - 3000); // the decoded images are copies, not views of the frame
    expect(blobs.get("b".repeat(64))).toEqual(b);
    // no images: a head and nothing after it
    const empty = decodeLeaseFrame(encodeLeaseFrame([], {}));
    expect(empty.head).toEqual({ jobs: [], blobs: {} });
    expect(empty.blobs.size).toBe(0);
  });

  it("refuses a malformed frame, saying what is wrong", () => {
    const good = encodeLeaseFrame(jobs, { ["a".repeat(64)]: a });
    expect(() => decodeLeaseFrame(new TextEncoder().encode('{"jobs":[]}'))).toThrow(/no MLF1 header/);
    expect(() => decodeLeaseFrame(good.subarray(0, 20))).toThrow(/head of \d+ bytes runs past the end/);
    const notJson = good.slice();
    notJson[8] = 0x7b + 1; // the head's first byte: `|` instead of `{`
    expect(() => decodeLeaseFrame(notJson)).toThrow(/head is not UTF-8 JSON/);
    const short = good.subarray(0, good.length - 1); // the image's last byte missing
    expect(() => decodeLeaseFrame(short)).toThrow(/blob a+ at \[0,5\] is outside the 4 bytes of images/);
    const head = new TextEncoder().encode(JSON.stringify({ jobs: [], blobs: { x: [-1, 2] } }));
    const frame = new Uint8Array(8 + head.length + 4);
    frame.set([0x4d, 0x4c, 0x46, 0x31]);
    new DataView(frame.buffer).setUint32(4, head.length);
    frame.set(head, 8);
    expect(() => decodeLeaseFrame(frame)).toThrow(/blob x at \[-1,2\] is outside/);
  });

  it("any bytes — random, or a valid frame with bytes changed or cut — decode or throw an Error, nothing else", () => {
    const valid = encodeLeaseFrame(jobs, { ["a".repeat(64)]: a, ["b".repeat(64)]: b.subarray(0, 40) });
    const mutated = fc
      .tuple(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(valid.length))
      .map(([edits, cut]) => {
        const f = valid.slice(0, Math.max(cut, 1));
        for (const [at, v] of edits) if (at < f.length) f[at] = v;
        return f;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
        try {
          const { blobs } = decodeLeaseFrame(bytes);
          for (const v of blobs.values()) expect(v).toBeInstanceOf(Uint8Array);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).constructor).toBe(Error); // our message, not a RangeError / TypeError from a view or the decoder
          expect((e as Error).message).toMatch(/^lease frame: /);
        }
      }),
      { numRuns: 3000, seed: 12 },
    );
  });
});
