import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatRef, parseTemplate, recordLookup, renderTemplate, soleRef, templateRefs } from "./template.js";

describe("parseTemplate", () => {
  it("finds input and step references with positions", () => {
    const src = "q: {{inputs.question}} a: {{ steps.answer.text }}";
    const refs = templateRefs(src);
    expect(refs).toEqual([
      { kind: "input", name: "question", start: 3, end: 22, raw: "{{inputs.question}}" },
      { kind: "step", stepId: "answer", field: "text", start: 26, end: 49, raw: "{{ steps.answer.text }}" },
    ]);
    for (const r of refs) expect(src.slice(r.start, r.end)).toBe(r.raw);
  });

  it("reports malformed references and unclosed braces with positions", () => {
    const t = parseTemplate("a {{inputs}} b {{steps.x}} c {{foo.bar}} d {{inputs.q");
    expect(t.errors.map((e) => [e.start, e.end])).toEqual([
      [2, 12],
      [15, 26],
      [29, 40],
      [43, 53],
    ]);
    expect(t.errors[3]?.message).toMatch(/unclosed/);
  });

  it("escapes: \\{{ is literal, \\\\ before {{ is one backslash", () => {
    const look = recordLookup({ q: "Q" });
    expect(renderTemplate("\\{{inputs.q}}", look)).toEqual({ ok: true, text: "{{inputs.q}}" });
    expect(renderTemplate("\\\\{{inputs.q}}", look)).toEqual({ ok: true, text: "\\Q" });
    expect(renderTemplate("\\\\\\{{x", look)).toEqual({ ok: true, text: "\\{{x" });
    expect(renderTemplate("a\\b }} {", look)).toEqual({ ok: true, text: "a\\b }} {" });
  });

  it("text without braces renders unchanged (property)", () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes("{{")),
        (s) => {
          expect(renderTemplate(s, () => undefined)).toEqual({ ok: true, text: s });
        },
      ),
    );
  });
});

describe("renderTemplate", () => {
  it("substitutes inputs (numbers via String) and step fields", () => {
    const look = recordLookup({ q: "why?", n: 3 }, { answer: { text: "red" } });
    expect(renderTemplate("{{inputs.q}} {{inputs.n}} {{steps.answer.text}}", look)).toEqual({ ok: true, text: "why? 3 red" });
  });

  it("lists every unknown reference with its position", () => {
    const r = renderTemplate("{{inputs.a}} {{steps.s.text}} {{inputs.toString}}", recordLookup({}));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.missing.map((m) => [m.raw, m.start])).toEqual([
      ["{{inputs.a}}", 0],
      ["{{steps.s.text}}", 13],
      ["{{inputs.toString}}", 30],
    ]);
  });
});

describe("soleRef / formatRef", () => {
  it("recognises a template that is exactly one reference", () => {
    expect(soleRef("{{ inputs.image }}")).toMatchObject({ kind: "input", name: "image" });
    expect(soleRef("x{{inputs.image}}")).toBeUndefined();
    expect(formatRef({ kind: "step", stepId: "a", field: "text" })).toBe("{{steps.a.text}}");
  });
});
