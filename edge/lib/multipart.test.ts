import fc from "fast-check";
import { parseBody } from "hono/utils/body";
import { expect, it } from "vitest";
import { parseMultipartFast, type FormFields } from "./multipart.js";

/** What hono's parseBody({ all: true }) gives, files as bytes (the reference). */
async function reference(bytes: Uint8Array, type: string): Promise<FormFields | string> {
  try {
    const form = await parseBody(new Request("http://x/", { method: "POST", body: new Uint8Array(bytes), headers: { "content-type": type } }), { all: true });
    const out: FormFields = Object.create(null);
    for (const [k, v] of Object.entries(form)) {
      const one = async (x: string | File) => (typeof x === "string" ? x : new Uint8Array(await x.arrayBuffer()));
      out[k] = Array.isArray(v) ? await Promise.all(v.map(one)) : await one(v as string | File);
    }
    return out;
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

async function encode(form: FormData): Promise<{ bytes: Uint8Array; type: string }> {
  const r = new Request("http://x/", { method: "POST", body: form });
  return { bytes: new Uint8Array(await r.arrayBuffer()), type: r.headers.get("content-type")! };
}

it("parses what FormData sends exactly as the standard parser does", async () => {
  const form = new FormData();
  form.set("request", JSON.stringify({ spec: { a: "é ✓" }, inputs: { q: "line\r\nbreak" } }));
  form.append("image", new Blob([Uint8Array.from([0x89, 0x50, 13, 10, 45, 45, 0])]), "image.png");
  form.append("inputs.question", "");
  form.append("tags[]", "x");
  form.append("dup", "1");
  form.append("dup", new Blob(["2"]), "two");
  form.append("0", "numeric names come first in both");
  const { bytes, type } = await encode(form);
  const fast = parseMultipartFast(bytes, type);
  expect(fast).toBeDefined();
  expect(fast).toEqual(await reference(bytes, type));
  expect(Object.keys(fast!)).toEqual(Object.keys((await reference(bytes, type)) as FormFields));
});

it("hands every unusual shape back to the standard parser (undefined)", () => {
  const te = new TextEncoder();
  const t = "multipart/form-data; boundary=zz";
  const cases = [
    "", // empty
    '--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--zz', // no final --
    '--zz\r\nContent-Disposition: form-data; name="a"\r\nContent-Transfer-Encoding: base64\r\n\r\nx\r\n--zz--', // other header
    '--zz\r\nContent-Disposition: form-data; name="a%22b"\r\n\r\nx\r\n--zz--', // escaped name
    '--zz\r\nContent-Disposition: form-data; name="a"; filename=""\r\n\r\nx\r\n--zz--', // empty filename
    'preamble\r\n--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--zz--', // preamble
    '--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--zz--\r\nepilogue', // epilogue
    '--zz\r\ncontent-disposition: attachment; name="a"\r\n\r\nx\r\n--zz--',
  ];
  for (const c of cases) expect(parseMultipartFast(te.encode(c), t), c).toBeUndefined();
  expect(parseMultipartFast(te.encode('--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--zz--'), "multipart/form-data")).toBeUndefined();
});

it("agrees with the standard parser whenever it answers (random forms, cut and spliced bodies)", async () => {
  const value = fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.uint8Array({ maxLength: 40 }).map((b) => ({ file: b })),
  );
  const name = fc.oneof(fc.constantFrom("request", "image", "inputs.x", "a[]", "0", "constructor", "__proto__"), fc.string({ maxLength: 8 }));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(name, value), { maxLength: 5 }), fc.nat(), fc.nat(), async (parts, cut, splice) => {
      const form = new FormData();
      for (const [n, v] of parts) typeof v === "string" ? form.append(n, v) : form.append(n, new Blob([v.file]), "f.bin");
      const { bytes, type } = await encode(form);
      for (const b of [
        bytes,
        bytes.subarray(0, cut % (bytes.length + 1)),
        Uint8Array.from([...bytes.subarray(0, splice % (bytes.length + 1)), 13, 10, ...bytes]),
      ]) {
        const fast = parseMultipartFast(b, type);
        if (fast === undefined) continue;
        const ref = await reference(b, type);
        expect(fast).toEqual(ref);
        expect(Object.keys(fast)).toEqual(Object.keys(ref as FormFields));
      }
      if (parts.length && parts.every(([n]) => !/[%"\\\r\n\u0080-\uffff]/.test(n))) expect(parseMultipartFast(bytes, type)).toBeDefined();
    }),
    { numRuns: 300 },
  );
});
