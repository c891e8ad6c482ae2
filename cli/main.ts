/**
 * `npm run cli -- <command>`: a small CLI on the typed API client (cli/client.ts).
 *
 *   run <spec.json | workflow id> [--input name=value | name=@file]... [--model name] [--wait S] [--json] [--quiet]
 *   runs [--status S] [--workflow ID] [--tag T] [--limit N] [--cursor C] [--json]
 *   get <run id> [--json]
 *   cancel <run id>
 *   models
 *
 * The server is METALM_URL, else http://127.0.0.1:$PORT (8787); `--url` overrides. The API key is
 * `--key`, else METALM_API_KEY, else DEV_API_KEY, else the local instance's development key
 * (`$DATA_DIR/dev-api.key`, DATA_DIR defaulting to ./data). Exit status: 0 when the run succeeded, 1 when it did not,
 * 2 for a usage or API error.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ApiError, MetalmClient, type Run, type WorkflowSpecInput } from "./client.js";
import { outputText, ProgressView } from "./progress.js";

const USAGE = `usage: npm run cli -- <command> [options]

  run <spec.json | workflow id>   run a workflow, showing progress; prints its outputs
      --input name=value          an input value (repeatable); name=@path sends a file (images)
      --model NAME                run the spec's steps on model NAME (e.g. metalm-tiny-fixture)
      --tag TAG                   tag the run (repeatable)
      --json                      print the finished run as JSON
      --quiet                     no progress display
  runs                            list runs, newest first
      --status S --workflow ID --tag T --limit N --cursor C --json
  get <run id> [--json]           show a run: status, outputs, steps
  cancel <run id>                 cancel a run
  models                          models the live workers serve

  --url URL                       the service (default: $METALM_URL, else http://127.0.0.1:\${PORT:-8787})
  --key KEY                       API key (default: $METALM_API_KEY, $DEV_API_KEY, else \${DATA_DIR:-./data}/dev-api.key)`;

function fail(msg: string, code = 2): never {
  process.stderr.write(`${msg}\n`);
  process.exit(code);
}

const fmtTime = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19));
const dur = (a: number | null, b: number | null) => (a !== null && b !== null ? `${b - a} ms` : "-");

function printRun(run: Run): void {
  const out = process.stdout;
  out.write(
    `run ${run.id}  ${run.name ?? run.workflowId ?? ""}  ${run.status}  created ${fmtTime(run.createdAt)}  took ${dur(run.createdAt, run.finishedAt)}\n`,
  );
  if (run.error) out.write(`error: ${run.error.code}: ${run.error.message}${run.error.stepId ? ` (step ${run.error.stepId})` : ""}\n`);
  for (const s of run.steps) {
    const bits = [s.status, s.computeMs !== null ? `${s.computeMs.toFixed(1)} ms` : "", s.cacheHit ? "cache hit" : "", s.workerId ?? "", outputText(s)].filter(
      Boolean,
    );
    out.write(`  ${s.id.padEnd(12)} ${s.op.padEnd(8)} ${bits.join("  ")}\n`);
  }
  printOutputs(run);
}

function printOutputs(run: Run): void {
  if (!run.outputs) return;
  for (const [k, v] of Object.entries(run.outputs)) process.stdout.write(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}\n`);
}

/** `--input` values: `name=value`, or `name=@path` for a file. */
export function parseInputs(raw: string[]): { values: Record<string, string>; files: Record<string, Uint8Array> } {
  const values: Record<string, string> = {};
  const files: Record<string, Uint8Array> = {};
  for (const item of raw) {
    const eq = item.indexOf("=");
    if (eq <= 0) fail(`--input ${item}: expected name=value or name=@file`);
    const name = item.slice(0, eq);
    const v = item.slice(eq + 1);
    if (v.startsWith("@")) {
      try {
        files[name] = new Uint8Array(readFileSync(v.slice(1)));
      } catch (e) {
        fail(`--input ${name}: cannot read ${v.slice(1)}: ${(e as Error).message}`);
      }
    } else values[name] = v;
  }
  return { values, files };
}

async function cmdRun(api: MetalmClient, target: string | undefined, o: Record<string, unknown>): Promise<number> {
  if (!target) fail(USAGE);
  const { values, files } = parseInputs((o.input as string[] | undefined) ?? []);
  let spec: WorkflowSpecInput | undefined;
  let workflowId: string | undefined;
  if (target.endsWith(".json") || target.includes("/")) {
    try {
      spec = JSON.parse(readFileSync(target, "utf8")) as WorkflowSpecInput;
    } catch (e) {
      fail(`cannot read workflow ${target}: ${(e as Error).message}`);
    }
    if (o.model) for (const s of spec.steps ?? []) if ("model" in s) s.model = o.model as string;
  } else {
    workflowId = target;
    if (o.model) fail("--model applies to a spec file, not a saved workflow");
  }
  const { run } = await api.createRun({ spec, workflowId, inputs: values, files, tags: (o.tag as string[] | undefined) ?? [] });
  const quiet = Boolean(o.quiet) || Boolean(o.json);
  const view = quiet ? undefined : new ProgressView(process.stderr, run.id, run.name ?? workflowId ?? "inline", run);
  const ac = new AbortController();
  process.once("SIGINT", () => {
    process.stderr.write(`\ncanceling ${run.id}…\n`);
    void api.cancelRun(run.id).finally(() => ac.abort());
  });
  const done = await api.waitForRun(run.id, { signal: ac.signal, onEvent: (e) => view?.onEvent(e) });
  view?.finish(done);
  if (o.json) process.stdout.write(`${JSON.stringify(done, null, 2)}\n`);
  else {
    if (done.error) process.stdout.write(`error: ${done.error.code}: ${done.error.message}${done.error.stepId ? ` (step ${done.error.stepId})` : ""}\n`);
    printOutputs(done);
  }
  return done.status === "succeeded" ? 0 : 1;
}

async function cmdRuns(api: MetalmClient, o: Record<string, unknown>): Promise<number> {
  const list = await api.listRuns({
    status: o.status as Run["status"] | undefined,
    workflow: o.workflow as string | undefined,
    tag: (o.tag as string[] | undefined)?.[0],
    limit: o.limit ? Number(o.limit) : undefined,
    cursor: o.cursor as string | undefined,
  });
  if (o.json) {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return 0;
  }
  const counts = Object.entries(list.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  process.stdout.write(`${counts || "no runs"}\n`);
  for (const r of list.runs) {
    const outs = r.outputs
      ? Object.entries(r.outputs)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(" ")
      : (r.error?.code ?? "");
    process.stdout.write(
      `${r.id}  ${fmtTime(r.createdAt)}  ${r.status.padEnd(9)}  ${(r.name ?? r.workflowId ?? "-").padEnd(18)}  ${outs}\n`.replace(/\s+\n$/, "\n"),
    );
  }
  if (list.nextCursor) process.stdout.write(`more: --cursor ${list.nextCursor}\n`);
  return 0;
}

/** METALM_API_KEY, DEV_API_KEY, else the development key `npm start` keeps under DATA_DIR. */
export function apiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.METALM_API_KEY) return env.METALM_API_KEY;
  if (env.DEV_API_KEY) return env.DEV_API_KEY;
  const file = join(env.DATA_DIR ?? "./data", "dev-api.key");
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      key: { type: "string" },
      input: { type: "string", multiple: true, short: "i" },
      model: { type: "string" },
      tag: { type: "string", multiple: true },
      json: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      status: { type: "string" },
      workflow: { type: "string" },
      limit: { type: "string" },
      cursor: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [cmd, arg] = positionals;
  if (o.help || !cmd) {
    process.stdout.write(`${USAGE}\n`);
    return cmd || o.help ? 0 : 2;
  }
  const url = o.url ?? process.env.METALM_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
  const api = new MetalmClient(url, { apiKey: o.key ?? apiKeyFromEnv() });
  switch (cmd) {
    case "run":
      return cmdRun(api, arg, o);
    case "runs":
      return cmdRuns(api, o);
    case "get": {
      if (!arg) fail("usage: cli get <run id>");
      const run = await api.getRun(arg);
      if (o.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
      else printRun(run);
      return 0;
    }
    case "cancel": {
      if (!arg) fail("usage: cli cancel <run id>");
      const run = await api.cancelRun(arg);
      process.stdout.write(`run ${run.id} ${run.status}\n`);
      return 0;
    }
    case "models": {
      for (const m of await api.models()) {
        process.stdout.write(
          `${m.name} ${m.version}  encoders: ${m.encoders.map((e) => `${e.name}(${e.modality})`).join(", ")}  workers: ${m.workers.join(", ")}\n`,
        );
      }
      return 0;
    }
    default:
      fail(`unknown command ${cmd}\n\n${USAGE}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("cli/main.ts")) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof ApiError) {
        const details = e.details && typeof e.details === "object" ? `\n${JSON.stringify(e.details, null, 2)}` : "";
        fail(`error ${e.status} ${e.code}: ${e.message}${details}`);
      }
      if (e instanceof Error && /fetch failed|ECONNREFUSED/.test(`${e.message} ${String((e as { cause?: unknown }).cause)}`)) {
        fail(`cannot reach the service (${(e as { cause?: { message?: string } }).cause?.message ?? e.message}); is \`npm start\` running?`);
      }
      fail(String((e as Error).stack ?? e));
    },
  );
}
