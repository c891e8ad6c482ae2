import { collectRefs } from "./refs.js";
import type { GraphRule, KeyedIssue } from "./types.js";

/**
 * Rule: every reference resolves — `from` / `span` name an existing step, `{{steps.<id>.…}}`
 * an existing step, `{{inputs.<name>}}` a declared input — and every template parses.
 * Messages give the template position (0-based offset) of the reference.
 *
 * @example
 * unknownReference.check(ctx); // [{ key: "answer", code: "unknown_reference", field: "segments.1.text", ... }]
 */
export const unknownReference: GraphRule = {
  name: "unknown-reference",
  check({ spec, byId }) {
    const { refs, templateErrors } = collectRefs(spec);
    const out: KeyedIssue[] = templateErrors.map(({ key, field, error }) => ({
      key,
      field,
      code: "template_syntax",
      message: `${error.message} at ${error.start}`,
    }));
    for (const site of refs) {
      const { key, field } = site;
      if (site.via === "from" || site.via === "span") {
        if (!byId.has(site.stepId)) out.push({ key, field, code: "unknown_reference", message: `unknown step '${site.stepId}'` });
        continue;
      }
      const { ref } = site;
      if (ref.kind === "input" && !Object.hasOwn(spec.inputs, ref.name))
        out.push({ key, field, code: "unknown_reference", message: `unknown input '${ref.name}' in ${ref.raw} at ${ref.start}` });
      if (ref.kind === "step" && !byId.has(ref.stepId))
        out.push({ key, field, code: "unknown_reference", message: `unknown step '${ref.stepId}' in ${ref.raw} at ${ref.start}` });
    }
    return out;
  },
};
