/**
 * What reading a lease answer costs the worker, side by side: the JSON answer (base64 image, the
 * whole answer parsed and validated, the image decoded from base64) vs the binary frame
 * (workflows/src/lease-frame.ts: a small JSON head validated, the image copied out). A VQA lease:
 * three jobs and one 128-pixel scene image, as the worker gets it over HTTP (a Buffer). Rounds
 * alternate; prints µs per answer, best and per round, and the bytes on the wire.
 *
 * Run: npx tsx bench/lease-frame.ts [--answers 5000] [--rounds 3]
 */
import { loadavg } from "node:os";
import { randomScene, renderPng, rng } from "../gpu-worker/eval/shapes.js";
import { decodeLeaseFrame, encodeLeaseFrame, LeaseFrameHeadSchema, LeaseResponseSchema } from "../workflows/index.js";
import { sha256Hex } from "../workflows/src/hash.js";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ANSWERS = arg("answers", 5000);
const ROUNDS = arg("rounds", 3);

const image = new Uint8Array(renderPng(randomScene(rng(5)), { size: 128, seed: 5 }));
const sha = sha256Hex(image);
const base = { leaseId: "lease_1", runId: "run_1", attempt: 1, deadlineAt: 1_700_000_000_000, model: "metalm-tiny", tenant: "local" };
const source = { model: "metalm-tiny", encoder: "vision", image: { sha256: sha } };
const jobs = [
  { ...base, jobId: "job_1", stepId: "see", op: "encode", recipe: source },
  { ...base, jobId: "job_2", stepId: "dock", op: "connect", recipe: { connector: "vision", source } },
  {
    ...base,
    jobId: "job_3",
    stepId: "answer",
    op: "decode",
    segments: [
      { kind: "span", recipe: { connector: "vision", source } },
      { kind: "text", text: "question: what color is the circle? answer:" },
    ],
    params: { maxTokens: 8, temperature: 0, topK: 0, topP: 1, seed: 0 },
  },
];
const json = Buffer.from(JSON.stringify({ jobs, blobs: { [sha]: Buffer.from(image).toString("base64") } }));
const frame = Buffer.from(encodeLeaseFrame(jobs, { [sha]: image }));

const ways: Record<string, () => unknown> = {
  json: () => {
    const r = LeaseResponseSchema.parse(JSON.parse(json.toString("utf8")));
    return Object.values(r.blobs ?? {}).map((b64) => new Uint8Array(Buffer.from(b64, "base64")));
  },
  frame: () => {
    const f = decodeLeaseFrame(frame);
    LeaseFrameHeadSchema.parse(f.head);
    return f.blobs;
  },
};
for (const fn of Object.values(ways)) for (let i = 0; i < 1000; i++) fn(); // both parse: same jobs, same image
console.log(
  `bench/lease-frame: image ${image.length} B; answer ${json.length} B as JSON, ${frame.length} B as a frame; load average ${loadavg()[0]!.toFixed(2)}`,
);
const per: Record<string, number[]> = { json: [], frame: [] };
for (let r = 0; r < ROUNDS; r++)
  for (const [name, fn] of Object.entries(ways)) {
    const t0 = performance.now();
    for (let i = 0; i < ANSWERS; i++) fn();
    per[name]!.push(((performance.now() - t0) / ANSWERS) * 1000);
  }
for (const [name, xs] of Object.entries(per))
  console.log(
    `${name.padEnd(6)} ${Math.min(...xs)
      .toFixed(1)
      .padStart(7)} µs per answer (rounds: ${xs.map((x) => x.toFixed(1)).join(", ")})`,
  );
console.log(`json / frame (best): ${(Math.min(...per.json!) / Math.min(...per.frame!)).toFixed(1)}×`);
