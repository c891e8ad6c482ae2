/**
 * The edge's cost per phase of a VQA run, in this process (no HTTP, no worker): `app.request`
 * for POST /v1/runs (multipart, fresh image), the lease of its 3 jobs, their results in one post,
 * and GET /v1/runs/:id — CPU time per phase (process.cpuUsage) and the SQLite pages each phase
 * writes (WAL frames; autocheckpoint off while measuring). A real SQLite file (the test harness).
 * What bench/e2e.ts measures end to end, taken apart, so a change to one phase shows in it.
 *
 * Run: npx tsx bench/phases.ts [--runs 300] [--rounds 3] [--wire] [--batch 1]
 *
 * `--wire`: requests as they arrive over HTTP — bodies as bytes with a Content-Length, the multipart
 * body encoded before the clock starts — so a phase counts the edge's work only. Without it (the
 * default, comparable with earlier numbers) the POST phase also counts encoding the FormData and
 * hono's streaming body limit, which a request with a Content-Length skips.
 *
 * `--batch K` (default 1): K runs created, then ONE lease for all their jobs and ONE results post,
 * as a worker under load sees them (numbers stay per run).
 */
import { statSync } from "node:fs";
import { loadavg } from "node:os";
import { AUTH, makeHarness, okResult, PNG_1PX, register } from "../edge/testing/harness.js";
import { loadExample, withModel } from "../workflows/examples/index.js";
import { tinyAdvert } from "../workflows/src/fixtures.js";
import type { Job } from "../workflows/index.js";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg("runs", 300);
const ROUNDS = arg("rounds", 3);
const WIRE = process.argv.includes("--wire");
const BATCH = arg("batch", 1);
const PHASES = ["post", "lease", "results", "get"] as const;
type Phase = (typeof PHASES)[number];

const spec = withModel((await loadExample("vqa")).spec, tinyAdvert.name);
const h = makeHarness({ leaseMs: 60_000 });
await register(h.app, "w1", [tinyAdvert]);
const sqlite = (h.store.db as unknown as { $client: { pragma(s: string): unknown } }).$client;
const walFrames = () => {
  try {
    return (statSync(`${h.file}-wal`).size - 32) / (4096 + 24);
  } catch {
    return 0;
  }
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let seed = 0;
/** A distinct image each run (the edge checks magic bytes and hashes; trailing bytes make it new). */
const image = () => Buffer.concat([PNG_1PX, Buffer.from(`#${seed++}`)]);
const json = (body: unknown) => {
  const text = JSON.stringify(body);
  const length: Record<string, string> = WIRE ? { "content-length": String(Buffer.byteLength(text)) } : {};
  return { method: "POST", headers: { ...AUTH, "content-type": "application/json", ...length }, body: text };
};
/** A VQA create request; with --wire, as the bytes an HTTP client sends (encoded here, off the clock). */
async function createRequest(): Promise<RequestInit> {
  const form = new FormData();
  form.set("request", JSON.stringify({ spec, inputs: { question: "how many objects are there?" } }));
  form.set("image", new Blob([image()]), "image");
  if (!WIRE) return { method: "POST", body: form };
  const r = new Request("http://edge/", { method: "POST", body: form });
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { method: "POST", body: bytes, headers: { "content-type": r.headers.get("content-type")!, "content-length": String(bytes.length) } };
}

async function oneRun(cpu: Record<Phase, number>, pages: Record<Phase, number>): Promise<void> {
  const inits: (RequestInit | undefined)[] = [];
  for (let k = 0; k < BATCH; k++) inits.push(WIRE ? await createRequest() : undefined);
  let t = cpuMs();
  let f = walFrames();
  const mark = (p: Phase) => {
    const t1 = cpuMs();
    const f1 = walFrames();
    cpu[p] += t1 - t;
    pages[p] += f1 - f;
    t = t1;
    f = f1;
  };
  const ids: string[] = [];
  for (let k = 0; k < BATCH; k++) {
    const r = await h.app.request("/v1/runs", inits[k] ?? (await createRequest()));
    if (r.status !== 202) throw new Error(`POST /v1/runs ${r.status}: ${await r.text()}`);
    ids.push(((await r.json()) as { id: string }).id);
  }
  mark("post");
  const lr = await h.app.request("/v1/pool/lease", json({ workerId: "w1", max: 3 * BATCH, waitMs: 0 }));
  const jobs = ((await lr.json()) as { jobs: Job[] }).jobs;
  if (jobs.length !== 3 * BATCH) throw new Error(`leased ${jobs.length} jobs, not ${3 * BATCH}`);
  mark("lease");
  const rr = await h.app.request("/v1/pool/results", json({ workerId: "w1", results: jobs.map((j) => okResult(j, "w1")) }));
  if (rr.status !== 200) throw new Error(`results ${rr.status}`);
  await rr.text();
  mark("results");
  for (const id of ids) {
    const run = (await (await h.app.request(`/v1/runs/${id}`)).json()) as { status: string };
    if (run.status !== "succeeded") throw new Error(`run ${id} ${run.status}`);
  }
  mark("get");
}

const zero = () => Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
for (let i = 0; i < Math.ceil(50 / BATCH); i++) await oneRun(zero(), zero()); // warm up (JIT, statement cache)
const N = Math.ceil(RUNS / BATCH); // rounds of BATCH runs; numbers per run
console.log(
  `bench/phases: ${N * BATCH} runs (${BATCH} per lease) × ${ROUNDS} rounds${WIRE ? " (--wire)" : ""}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
console.log(`round  ${PHASES.map((p) => `${p} ms`.padStart(11)).join("")}   total ms   pages: ${PHASES.join(" / ")}`);
const totals: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const cpu = zero();
  const pages = zero();
  sqlite.pragma("wal_checkpoint(TRUNCATE)");
  sqlite.pragma("wal_autocheckpoint = 0");
  for (let i = 0; i < N; i++) await oneRun(cpu, pages);
  sqlite.pragma("wal_autocheckpoint = 1000");
  const R = N * BATCH;
  const total = PHASES.reduce((a, p) => a + cpu[p], 0) / R;
  totals.push(total);
  console.log(
    `${String(round).padStart(5)}  ${PHASES.map((p) => (cpu[p] / R).toFixed(3).padStart(11)).join("")}  ${total.toFixed(3).padStart(9)}   ${PHASES.map((p) => (pages[p] / R).toFixed(1)).join(" / ")}`,
  );
}
console.log(`edge CPU per run (in process, no HTTP): min ${Math.min(...totals).toFixed(2)} ms; load average at end ${loadavg()[0]!.toFixed(2)}`);
h.close();
