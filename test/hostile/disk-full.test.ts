/**
 * Disk pressure as a state (issue 15, item 2), on a real full filesystem (a small tmpfs):
 *
 * 1. in-process app, no free-space probe (as on D1): runs with ~1 MB specs until SQLite itself
 *    reports the disk full. Writes answer 507 `insufficient_storage` (never 500), reads (run,
 *    list, UI history) answer 200 — no read writes —, /readyz 503; after space is freed the next
 *    write commits and /readyz is 200 again, no restart; every accepted run is still there.
 * 2. the real edge process (statfs probe): a disk filled by someone else. Uploads are refused
 *    before they are read, reads work, /readyz 503, a handful of log lines (not one a second);
 *    freeing space brings it back, and a run created then finishes on a real worker.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeHarness, call, register, vqa, pngDataUrl, type Harness } from "../../edge/testing/harness.js";
import { freePort } from "../helpers/net.js";
import { api, DEV_KEY, startEdge, startWorker, until, vqaSpec, type Edge, type Proc } from "../faults/procs.js";
import { ballast, canMountTmpfs, fillDisk, mountTmpfs } from "./tmpfs.js";

const can = canMountTmpfs();

/** A valid spec of about `mb` MB: one decode step with 64 text segments of 16,000 characters each. */
function bigSpec(mb: number, tag: string) {
  const steps = [];
  for (let s = 0; s < mb; s++)
    steps.push({
      id: `s${s}`,
      op: "decode",
      model: "metalm-tiny",
      segments: Array.from({ length: 64 }, (_, i) => ({ text: `${tag}-${s}-${i} ${"x".repeat(15_980)}` })),
      params: { maxTokens: 1 },
    });
  return { name: "big", steps };
}

describe.skipIf(!can)("full disk, SQLite write path (in-process, no statfs probe)", () => {
  let fs: ReturnType<typeof mountTmpfs>;
  let h: Harness;
  beforeAll(async () => {
    fs = mountTmpfs(24);
    // the rate limiter on: it used to write a row on every request, reads included
    h = makeHarness({ rateLimit: { perSecond: 1000, burst: 1000 } }, join(fs.dir, "data"));
    await register(h.app);
  });
  afterAll(() => {
    h?.store.close();
    fs?.unmount();
  });

  it("writes 507, reads 200, readyz 503, then recovers when space returns", async () => {
    ballast(join(fs.dir, "ballast"), 6 << 20);
    const accepted: string[] = [];
    const statuses: number[] = [];
    let full: { status: number; body: any } | undefined;
    for (let i = 0; i < 40 && !full; i++) {
      const r = await call(h.app, "/v1/runs", { body: { spec: bigSpec(1, `r${i}`) } });
      statuses.push(r.status);
      if (r.status === 202) accepted.push(r.body.id);
      else full = r;
    }
    expect(full, `never filled the disk: ${statuses.join(",")}`).toBeDefined();
    expect(full!.status).toBe(507);
    expect(full!.body.error.code).toBe("insufficient_storage");
    expect(full!.body.error.details.reason).toMatch(/^SQLITE_(FULL|IOERR)/);
    expect(accepted.length).toBeGreaterThan(3);

    // small writes meet the same wall — 507, never 500 — once SQLite's own free pages and WAL
    // room (which it reuses) are gone: fill the filesystem to the byte and keep writing
    fillDisk(join(fs.dir, "filler"));
    const small: number[] = [];
    for (let i = 0; i < 300 && small.at(-1) !== 507; i++) {
      const r = await [
        () => call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: `q${i}?` } } }),
        () => call(h.app, "/v1/workflows", { body: { spec: { ...vqa(), name: `saved-${i}` } } }),
        () => call(h.app, `/v1/runs/${accepted[i % accepted.length]}/cancel`, { method: "POST" }),
      ][i % 3]!();
      small.push(r.status);
      if (r.status === 507) expect(r.body.error.code).toBe("insufficient_storage");
    }
    expect(small.at(-1), small.join(",")).toBe(507);
    expect(small.filter((s) => s >= 500 && s !== 507)).toEqual([]);
    // reads still work: they write nothing
    for (const path of [`/v1/runs/${accepted.at(-1)}`, "/v1/runs?limit=5", "/v1/models", "/ui/runs"]) {
      const r = await h.app.request(path);
      expect(r.status, path).toBe(200);
    }
    const notReady = await call(h.app, "/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ ready: false, db: true, storage: "failing" });

    // space returns: the next write commits and the state clears, same process, same store
    rmSync(join(fs.dir, "filler"));
    rmSync(join(fs.dir, "ballast"));
    const again = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "after" } } });
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    await register(h.app); // fresh worker heartbeat (the run above proves writes work)
    const ready = await call(h.app, "/readyz");
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    expect(ready.body.storage).toBe("ok");
    // nothing accepted was lost
    for (const id of accepted) expect((await call(h.app, `/v1/runs/${id}`)).status).toBe(200);
  }, 120_000);
});

describe.skipIf(!can)("full disk, real edge process with the free-space check", () => {
  let fs: ReturnType<typeof mountTmpfs>;
  let edge: Edge;
  let worker: Proc | undefined;
  beforeAll(async () => {
    fs = mountTmpfs(48);
    edge = await startEdge(join(fs.dir, "data"), await freePort(), { MIN_FREE_DISK_BYTES: String(2 << 20), RATE_LIMIT_RPS: "1000" });
    worker = startWorker(edge.url, "w-disk");
    await until("the worker to register", async () => (await api(edge.url, "/v1/models")).body.models?.length > 0, 60_000);
  }, 90_000);
  afterAll(async () => {
    await worker?.kill();
    await edge?.kill();
    fs?.unmount();
  });

  it("refuses uploads before reading them, keeps reads, recovers without restart", async () => {
    const before = await api(edge.url, "/v1/runs", { spec: vqaSpec(), inputs: { image: pngDataUrl(), question: "before" } });
    expect(before.status, JSON.stringify(before.body)).toBe(202);
    fillDisk(join(fs.dir, "filler"));

    const refused = await api(edge.url, "/v1/runs", { spec: vqaSpec(), inputs: { image: pngDataUrl(), question: "during" } });
    expect(refused.status).toBe(507);
    expect(refused.body.error.code).toBe("insufficient_storage");
    expect(refused.body.error.message).toMatch(/free disk space/);
    expect(refused.body.error.details).toMatchObject({ reserveBytes: 2 << 20 });
    // a 10 MB upload is refused from its Content-Length, before a byte of it is stored
    const big = await fetch(`${edge.url}/v1/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${DEV_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ spec: bigSpec(10, "u") }),
    });
    expect(big.status).toBe(507);

    expect((await api(edge.url, `/v1/runs/${before.body.id}`)).status).toBe(200);
    expect((await api(edge.url, "/v1/runs")).status).toBe(200);
    const nr = await api(edge.url, "/readyz");
    expect(nr.status).toBe(503);
    expect(nr.body.storage).toMatch(/low|failing/);
    await new Promise((r) => setTimeout(r, 3000)); // sweeps and the dispatcher keep running meanwhile

    rmSync(join(fs.dir, "filler"));
    await until("ready again", async () => (await api(edge.url, "/readyz")).status === 200, 60_000);
    const after = await api(edge.url, "/v1/runs", { spec: vqaSpec(), inputs: { image: pngDataUrl(), question: "after" } });
    expect(after.status).toBe(202);
    for (const id of [before.body.id, after.body.id]) {
      const end = await until(
        `run ${id}`,
        async () => {
          const v = (await api(edge.url, `/v1/runs/${id}`)).body;
          return ["succeeded", "failed", "canceled", "timed_out"].includes(v.status) ? v : undefined;
        },
        90_000,
      );
      expect(end.status, JSON.stringify(end.steps.map((s: { id: string; status: string; error: unknown }) => [s.id, s.status, s.error]))).toBe("succeeded");
    }
    const noisy = edge
      .output()
      .split("\n")
      .filter((l) => /SQLITE_FULL|ENOSPC|unhandled/.test(l));
    expect(noisy.length, noisy.slice(0, 5).join("\n")).toBeLessThanOrEqual(4);
  }, 120_000);
});
