import type { ConnectorAdvert, ModelAdvert } from "../wire.js";
import type { GraphRule, KeyedIssue } from "./types.js";

/**
 * The connector a connect step uses: the named one, or the model's first connector that docks
 * the encoder. `undefined` when there is none (see the `unknown-connector` rule).
 *
 * @example
 * pickConnector(advert, "vision")?.name; // "vision"
 */
export function pickConnector(advert: ModelAdvert, encoder: string, name?: string): ConnectorAdvert | undefined {
  return name === undefined ? advert.connectors.find((c) => c.encoder === encoder) : advert.connectors.find((c) => c.name === name && c.encoder === encoder);
}

/**
 * Rule (with a catalog): a connect step's connector exists in the model of its `from` step and
 * docks that step's encoder; without a `connector`, the model must have one for the encoder.
 *
 * @example
 * unknownConnector.check(ctx); // [{ key: "dock", code: "unknown_connector", field: "connector", ... }]
 */
export const unknownConnector: GraphRule = {
  name: "unknown-connector",
  check({ spec, byId, catalog }) {
    if (!catalog) return [];
    const out: KeyedIssue[] = [];
    for (const step of spec.steps) {
      if (step.op !== "connect") continue;
      const src = byId.get(step.from)?.step;
      if (src?.op !== "encode" || !Object.hasOwn(catalog, src.model)) continue;
      const advert = catalog[src.model]!;
      if (!advert.encoders.some((e) => e.name === src.encoder)) continue; // reported by unknown-encoder
      if (pickConnector(advert, src.encoder, step.connector)) continue;
      const named = step.connector !== undefined && advert.connectors.find((c) => c.name === step.connector);
      const message =
        step.connector === undefined
          ? `model '${src.model}' has no connector for encoder '${src.encoder}'`
          : named
            ? `connector '${step.connector}' docks encoder '${named.encoder}', not '${src.encoder}'`
            : `model '${src.model}' has no connector '${step.connector}' (has: ${advert.connectors.map((c) => c.name).join(", ") || "none"})`;
      out.push({ key: step.id, field: step.connector === undefined ? "from" : "connector", code: "unknown_connector", message });
    }
    return out;
  },
};
