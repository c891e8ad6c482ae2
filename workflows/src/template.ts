/**
 * Templates: `{{inputs.<name>}}` and `{{steps.<id>.<field>}}` inside text fields.
 *
 * Syntax: `{{` path `}}`, whitespace allowed inside the braces (`{{ inputs.q }}`).
 * Escaping: a backslash before `{{` makes it literal: `\{{` renders as `{{`. Backslashes *directly
 * before* `{{` pair up (`\\` → `\`), so `\\{{inputs.q}}` is a backslash followed by the value and
 * `\\\{{` is `\{{` literally. Backslashes anywhere else are ordinary characters. A lone `}}` is
 * ordinary text.
 *
 * Positions are 0-based UTF-16 offsets into the template; `end` is exclusive.
 */
import { INPUT_NAME_RE, STEP_ID_RE } from "./spec.js";

/** A parsed reference. */
export type Ref = { kind: "input"; name: string } | { kind: "step"; stepId: string; field: string };
/** A reference with its place in the template. */
export type RefAt = Ref & { start: number; end: number; raw: string };
/** A piece of a parsed template. */
export type TemplatePart = { kind: "text"; text: string } | ({ kind: "ref" } & { ref: RefAt });
/** A syntax problem at a position. */
export interface TemplateSyntaxError {
  code: "template_syntax";
  message: string;
  start: number;
  end: number;
}
export interface ParsedTemplate {
  parts: TemplatePart[];
  refs: RefAt[];
  errors: TemplateSyntaxError[];
}

const FIELD_RE = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;

/**
 * Parse a reference path (the text between the braces, trimmed).
 *
 * @example
 * parseRefPath("steps.answer.text"); // { kind: "step", stepId: "answer", field: "text" }
 */
export function parseRefPath(path: string): Ref | undefined {
  const seg = path.split(".");
  if (seg[0] === "inputs" && seg.length === 2 && INPUT_NAME_RE.test(seg[1]!)) return { kind: "input", name: seg[1]! };
  if (seg[0] === "steps" && seg.length === 3 && STEP_ID_RE.test(seg[1]!) && FIELD_RE.test(seg[2]!)) return { kind: "step", stepId: seg[1]!, field: seg[2]! };
  return undefined;
}

/**
 * Format a reference back into its canonical template form.
 *
 * @example
 * formatRef({ kind: "input", name: "q" }); // "{{inputs.q}}"
 */
export function formatRef(ref: Ref): string {
  return ref.kind === "input" ? `{{inputs.${ref.name}}}` : `{{steps.${ref.stepId}.${ref.field}}}`;
}

/**
 * Parse a template into text and reference parts, collecting every syntax error (an unclosed
 * `{{`, or a path that is neither `inputs.<name>` nor `steps.<id>.<field>`).
 *
 * @example
 * const t = parseTemplate("q: {{inputs.question}} a:");
 * t.refs; // [{ kind: "input", name: "question", start: 3, end: 22, raw: "{{inputs.question}}" }]
 * parseTemplate("{{oops}}").errors[0]?.code; // "template_syntax"
 */
export function parseTemplate(src: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const refs: RefAt[] = [];
  const errors: TemplateSyntaxError[] = [];
  let text = "";
  let i = 0;
  const flush = () => {
    if (text) parts.push({ kind: "text", text });
    text = "";
  };
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    if (open < 0) {
      text += src.slice(i);
      break;
    }
    // count the backslashes directly before `{{`
    let bs = 0;
    while (open - bs - 1 >= i && src[open - bs - 1] === "\\") bs++;
    text += src.slice(i, open - bs) + "\\".repeat(Math.floor(bs / 2));
    if (bs % 2 === 1) {
      text += "{{";
      i = open + 2;
      continue;
    }
    const close = src.indexOf("}}", open + 2);
    if (close < 0) {
      errors.push({ code: "template_syntax", message: "unclosed '{{'", start: open, end: src.length });
      text += src.slice(open);
      break;
    }
    const end = close + 2;
    const raw = src.slice(open, end);
    const ref = parseRefPath(src.slice(open + 2, close).trim());
    if (!ref) {
      errors.push({
        code: "template_syntax",
        message: `bad reference ${raw}: expected {{inputs.<name>}} or {{steps.<id>.<field>}}`,
        start: open,
        end,
      });
      text += raw;
    } else {
      flush();
      const at: RefAt = { ...ref, start: open, end, raw };
      parts.push({ kind: "ref", ref: at });
      refs.push(at);
    }
    i = end;
  }
  flush();
  return { parts, refs, errors };
}

/** Looks a reference up; `undefined` means unknown / not available (yet). */
export type RefLookup = (ref: Ref) => string | number | undefined;

export type RenderResult = { ok: true; text: string } | { ok: false; missing: RefAt[]; errors: TemplateSyntaxError[] };

/**
 * Render a template. Fails (listing every unresolved reference with its position) if a lookup
 * returns `undefined` or the template has syntax errors. Numbers render with `String(n)`.
 *
 * @example
 * renderTemplate("q: {{inputs.q}}", (r) => (r.kind === "input" ? "why?" : undefined));
 * // { ok: true, text: "q: why?" }
 */
export function renderTemplate(src: string | ParsedTemplate, lookup: RefLookup): RenderResult {
  const t = typeof src === "string" ? parseTemplate(src) : src;
  let text = "";
  const missing: RefAt[] = [];
  for (const p of t.parts) {
    if (p.kind === "text") text += p.text;
    else {
      const v = lookup(p.ref);
      if (v === undefined) missing.push(p.ref);
      else text += String(v);
    }
  }
  return missing.length || t.errors.length ? { ok: false, missing, errors: t.errors } : { ok: true, text };
}

/**
 * Lookup over plain records: `inputs[name]` and `steps[id][field]`.
 *
 * @example
 * renderTemplate("{{steps.answer.text}}", recordLookup({}, { answer: { text: "red" } }));
 */
export function recordLookup(
  inputs: Readonly<Record<string, string | number | undefined>>,
  steps: Readonly<Record<string, Readonly<Record<string, string | number | undefined>> | undefined>> = {},
): RefLookup {
  return (ref) =>
    ref.kind === "input"
      ? Object.hasOwn(inputs, ref.name)
        ? inputs[ref.name]
        : undefined
      : Object.hasOwn(steps, ref.stepId) && Object.hasOwn(steps[ref.stepId]!, ref.field)
        ? steps[ref.stepId]![ref.field]
        : undefined;
}

/**
 * The references of a template (ignoring syntax errors).
 *
 * @example
 * templateRefs("{{inputs.a}} {{steps.b.text}}").length; // 2
 */
export function templateRefs(src: string): RefAt[] {
  return parseTemplate(src).refs;
}

/**
 * True when the template is exactly one reference and nothing else (e.g. an `image` field).
 *
 * @example
 * soleRef("{{inputs.image}}")?.kind; // "input"
 */
export function soleRef(src: string): RefAt | undefined {
  const t = parseTemplate(src.trim());
  const p = t.parts[0];
  return t.errors.length === 0 && t.parts.length === 1 && p?.kind === "ref" ? p.ref : undefined;
}
