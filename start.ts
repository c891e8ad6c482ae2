/**
 * `npm start`: the embedded default in one command — the edge (Hono on Node, SQLite under
 * DATA_DIR) and a local pool of gpu-workers on loopback serving the shipped model
 * (`gpu-worker/models/metalm-tiny`; the random-weight fixture, with a loud warning, while it is
 * missing). Waits for `/readyz`, saves the example workflows under their names (so a curl line can
 * run one by `workflowId`), and prints the URL and lines to copy.
 *
 * Env (besides edge/node.ts's PORT, HOST, DATA_DIR, POOL_TOKEN, WORKERS, LEASE_MS and the
 * worker's, see gpu-worker/src/worker/config.ts): MODELS_DIR (default: the shipped model, else the
 * fixture), EXIT_ON_STDIN_EOF=1 to stop when stdin closes (launchers), EXAMPLES=0 to not save the examples (they are saved for the development key's
 * tenant), READY_TIMEOUT_MS (60000). Keys: edge/auth/local.ts (DEV_API_KEY, ADMIN_KEY, else kept
 * under DATA_DIR).
 */
import { resolve } from "node:path";
import { exitOnStartupError, main as startEdge } from "./edge/node.js";
import { MetalmClient } from "./cli/client.js";
import { shippedOrFixture } from "./gpu-worker/src/package/shipped.js";
import { EXAMPLES, loadExample, withModel } from "./workflows/examples/index.js";

const env = process.env;
const port = Number(env.PORT ?? 8787);
const host = env.HOST ?? "127.0.0.1";
const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;

if (!env.MODELS_DIR) {
  const m = shippedOrFixture();
  env.MODELS_DIR = m.dir;
  if (m.fixture) {
    const line = "!".repeat(96);
    console.error(
      [
        line,
        "!! WARNING: gpu-worker/models/metalm-tiny is missing — serving the RANDOM-WEIGHT FIXTURE",
        `!!   (${m.dir}, model name "metalm-tiny-fixture") instead. Runs work end to end,`,
        "!!   but every answer is noise. The examples are saved with their model renamed to it;",
        "!!   with the CLI, add `--model metalm-tiny-fixture` to run an example file.",
        line,
      ].join("\n"),
    );
  }
} else env.MODELS_DIR = resolve(env.MODELS_DIR);

const keys = await startEdge(env).catch(exitOnStartupError);
if (env.EXIT_ON_STDIN_EOF === "1") {
  // for launchers (tests, benchmarks): when the launcher dies, its end of our stdin closes; stop
  // gracefully (the edge's SIGTERM handler stops the workers) instead of living on as an orphan
  const bye = () => process.kill(process.pid, "SIGTERM");
  process.stdin.once("end", bye).once("close", bye).once("error", bye).resume();
}

const client = new MetalmClient(url, { apiKey: keys.devKey });
const deadline = Date.now() + Number(env.READY_TIMEOUT_MS ?? 60_000);
let ready = await client.readyz().catch(() => undefined);
while (!ready?.ready) {
  if (Date.now() > deadline) {
    console.error(`not ready after ${env.READY_TIMEOUT_MS ?? 60_000} ms: ${JSON.stringify(ready ?? "edge not answering")}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
  ready = await client.readyz().catch(() => undefined);
}
// from the start of this Node process, so tsx's loader and the compilation of every module on
// the way in are counted (they are most of a cold start), not just the time after imports ran
const readyS = process.uptime().toFixed(1);
const model = ready.models[0]!;
const key = keys.devKey;

const saved: string[] = [];
if (env.EXAMPLES !== "0" && key) {
  for (const name of EXAMPLES) {
    try {
      if (await client.saveWorkflowIfChanged(name, withModel((await loadExample(name)).spec, model))) saved.push(name);
    } catch (e) {
      console.error(`could not save example ${name}: ${(e as Error).message}`);
    }
  }
}

console.log(
  [
    "",
    `MetaLM workflow service ready in ${readyS} s`,
    `  URL      ${url}   (API docs: ${url}/docs, OpenAPI: ${url}/openapi.json; no key needed)`,
    `  model    ${ready.models.join(", ")} on ${ready.workers} local worker${ready.workers === 1 ? "" : "s"}`,
    keys.devKey
      ? `  API key  ${keys.devKey}   (tenant "local"; send 'Authorization: Bearer <key>'; UI: ${url}/ui/runs?key=${keys.devKey})`
      : "  API key  the development key was revoked: make one with the admin key (POST /v1/admin/keys)",
    `  admin    ${keys.adminKeyCreated ? keys.adminKey : "ADMIN_KEY (or DATA_DIR/admin.key)"}   (creates and revokes API keys: POST /v1/admin/keys)`,
    `  data     ${resolve(env.DATA_DIR ?? "./data")}`,
    env.EXAMPLES !== "0" && key ? `  examples saved as workflows: ${EXAMPLES.join(", ")}${saved.length ? ` (new/updated: ${saved.join(", ")})` : ""}` : "",
    "",
    "Ask a question about an image:",
    `  curl -s ${url}/v1/runs -H 'Authorization: Bearer ${keys.devKey ?? "<key>"}' -H 'Prefer: wait=30' -F request='{"workflowId":"vqa"}' -F image=@workflows/examples/vqa.png -F question='what color is the circle?'`,
    "or with the CLI (progress as it runs):",
    `  METALM_API_KEY=${keys.devKey ?? "<key>"} npm run cli -- run workflows/examples/vqa.json --input image=@workflows/examples/vqa.png --input question="what color is the circle?"${model === "metalm-tiny" ? "" : ` --model ${model}`}`,
    "",
  ]
    .filter((l, i, a) => l !== "" || a[i - 1] !== "")
    .join("\n"),
);
