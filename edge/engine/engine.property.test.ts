/**
 * Property test of the run engine: random interleavings of leases by two workers, good and
 * failing results, duplicate and stale results, lease expiry (a controlled clock), and cancels.
 * Whatever happens, the stored state stays consistent and a finished run never changes again.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isRunTerminal, isTerminal, type Job, type JobResult, type StepStatus } from "../../workflows/index.js";
import { call, lease, makeHarness, okResult, pngDataUrl, postResults, register, vqa } from "../testing/harness.js";

type Op =
  | { k: "lease"; w: 0 | 1; max: number }
  | { k: "ok"; w: 0 | 1; pick: number }
  | { k: "fail"; w: 0 | 1; pick: number; retryable: boolean }
  | { k: "dup"; pick: number }
  | { k: "tick"; ms: number }
  | { k: "cancel"; run: number }
  | { k: "create" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("lease" as const), w: fc.constantFrom(0 as const, 1 as const), max: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ k: fc.constant("ok" as const), w: fc.constantFrom(0 as const, 1 as const), pick: fc.nat() }),
  fc.record({ k: fc.constant("fail" as const), w: fc.constantFrom(0 as const, 1 as const), pick: fc.nat(), retryable: fc.boolean() }),
  fc.record({ k: fc.constant("dup" as const), pick: fc.nat() }),
  fc.record({ k: fc.constant("tick" as const), ms: fc.constantFrom(100, 600, 1500) }),
  fc.record({ k: fc.constant("cancel" as const), run: fc.nat() }),
  fc.record({ k: fc.constant("create" as const) }),
);

describe("engine invariants under random interleavings", () => {
  it("state stays consistent; results apply at most once; finished runs are frozen", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), fc.integer({ min: 0, max: 9 }), async (ops, variant) => {
        let clock = 1_700_000_000_000;
        const h = makeHarness({ now: () => clock, leaseMs: 1000 });
        try {
          const workers = ["wa", "wb"];
          const spec: any = vqa();
          for (const s of spec.steps) s.retry = { maxAttempts: 2, backoffMs: 0 };
          const runIds: string[] = [];
          const held: [Job[], Job[]] = [[], []];
          const posted: { w: string; res: JobResult }[] = [];
          const frozen = new Map<string, string>();
          const create = async () => {
            // live workers poll all the time; after long ticks they would look gone (and their
            // models unknown to validation), so they check in first
            for (const w of workers) await register(h.app, w);
            // `variant` varies the question so memo hits happen sometimes, not always
            const q = `q${runIds.length % (variant + 1)}`;
            const r = await call(h.app, "/v1/runs", { body: { spec, inputs: { image: pngDataUrl(), question: q } } });
            expect([200, 202]).toContain(r.status);
            runIds.push(r.body.id);
          };
          await create();
          for (const op of ops) {
            switch (op.k) {
              case "create":
                await create();
                break;
              case "lease":
                held[op.w].push(...(await lease(h.app, workers[op.w], op.max, 0)));
                break;
              case "ok":
              case "fail": {
                const list = held[op.w];
                if (!list.length) break;
                const [job] = list.splice(op.pick % list.length, 1);
                const res: JobResult =
                  op.k === "ok"
                    ? okResult(job!, workers[op.w])
                    : { jobId: job!.jobId, leaseId: job!.leaseId, ok: false, error: { code: "boom", message: "boom", retryable: op.retryable } };
                const r = await postResults(h.app, workers[op.w]!, [res]);
                expect(r.status).toBe(200);
                posted.push({ w: workers[op.w]!, res });
                break;
              }
              case "dup": {
                if (!posted.length) break;
                const p = posted[op.pick % posted.length]!;
                const r = await postResults(h.app, p.w, [p.res]);
                expect(r.body.accepted).toEqual([]); // never applied twice
                break;
              }
              case "tick":
                clock += op.ms;
                break;
              case "cancel":
                await call(h.app, `/v1/runs/${runIds[op.run % runIds.length]}/cancel`, { method: "POST" });
                break;
            }
            // invariants after every step
            for (const id of runIds) {
              const { body: run } = await call(h.app, `/v1/runs/${id}`);
              const steps = run.steps as { id: string; status: StepStatus; output: unknown; attempts: number; maxAttempts: number }[];
              const allDone = steps.every((s) => isTerminal(s.status));
              expect(isRunTerminal(run.status)).toBe(allDone || run.status === "canceled");
              for (const s of steps) {
                if (s.status === "succeeded" || s.status === "cached") expect(s.output).not.toBeNull();
                expect(s.attempts).toBeLessThanOrEqual(s.maxAttempts);
              }
              if (run.status === "succeeded") expect(run.outputs.answer).toBe("red");
              const snapshot = JSON.stringify(run);
              if (frozen.has(id)) expect(snapshot).toBe(frozen.get(id));
              else if (isRunTerminal(run.status)) frozen.set(id, snapshot);
            }
          }
          // events: strictly increasing ids, exactly one run.completed per finished run
          const events = await h.store.db.query.runEvents.findMany();
          for (let i = 1; i < events.length; i++) expect(events[i]!.id).toBeGreaterThan(events[i - 1]!.id);
          for (const id of frozen.keys()) expect(events.filter((e) => e.runId === id && e.type === "run.completed")).toHaveLength(1);
          // no job is live for a finished run
          const jobs = await h.store.db.query.jobs.findMany();
          for (const j of jobs) if (frozen.has(j.runId)) expect(["done", "failed", "canceled"]).toContain(j.status);
        } finally {
          h.close();
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
