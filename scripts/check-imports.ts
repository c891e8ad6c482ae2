/**
 * The import graph's rules (run by `npm run check:imports` and CI):
 * 1. no import cycle among edge/ modules (runtime imports: `import type` is erased and cannot
 *    change what loads first);
 * 2. the core does not reach outward: outside tests, nothing under workflows/ or db/ imports from
 *    edge/ or gpu-worker/ (type-only imports included: a type is a dependency too);
 * 3. workflows/ (the pure core, imported by the workers) depends on no web framework: no `hono`,
 *    no `@hono/*`.
 * Test code is `*.test.ts`, `*.faults.ts`, `testing/` folders and db/suite/ (the two-driver DB
 * suite drives the real app). Exits 1 listing every violation.
 *
 * @example
 * npx tsx scripts/check-imports.ts   # "import graph: 251 modules, 0 problems"
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "..");
const SOURCES = ["edge", "db", "workflows", "gpu-worker/src", "gpu-worker/eval", "cli", "bench", "test", "start.ts"];

export interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

export const isTest = (f: string) => /\.(test|faults)\.ts$/.test(f) || /(^|\/)testing\//.test(f) || f.startsWith("db/suite/") || f.startsWith("test/");

function listTs(p: string): string[] {
  const abs = join(ROOT, p);
  if (!existsSync(abs)) return [];
  if (statSync(abs).isFile()) return p.endsWith(".ts") ? [p] : [];
  return readdirSync(abs).flatMap((n) => (n === "node_modules" ? [] : listTs(join(p, n))));
}

/** Every import of `file` (repository-relative): relative ones resolved to files, others as written. */
export function importsOf(file: string, text = readFileSync(join(ROOT, file), "utf8")): Edge[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: Edge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith(".")) return out.push({ from: file, to: spec, typeOnly });
    const target = relative(ROOT, resolve(ROOT, dirname(file), spec.replace(/\.js$/, ".ts")));
    out.push({ from: file, to: target, typeOnly });
  };
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      // `import { type A, type B }` is erased like `import type`
      const typeOnly = Boolean(c?.isTypeOnly || (c && !c.name && named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(n.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      add(n.moduleSpecifier.text, n.isTypeOnly);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) {
      add(n.arguments[0].text, false);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      add(n.argument.literal.text, true);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Strongly connected components with more than one module (or a self-import): the cycles. */
export function cycles(nodes: string[], edges: Edge[]): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) if (next.has(e.to)) next.get(e.from)?.push(e.to);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next.get(v)?.includes(v)) out.push(scc.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) strong(n);
  return out;
}

/** Every rule violation of the graph given by `files` and their imports. */
export function problems(files: string[], edges: Edge[]): string[] {
  const out: string[] = [];
  const edge = files.filter((f) => f.startsWith("edge/"));
  for (const c of cycles(
    edge,
    edges.filter((e) => !e.typeOnly && e.from.startsWith("edge/")),
  ))
    out.push(`import cycle in edge/: ${c.join(" → ")}`);
  for (const e of edges) {
    if (isTest(e.from)) continue;
    if ((e.from.startsWith("workflows/") || e.from.startsWith("db/")) && (e.to.startsWith("edge/") || e.to.startsWith("gpu-worker/")))
      out.push(`${e.from} imports ${e.to}: workflows/ and db/ must not depend on edge/ or gpu-worker/`);
    if (e.from.startsWith("workflows/") && (e.to === "hono" || e.to.startsWith("hono/") || e.to.startsWith("@hono/")))
      out.push(`${e.from} imports ${e.to}: workflows/ uses plain zod, no web framework`);
  }
  return out;
}

if (process.argv[1] === import.meta.filename) {
  const files = SOURCES.flatMap(listTs);
  const found = problems(
    files,
    files.flatMap((f) => importsOf(f)),
  );
  for (const p of found) console.error(`  ✗ ${p}`);
  console.log(`import graph: ${files.length} modules, ${found.length} problem${found.length === 1 ? "" : "s"}`);
  process.exit(found.length ? 1 : 0);
}
