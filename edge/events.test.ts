/**
 * SSE: the event stream of a run, `id:` = event id, and `Last-Event-ID` resume.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RunEventSchema } from "../workflows/index.js";
import { call, drive, makeHarness, okResult, pngDataUrl, POOL_TOKEN, register, vqa, type Harness } from "./testing/harness.js";
import { listen, PoolClient } from "./testing/pool-client.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness();
  await register(h.app);
});
afterEach(() => h.close());

type Sse = { id: number; event: string; data: any };
function parseSse(text: string): Sse[] {
  return text
    .split("\n\n")
    .filter((b) => b.includes("data:"))
    .map((block) => {
      const f: Record<string, string> = {};
      for (const line of block.split("\n")) {
        const i = line.indexOf(":");
        if (i > 0) f[line.slice(0, i)] = line.slice(i + 1).trimStart();
      }
      return { id: Number(f.id), event: f.event!, data: JSON.parse(f.data!) };
    });
}

async function readAll(path: string, headers: Record<string, string> = {}) {
  const res = await h.app.request(path, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  return parseSse(await res.text());
}

describe("GET /v1/runs/:id/events", () => {
  it("streams a finished run's history, ending with run.completed; Last-Event-ID resumes after it", async () => {
    const { body: run } = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    await drive(h.app);
    const all = await readAll(`/v1/runs/${run.id}/events`);
    expect(all[0]!.event).toBe("run.created");
    expect(all.at(-1)!.event).toBe("run.completed");
    expect(all.at(-1)!.data.status).toBe("succeeded");
    const ids = all.map((e) => e.id);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(all.filter((e) => e.event === "step.completed").map((e) => e.data.stepId)).toEqual(["see", "dock", "answer", "why"]);
    // every event is one of the vocabulary's, with exactly its data (workflows/src/events.ts)
    for (const e of all) expect(RunEventSchema.parse(e.data), e.event).toEqual(e.data);
    expect(all.every((e) => e.event === e.data.type)).toBe(true);
    // resume from the middle: exactly the rest, by header and by query
    const mid = all[5]!.id;
    const rest = await readAll(`/v1/runs/${run.id}/events`, { "last-event-id": String(mid) });
    expect(rest).toEqual(all.slice(6));
    expect(await readAll(`/v1/runs/${run.id}/events?lastEventId=${mid}`)).toEqual(all.slice(6));
  });

  it("streams live over HTTP: token events arrive as the worker reports them, and a reconnect resumes", async () => {
    const srv = await listen(h.app);
    try {
      const w = new PoolClient(srv.url, "w1", POOL_TOKEN);
      const { body: run } = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
      const jobs = await w.lease(8, 0);
      const answer = jobs.find((j) => j.stepId === "answer")!;
      // first connection: read until the first token event, then drop it
      const ac = new AbortController();
      const res = await fetch(`${srv.url}/v1/runs/${run.id}/events`, { signal: ac.signal });
      const reader = res.body!.getReader();
      let buf = "";
      await w.progress(answer.jobId, [{ index: 0, id: 9, text: "red", logprob: -0.2 }]);
      while (!parseSse(buf).some((e) => e.event === "token")) buf += new TextDecoder().decode((await reader.read()).value);
      ac.abort();
      const seen = parseSse(buf);
      const tok = seen.find((e) => e.event === "token")!;
      expect(tok.data).toMatchObject({ stepId: "answer", index: 0, text: "red" });
      // more happens while disconnected
      await w.progress(answer.jobId, [{ index: 1, id: 2, text: "<eos>", logprob: -0.1 }]);
      await w.results(jobs.map((j) => okResult(j)));
      const [why] = await w.lease(1, 0);
      await w.results([okResult(why!)]);
      const resumed = parseSse(await (await fetch(`${srv.url}/v1/runs/${run.id}/events`, { headers: { "Last-Event-ID": String(seen.at(-1)!.id) } })).text());
      expect(resumed[0]!.id).toBeGreaterThan(seen.at(-1)!.id);
      expect(resumed.find((e) => e.event === "token")!.data.index).toBe(1);
      expect(resumed.at(-1)!.event).toBe("run.completed");
    } finally {
      await srv.close();
    }
  });

  it("rejects a malformed Last-Event-ID", async () => {
    const { body: run } = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    const r = await call(h.app, `/v1/runs/${run.id}/events`, { headers: { "last-event-id": "abc" } });
    expect(r.status).toBe(400);
  });
});
