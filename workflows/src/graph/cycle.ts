import { collectRefs, referencedStep } from "./refs.js";
import type { GraphRule, KeyedIssue } from "./types.js";

/**
 * Rule: a step may only reference steps *before* it. Steps run in a DAG whose order is the
 * spec's order, so a reference to itself or to a later step is exactly what could form a cycle
 * (and is reported as one). Declared outputs may reference any step.
 *
 * @example
 * cycle.check(ctx); // [{ key: "dock", code: "cycle", field: "from", message: "step 'dock' references itself" }]
 */
export const cycle: GraphRule = {
  name: "cycle",
  check({ spec, byId }) {
    const out: KeyedIssue[] = [];
    for (const site of collectRefs(spec).refs) {
      const target = referencedStep(site);
      const t = target === undefined ? undefined : byId.get(target);
      if (!t || t.index < site.index) continue;
      const message =
        t.index === site.index
          ? `step '${site.key}' references itself`
          : `step '${site.key}' references '${target}', which comes later: steps may only reference earlier steps (cycle)`;
      out.push({ key: site.key, field: site.field, code: "cycle", message });
    }
    return out;
  },
};
