/**
 * A multipart/form-data body parsed straight from its bytes, for the shapes clients send (curl,
 * browsers, undici's FormData: `Content-Disposition: form-data; name="…"[; filename="…"]`, an
 * optional `Content-Type`, CRLF line ends, no preamble or epilogue). Going through a WHATWG
 * `Response(…).formData()` (what hono's `parseBody` does) costs a stream, a File per part and a
 * copy back out of it; this is one pass over the bytes. Anything else — other part headers, an
 * escaped or non-ASCII name, a missing final boundary — returns `undefined`, and the caller parses
 * the body the standard way, so its answer (and its errors) stay exactly that parser's.
 *
 * @example
 * const form = parseMultipartFast(bytes, c.req.header("content-type") ?? "");
 * if (form) form.request; // string — a file part is a Uint8Array (its own copy)
 */

export type FormValue = string | Uint8Array;
/** Parts by name, as hono's `parseBody({ all: true })` shapes them (a repeated or `[]` name → an array). */
export type FormFields = Record<string, FormValue | FormValue[]>;

const CRLF_CRLF = [13, 10, 13, 10];
const DISPOSITION = /^form-data; name="([^"\\%\r\n]*)"(?:; filename="([^"\\%\r\n]+)")?$/;
const PART_TYPE = /^[\x21-\x7e][\x20-\x7e]*$/;
const utf8 = new TextDecoder();

/** The `boundary` parameter of a multipart/form-data content type, or undefined. */
function boundaryOf(contentType: string): string | undefined {
  const m = /^multipart\/form-data\s*;\s*boundary=(?:"([\x20-\x21\x23-\x7e]{1,70})"|([\x21-\x27\x2a-\x2b\x2d-\x3a\x3c\x3e\x41-\x5a\x5e-\x7e]{1,70}))\s*$/i.exec(
    contentType,
  );
  return m ? (m[1] ?? m[2]) : undefined;
}

function indexOfSeq(hay: Uint8Array, needle: readonly number[] | Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function ascii(bytes: Uint8Array, start: number, end: number): string | undefined {
  let s = "";
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b > 0x7e || (b < 0x20 && b !== 13 && b !== 10 && b !== 9)) return undefined;
    s += String.fromCharCode(b);
  }
  return s;
}

/** Parse `bytes` (see the module comment); `undefined` = not a shape this parser takes. */
export function parseMultipartFast(bytes: Uint8Array, contentType: string): FormFields | undefined {
  const boundary = boundaryOf(contentType);
  if (!boundary) return undefined;
  const dash = new Uint8Array(boundary.length + 4); // "\r\n--" + boundary
  dash.set([13, 10, 45, 45]);
  for (let i = 0; i < boundary.length; i++) dash[4 + i] = boundary.charCodeAt(i);
  // the body starts with "--boundary\r\n"
  const open = dash.subarray(2);
  if (bytes.length < open.length + 2) return undefined;
  for (let i = 0; i < open.length; i++) if (bytes[i] !== open[i]) return undefined;
  if (bytes[open.length] !== 13 || bytes[open.length + 1] !== 10) return undefined;
  const form: FormFields = Object.create(null);
  let pos = open.length + 2;
  for (;;) {
    const headEnd = indexOfSeq(bytes, CRLF_CRLF, pos);
    if (headEnd === -1) return undefined;
    const head = ascii(bytes, pos, headEnd);
    if (head === undefined) return undefined;
    let name: string | undefined;
    let file = false;
    for (const line of head.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) return undefined;
      const key = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === "content-disposition" && name === undefined) {
        const m = DISPOSITION.exec(value);
        if (!m) return undefined;
        name = m[1]!;
        file = m[2] !== undefined;
      } else if (key === "content-type") {
        if (!PART_TYPE.test(value)) return undefined;
      } else return undefined;
    }
    if (name === undefined) return undefined;
    const bodyStart = headEnd + 4;
    // the part ends at the first "--boundary", which must follow a CRLF (the standard parser
    // refuses a body whose data contains the boundary anywhere else)
    const next = indexOfSeq(bytes, open, bodyStart);
    if (next < bodyStart + 2 || bytes[next - 2] !== 13 || bytes[next - 1] !== 10) return undefined;
    const bodyEnd = next - 2;
    const body = bytes.subarray(bodyStart, bodyEnd);
    add(form, name, file ? body.slice() : utf8.decode(body));
    pos = bodyEnd + dash.length;
    // "\r\n" → another part; "--" (+ an optional final "\r\n") → the end
    if (bytes[pos] === 13 && bytes[pos + 1] === 10) {
      pos += 2;
      continue;
    }
    if (
      bytes[pos] === 45 &&
      bytes[pos + 1] === 45 &&
      (pos + 2 === bytes.length || (pos + 4 === bytes.length && bytes[pos + 2] === 13 && bytes[pos + 3] === 10))
    )
      return form;
    return undefined;
  }
}

/** hono's `handleParsingAllValues`: a repeated name or one ending in `[]` collects an array. */
function add(form: FormFields, key: string, value: FormValue): void {
  const had = form[key];
  if (had !== undefined) {
    if (Array.isArray(had)) had.push(value);
    else form[key] = [had, value];
  } else form[key] = key.endsWith("[]") ? [value] : value;
}
