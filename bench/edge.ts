/**
 * Edge benchmark, on loopback with a real SQLite file:
 *   - GET /v1/runs/:id requests per second (concurrent keep-alive clients),
 *   - POST /v1/runs accept latency p50 / p99 (one client, sequential; a VQA spec with an image).
 * The edge runs as its own process (`edge/node.ts`, no local workers), the load from this one.
 * Targets (issue #2): ≥ 5,000 GET/s from one edge process; POST p99 < 10 ms.
 *
 * Run: npx tsx bench/edge.ts [--seconds 5] [--concurrency 32] [--posts 1000] [--no-rate-limit]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tinyAdvert, vqaSpec } from "../workflows/src/fixtures.js";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg("seconds", 5);
const CONCURRENCY = arg("concurrency", 32);
const POSTS = arg("posts", 1000);
const TOKEN = "bench-token";
/** The API key the edge is started with (DEV_API_KEY) and every API request carries. */
const API_KEY = "mlk_bench_0123456789abcdefghijklmnopqrstuv";
/**
 * The per-key rate limit runs on every API request (one DB upsert). By default it is on with a
 * budget the benchmark cannot exhaust, so its cost is measured; `--no-rate-limit` turns it off.
 */
const RATE_LIMIT = process.argv.includes("--no-rate-limit") ? "0" : "1000000";
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function request(
  port: number,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: { ...(body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

async function startEdge(dataDir: string): Promise<{ port: number; pid: number; stop(): void }> {
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", "edge/node.ts"], {
    env: {
      ...process.env,
      PORT: "0",
      DATA_DIR: dataDir,
      POOL_TOKEN: TOKEN,
      WORKERS: "0",
      DEV_API_KEY: API_KEY,
      RATE_LIMIT_RPS: RATE_LIMIT,
      RATE_LIMIT_BURST: RATE_LIMIT === "0" ? "1" : RATE_LIMIT,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /"url":"http:\/\/[^:]+:(\d+)"/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`edge exited with ${code}`)));
  });
  return { port, pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "edge-bench-"));
  const edge = await startEdge(dir);
  try {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const reg = await request(
      edge.port,
      "POST",
      "/v1/pool/register",
      JSON.stringify({ workerId: "bench", executionProvider: "cpu", ortVersion: "x", models: [tinyAdvert] }),
      auth,
    );
    if (reg.status !== 200) throw new Error(`register: ${reg.status} ${reg.text}`);
    const spec = vqaSpec();
    const postBody = (i: number) => JSON.stringify({ spec, inputs: { image: PNG, question: `q ${i}?` }, tags: ["bench"] });

    // POST accept latency: sequential, after a short warm-up
    for (let i = 0; i < 50; i++) await request(edge.port, "POST", "/v1/runs", postBody(-i));
    const lat: number[] = [];
    let runId = "";
    const postCpu0 = cpuSeconds(edge.pid);
    for (let i = 0; i < POSTS; i++) {
      const t0 = process.hrtime.bigint();
      const r = await request(edge.port, "POST", "/v1/runs", postBody(i));
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 202) throw new Error(`POST /v1/runs: ${r.status} ${r.text}`);
      runId = (JSON.parse(r.text) as { id: string }).id;
    }
    const postCpu = cpuSeconds(edge.pid) - postCpu0;
    lat.sort((a, b) => a - b);

    // GET /v1/runs/:id throughput: CONCURRENCY clients for SECONDS
    const path = `/v1/runs/${runId}`;
    for (let i = 0; i < 200; i++) await request(edge.port, "GET", path);
    let n = 0;
    let errors = 0;
    const end = Date.now() + SECONDS * 1000;
    const t0 = process.hrtime.bigint();
    const getCpu0 = cpuSeconds(edge.pid);
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < end) {
          const r = await request(edge.port, "GET", path);
          if (r.status === 200) n++;
          else errors++;
        }
      }),
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const getCpu = cpuSeconds(edge.pid) - getCpu0;
    const result = {
      "GET /v1/runs/:id req/s": Math.round(n / secs),
      "GET errors": errors,
      "GET concurrency": CONCURRENCY,
      "rate limit": RATE_LIMIT === "0" ? "off" : "on (budget not reached)",
      "POST /v1/runs p50 ms": +pct(lat, 50).toFixed(2),
      "POST /v1/runs p99 ms": +pct(lat, 99).toFixed(2),
      "POST /v1/runs max ms": +lat[lat.length - 1]!.toFixed(2),
      "POST count": POSTS,
      // machine-independent view: what one fully available core would sustain for the edge process
      "edge CPU µs per GET": Math.round((getCpu / n) * 1e6),
      "GET/s per edge CPU-second": Math.round(n / getCpu),
      "edge CPU µs per POST": Math.round((postCpu / POSTS) * 1e6),
      cores: (await import("node:os")).availableParallelism(),
      "load average (1 min) at end": +loadavg()[0]!.toFixed(2),
      "runs in DB": POSTS + 50,
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `targets: GET ≥ 5000/s ${result["GET /v1/runs/:id req/s"] >= 5000 ? "MET" : "NOT MET"}; POST p99 < 10 ms ${result["POST /v1/runs p99 ms"] < 10 ? "MET" : "NOT MET"}`,
    );
  } finally {
    edge.stop();
    agent.destroy();
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 500);
  }
}

void main();
