import type { GraphRule, KeyedIssue } from "./types.js";

/**
 * Rule: step ids are unique. Every repeat (not the first occurrence) is reported on field `id`.
 *
 * @example
 * duplicateIds.check(graphContext(spec)); // [{ key: "see", code: "duplicate_id", field: "id", ... }]
 */
export const duplicateIds: GraphRule = {
  name: "duplicate-ids",
  check({ spec }) {
    const first = new Map<string, number>();
    const out: KeyedIssue[] = [];
    spec.steps.forEach((s, i) => {
      const j = first.get(s.id);
      if (j === undefined) first.set(s.id, i);
      else
        out.push({
          key: s.id,
          code: "duplicate_id",
          field: "id",
          message: `duplicate step id '${s.id}': steps[${i}] repeats steps[${j}]`,
        });
    });
    return out;
  },
};
