import { beforeAll, describe, expect, it } from "vitest";
import { JobResultSchema, type Job, type JobResult } from "../../../workflows/index.js";
import { DynamicBatcher } from "../batcher/index.js";
import type { ModelRuntime } from "../ops/runtime.js";
import { sha256Hex } from "../../../workflows/index.js";
import { fixtureRuntime, greedy, reference, referencePngs, toSegments } from "../testing/fixture.js";
import { JobExecutor, type JobItem } from "./execute.js";

let rt: ModelRuntime;
let ex: JobExecutor;
let n = 0;
const base = (model: string) => ({ jobId: `j${++n}`, leaseId: `l${n}`, runId: "r1", stepId: `s${n}`, attempt: 1, deadlineAt: Date.now() + 60_000, model });
const okOf = (r: JobResult) => {
  expect(JobResultSchema.parse(r)).toBeTruthy(); // every result is a valid wire JobResult
  if (!r.ok) throw new Error(`job failed: ${r.error.code} ${r.error.message}`);
  return r;
};
beforeAll(async () => {
  rt = await fixtureRuntime();
  ex = new JobExecutor(new Map([[rt.name, rt]]), "w-test");
});

describe("executeJob", () => {
  it("encode → connect → decode from recipes, with receipts and tensor summaries", async () => {
    const model = rt.name;
    const image = { sha256: sha256Hex(referencePngs.a!) };
    const enc = okOf(await ex.executeJob({ ...base(model), op: "encode", recipe: { model, encoder: "vision", image } }));
    expect(enc.output).toMatchObject({ op: "encode", tensor: { shape: reference.encodings["vision:a"]!.encode.shape, dtype: "float32" } });
    if (enc.output.op !== "encode") throw new Error();
    expect(enc.output.tensor.norm).toBeCloseTo(reference.encodings["vision:a"]!.encode.norm, 3);
    expect(enc.receipt).toMatchObject({
      workerId: "w-test",
      model,
      modelSha256: rt.pkg.sha256,
      tokenizerSha256: rt.pkg.tokenizerSha256,
      ortVersion: "1.30.0",
      executionProvider: "cpu",
    });

    const c = reference.cases.find((x) => x.name === "vqa")!;
    const params = { ...greedy(8), seed: 7 };
    const dec = okOf(await ex.executeJob({ ...base(model), op: "decode", segments: toSegments(rt.pkg, c.segments), params }));
    expect(dec.output).toMatchObject({ op: "decode", tokens: c.greedy.tokens, finishReason: "length" });
    expect(dec.receipt.seed).toBe(7);
    expect(dec.receipt.params).toMatchObject({ maxTokens: 8, temperature: 0 });
    expect(dec.timings.computeMs).toBeGreaterThan(0);
  });

  it("counts encoder-cache hits and misses (a chained step never re-encodes)", async () => {
    const fresh = await fixtureRuntime();
    const e = new JobExecutor(new Map([[fresh.name, fresh]]), "w");
    const model = fresh.name;
    const source = { model, encoder: "vision", image: { sha256: sha256Hex(referencePngs.b!) } };
    const first = okOf(await e.executeJob({ ...base(model), op: "encode", recipe: source }));
    const again = okOf(await e.executeJob({ ...base(model), op: "encode", recipe: source }));
    expect([first.cacheHit, again.cacheHit]).toEqual([false, true]);
    const conn = okOf(await e.executeJob({ ...base(model), op: "connect", recipe: { connector: "vision", source } }));
    expect(conn.cacheHit).toBe(false); // connector output is new, the encoder output came from the cache
    expect(fresh.cache.stats()).toMatchObject({ hits: 2, misses: 2 });
    const dec = okOf(
      await e.executeJob({
        ...base(model),
        op: "decode",
        segments: [
          { kind: "span", recipe: { connector: "vision", source } },
          { kind: "text", text: "caption:" },
        ],
        params: greedy(2),
      }),
    );
    expect(dec.cacheHit).toBe(true);
    expect(fresh.cache.stats()).toMatchObject({ hits: 3, misses: 2 });
  });

  it("prefetchMany encodes the images of jobs leased together in one encoder run and one connector run, with the same outputs", async () => {
    const fresh = await fixtureRuntime();
    const e = new JobExecutor(new Map([[fresh.name, fresh]]), "w");
    const model = fresh.name;
    const names = Object.keys(referencePngs).slice(0, 2);
    expect(names).toHaveLength(2);
    const sources = names.map((k) => ({ model, encoder: "vision", image: { sha256: sha256Hex(referencePngs[k]!) } }));
    const enc = fresh.pkg.encoders.get("vision")!.session;
    const conn = fresh.pkg.connectors.get("vision")!.session;
    const calls = { enc: 0, conn: 0 };
    const encRun = enc.run.bind(enc);
    const connRun = conn.run.bind(conn);
    enc.run = ((...a: Parameters<typeof enc.run>) => (calls.enc++, encRun(...a))) as typeof enc.run;
    conn.run = ((...a: Parameters<typeof conn.run>) => (calls.conn++, connRun(...a))) as typeof conn.run;
    try {
      // two runs: encode + connect + decode each, as one lease answer
      const jobs: Job[] = sources.flatMap((source) => [
        { ...base(model), op: "encode", recipe: source },
        { ...base(model), op: "connect", recipe: { connector: "vision", source } },
        {
          ...base(model),
          op: "decode",
          segments: [
            { kind: "span", recipe: { connector: "vision", source } },
            { kind: "text", text: "caption:" },
          ],
          params: greedy(2),
        },
      ]);
      const hits = await e.prefetchMany(jobs);
      expect(calls).toEqual({ enc: 1, conn: 1 });
      // the first job needing an output owns the miss; the decode after its run's connect is a hit
      expect(hits).toEqual([false, false, true, false, false, true]);
      for (const source of sources) expect((await fresh.connect({ connector: "vision", source })).hit).toBe(true);
      expect(calls).toEqual({ enc: 1, conn: 1 });
    } finally {
      enc.run = encRun;
      conn.run = connRun;
    }
    // the batched outputs equal the one-by-one ones
    for (const source of sources) {
      const alone = await (await fixtureRuntime()).connect({ connector: "vision", source });
      const batched = await fresh.connect({ connector: "vision", source });
      expect(batched.tensor.dims).toEqual(alone.tensor.dims);
      for (let i = 0; i < alone.tensor.data.length; i += 97) expect(batched.tensor.data[i]).toBeCloseTo(alone.tensor.data[i]!, 4);
    }
  });

  it("prefetch computes a job's encoder outputs ahead of it without hiding the miss", async () => {
    const fresh = await fixtureRuntime();
    const e = new JobExecutor(new Map([[fresh.name, fresh]]), "w");
    const model = fresh.name;
    const source = { model, encoder: "vision", image: { sha256: sha256Hex(referencePngs.a!) } };
    const job: Job = {
      ...base(model),
      op: "decode",
      segments: [
        { kind: "span", recipe: { connector: "vision", source } },
        { kind: "text", text: "caption:" },
      ],
      params: greedy(2),
    };
    const first = await e.prefetch(job);
    expect(first).toBe(false);
    expect(fresh.cache.has(fresh.encodeKey(source))).toBe(true);
    expect(okOf(await e.executeJob(job, { prefetchHit: first })).cacheHit).toBe(false);
    const second = await e.prefetch(job);
    expect(okOf(await e.executeJob(job, { prefetchHit: second })).cacheHit).toBe(true);
    expect(
      await e.prefetch({ ...job, segments: [{ kind: "span", recipe: { connector: "vision", source: { ...source, image: { sha256: "f".repeat(64) } } } }] }),
    ).toBe(true); // failures surface when the job runs
  });

  it("reports clear, typed errors without sinking the batch", async () => {
    const model = rt.name;
    const bad: Job = {
      ...base(model),
      op: "decode",
      segments: [{ kind: "span", recipe: { connector: "vision", source: { model, encoder: "vision", image: { sha256: "0".repeat(64) } } } }],
      params: greedy(2),
    };
    const good: Job = { ...base(model), op: "decode", segments: [{ kind: "text", text: "caption:" }], params: greedy(2) };
    const unknown: Job = { ...base("nope"), op: "decode", segments: [{ kind: "text", text: "x" }], params: greedy(2) };
    const wrongConnector: Job = {
      ...base(model),
      op: "connect",
      recipe: { connector: "text", source: { model, encoder: "vision", image: { sha256: "0".repeat(64) } } },
    };
    const [b, g, u, w] = await ex.executeBatch([{ job: bad }, { job: good }, { job: unknown }, { job: wrongConnector }]);
    expect(b!.ok).toBe(false);
    expect(g!.ok).toBe(true);
    expect(u).toMatchObject({ ok: false, error: { code: "unknown_model", retryable: true } });
    expect(w).toMatchObject({ ok: false, error: { code: "connector_mismatch", retryable: false } });
  });
});

describe("dynamic batching of jobs", () => {
  it("gives per-job results identical to one-by-one (decode and explain, different lengths)", async () => {
    const model = rt.name;
    const jobs: Job[] = [];
    reference.cases.forEach((c, i) => {
      const segments = toSegments(rt.pkg, c.segments);
      jobs.push({ ...base(model), op: "decode", segments, params: i % 2 ? { ...greedy(5 + i), temperature: 0.9, seed: i } : greedy(4 + 2 * i) });
      jobs.push({ ...base(model), op: "explain", segments, labels: ["entailment", "contradiction", "neutral"], params: greedy(3 + i) });
    });
    const batches: number[] = [];
    const batcher = new DynamicBatcher<JobItem, JobResult>({
      maxBatchSize: 8,
      maxQueueDelayMs: 20,
      keyOf: (it) => `${it.job.model}:${it.job.op}`,
      run: (items) => ex.executeBatch(items),
      onBatch: (size) => batches.push(size),
    });
    const batched = await Promise.all(jobs.map((job) => batcher.submit({ job })));
    expect(Math.max(...batches)).toBeGreaterThan(1);
    for (let i = 0; i < jobs.length; i++) {
      const alone = okOf(await ex.executeJob(jobs[i]!));
      const b = okOf(batched[i]!);
      expect(b.jobId).toBe(jobs[i]!.jobId);
      const strip = (o: typeof b.output) => JSON.parse(JSON.stringify(o, (k, v) => (k === "logprobs" || k === "scores" ? undefined : v)));
      expect(strip(b.output)).toEqual(strip(alone.output));
      if (b.output.op === "decode" && alone.output.op === "decode")
        b.output.logprobs.forEach((lp, j) => expect(lp).toBeCloseTo((alone.output as { logprobs: number[] }).logprobs[j]!, 4));
    }
  });
});
