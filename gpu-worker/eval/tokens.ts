/** Caption tokenisation for the metrics: lower case, words only (punctuation dropped, as coco-caption's PTB tokenizer does). */
export function words(s: string): string[] {
  return s.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** n-gram counts of orders 1..n (key: the words joined by a space, prefixed by the order). */
export function ngramCounts(ws: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let k = 1; k <= n; k++) {
    for (let i = 0; i + k <= ws.length; i++) {
      const g = `${k}|${ws.slice(i, i + k).join(" ")}`;
      m.set(g, (m.get(g) ?? 0) + 1);
    }
  }
  return m;
}

export const orderOf = (g: string): number => Number(g.slice(0, g.indexOf("|")));
