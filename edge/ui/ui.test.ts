/**
 * The UI's HTML routes through `app.request` on a real SQLite file: everything here is what a
 * browser without JavaScript gets (history, run page, forms that post and redirect).
 */
import { Script } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runs } from "../../db/schema.js";
import { createTenantKeySync } from "../testing/tenants.js";
import { call, drive, lease, makeHarness, okResult, PNG_1PX, pngDataUrl, postResults, register, vqa, type Harness } from "../testing/harness.js";

let h: Harness;
beforeEach(async () => {
  h = makeHarness();
  await register(h.app);
});
afterEach(() => h.close());

const get = async (path: string) => {
  const res = await h.app.request(path);
  return { status: res.status, type: res.headers.get("content-type") ?? "", location: res.headers.get("location"), text: await res.text(), res };
};

async function finishedRun(tags: string[] = ["demo"], text = "red", question = "what color is the circle?") {
  const created = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question }, tags } });
  expect(created.status).toBe(202);
  await drive(h.app, "w1", 10, text);
  return created.body.id as string;
}

const form = (fields: Record<string, string | Blob>) => {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.set(k, v);
  return fd;
};

describe("history (no JavaScript needed)", () => {
  it("/ redirects to the history; an empty history says so", async () => {
    const root = await get("/");
    expect(root.status).toBe(302);
    expect(root.location).toBe("/ui/runs");
    const page = await get("/ui/runs");
    expect(page.status).toBe(200);
    expect(page.type).toContain("text/html");
    expect(page.text).toContain("No runs yet");
    expect(page.text).not.toContain("<script");
  });

  it("lists runs with status, outputs, tags and counts per status; filters by status and tag", async () => {
    const id = await finishedRun(["demo"]);
    const queued = (await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "q2" }, tags: ["other"] } })).body.id;
    const page = await get("/ui/runs");
    expect(page.text).toContain(`href="/ui/runs/${id}"`);
    expect(page.text).toContain(`href="/ui/runs/${queued}"`);
    expect(page.text).toMatch(/data-count="succeeded">1</);
    expect(page.text).toMatch(/data-count="(queued|running)">1</);
    expect(page.text).toContain("because it is red");
    const bySucceeded = await get("/ui/runs?status=succeeded");
    expect(bySucceeded.text).toContain(id);
    expect(bySucceeded.text).not.toContain(`data-run="${queued}"`);
    const byTag = await get("/ui/runs?tag=other");
    expect(byTag.text).toContain(`data-run="${queued}"`);
    expect(byTag.text).not.toContain(`data-run="${id}"`);
    const today = new Date().toISOString().slice(0, 10);
    expect((await get(`/ui/runs?from=${today}&to=${today}`)).text).toContain(`data-run="${id}"`);
    expect((await get(`/ui/runs?to=2001-01-01`)).text).toContain("No runs match these filters");
  });

  it("filters by saved workflow (offered in a datalist)", async () => {
    const saved = await call(h.app, "/v1/workflows", { body: { id: "my-vqa", spec: vqa() } });
    expect(saved.status).toBe(201);
    const viaSaved = await call(h.app, "/v1/runs", { body: { workflowId: "my-vqa", inputs: { image: pngDataUrl(), question: "saved?" } } });
    const inline = await finishedRun(["demo"], "red", "inline?");
    const page = await get("/ui/runs?workflow=my-vqa");
    expect(page.text).toContain('<option value="my-vqa">');
    expect(page.text).toContain(`data-run="${viaSaved.body.id}"`);
    expect(page.text).not.toContain(`data-run="${inline}"`);
    expect(page.text).toContain("my-vqa v1");
  });

  it("bad filters answer 400 with the form and a message, never a 500", async () => {
    const bad = await get("/ui/runs?from=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("Created from");
    const cursor = await get("/ui/runs?cursor=nope!");
    expect(cursor.status).toBe(400);
    expect(cursor.text).toContain("cursor");
    expect((await get("/ui/runs?status=bogus")).status).toBe(400);
  });

  it("pages with a cursor and stays fast with thousands of runs", async () => {
    const spec = vqa();
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      id: `run_${String(i).padStart(26, "0")}`,
      spec: spec as never,
      inputs: {},
      catalog: {},
      status: (i % 3 === 0 ? "failed" : "succeeded") as "failed" | "succeeded",
      tags: [],
      createdAt: 1_700_000_000_000 + i,
      updatedAt: 1_700_000_000_000 + i,
      outputs: { answer: `a${i}` },
    }));
    for (let i = 0; i < rows.length; i += 100) await h.store.db.insert(runs).values(rows.slice(i, i + 100));
    await get("/ui/runs"); // warm
    const t0 = performance.now();
    const first = await get("/ui/runs");
    const ms = performance.now() - t0;
    expect(first.text).toMatch(/data-count="failed">1000</);
    expect(first.text).toMatch(/data-count="succeeded">2000</);
    expect(first.text.match(/<tr data-run=/g)).toHaveLength(25);
    expect(first.text).toContain("run_00000000000000000000002999");
    expect(ms).toBeLessThan(500);
    const next = /href="(\/ui\/runs\?[^"]*cursor=[^"]+)" rel="next"/.exec(first.text)?.[1]?.replace(/&amp;/g, "&");
    expect(next).toBeTruthy();
    const second = await get(next!);
    expect(second.text).toContain("run_00000000000000000000002974");
    expect(second.text).not.toContain("run_00000000000000000000002975");
    expect(second.text).toContain("← Newest");
  });
});

describe("run page", () => {
  it("renders one cell per step: image, answer with tokens, label bars, explanation, tensor summary, receipt", async () => {
    const id = await finishedRun();
    const page = await get(`/ui/runs/${id}`);
    expect(page.status).toBe(200);
    const t = page.text;
    for (const step of ["see", "dock", "answer", "why"]) expect(t).toContain(`id="cell-${step}"`);
    expect(t).toContain(`src="/ui/runs/${id}/inputs/image"`);
    expect(t).toMatch(/data-answer>red</);
    expect(t).toContain('<span title="template: question: {{inputs.question}} answer:" data-resolved>question: what color is the circle? answer:</span>');
    expect(t).toContain("hypothesis: the circle is red it is"); // a value dep, resolved
    expect(t).toMatch(/class="tok" style="--p:0\.905"/); // exp(-0.1)
    expect(t).toMatch(/data-label="entailment"/);
    expect(t).toContain("because it is red");
    expect(t).toContain("<code>[1, 16, 128]</code>");
    expect(t).toContain("Reproducibility receipt");
    expect(t).toContain("a".repeat(64)); // model sha256 in the receipt
    expect(t).toContain('data-live="0"');
    expect(t).toContain('data-run-status="succeeded"');
  });

  it("the receipt names the execution provider actually used, and a fallback with its reason", async () => {
    // a receipt without fallback shows none (first: the run below reuses this one's encoder steps)
    const plain = (await get(`/ui/runs/${await finishedRun()}`)).text;
    expect(plain).toContain('<dd data-provider="cpu">cpu</dd>');
    expect(plain).not.toContain('class="fallback"');
    const created = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "which provider?" } } });
    const fell = {
      requestedProviders: ["webgpu", "cpu"],
      providerFallbacks: [{ provider: "webgpu", reason: "Failed to get a WebGPU adapter: No supported adapters" }],
    };
    for (let round = 0; round < 10; round++) {
      const jobs = await lease(h.app, "w1", 64, 0);
      if (!jobs.length) break;
      await postResults(
        h.app,
        "w1",
        jobs.map((j) => {
          const r = okResult(j);
          return r.ok ? { ...r, receipt: { ...r.receipt, ...fell } } : r;
        }),
      );
    }
    const t = (await get(`/ui/runs/${created.body.id}`)).text;
    expect(t).toContain('<dd data-provider="cpu">cpu <span class="muted">(requested webgpu, cpu)</span>');
    expect(t).toContain('<span class="fallback">— fell back: webgpu failed: Failed to get a WebGPU adapter: No supported adapters</span>');
    // the API stores and returns the same receipt fields
    const run = await call(h.app, `/v1/runs/${created.body.id}`);
    expect(run.body.steps.find((s: { id: string }) => s.id === "answer").receipt).toMatchObject({ executionProvider: "cpu", ...fell });
  });

  it("a failed step shows its error on its cell, and the steps it starved as skipped", async () => {
    const created = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl(), question: "fails?" } } });
    const jobs = await lease(h.app);
    const answer = jobs.find((j) => j.stepId === "answer")!;
    await postResults(h.app, "w1", [
      ...jobs.filter((j) => j !== answer).map((j) => okResult(j)),
      {
        jobId: answer.jobId,
        leaseId: answer.leaseId,
        ok: false,
        error: { code: "shape_mismatch", message: "decoder input has the wrong shape", retryable: false },
      },
    ]);
    const page = await get(`/ui/runs/${created.body.id}`);
    expect(page.text).toContain('data-run-status="failed"');
    expect(page.text).toMatch(/id="cell-answer" data-step="answer" data-status="failed"/);
    expect(page.text).toContain("decoder input has the wrong shape");
    expect(page.text).toMatch(/id="cell-why" data-step="why" data-status="skipped"/);
  });

  it("serves the run's input image (and 404s for other names and unknown runs, as HTML)", async () => {
    const id = await finishedRun();
    const img = await h.app.request(`/ui/runs/${id}/inputs/image`);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await img.arrayBuffer()).equals(PNG_1PX)).toBe(true);
    expect((await get(`/ui/runs/${id}/inputs/question`)).status).toBe(404);
    const missing = await get("/ui/runs/run_00000000000000000000000000");
    expect(missing.status).toBe(404);
    expect(missing.type).toContain("text/html");
    expect((await get("/ui/runs/nope")).status).toBe(404);
    expect((await get("/ui/nowhere")).status).toBe(404);
  });

  it("a live run says so and carries the event id the live view resumes from", async () => {
    const created = await call(h.app, "/v1/runs", { body: { spec: vqa(), inputs: { image: pngDataUrl() } } });
    const page = await get(`/ui/runs/${created.body.id}`);
    expect(page.text).toContain('data-live="1"');
    expect(page.text).toMatch(/data-last-event-id="[1-9]\d*"/);
    expect(page.text).toContain('src="/ui/assets/run.js"');
    const frag = await get(`/ui/runs/${created.body.id}/fragment/cell/answer`);
    expect(frag.text.trim()).toMatch(/^<li class="cell" id="cell-answer"/);
    const head = await get(`/ui/runs/${created.body.id}/fragment/head`);
    expect(head.text).toContain('id="run-head"');
    const cancel = await h.app.request(`/ui/runs/${created.body.id}/cancel`, { method: "POST", body: form({}) });
    expect(cancel.status).toBe(303);
    expect((await call(h.app, `/v1/runs/${created.body.id}`)).body.status).toBe("canceled");
  });

  it("the rerun form reruns from a cell with changed params, reusing upstream cells", async () => {
    const id = await finishedRun();
    const res = await h.app.request(`/ui/runs/${id}/rerun`, {
      method: "POST",
      body: form({
        fromStep: "answer",
        "params.maxTokens": "8",
        "params.temperature": "0.5",
        "params.seed": "7",
        "params.stop": "",
        "segment.1": "question: what is it? answer:",
      }),
    });
    expect(res.status).toBe(303);
    const newId = res.headers.get("location")!.split("/").pop()!;
    const child = (await call(h.app, `/v1/runs/${newId}`)).body;
    expect(child.parentRunId).toBe(id);
    expect(child.rerunFrom).toBe("answer");
    const answer = child.spec.steps.find((s: { id: string }) => s.id === "answer");
    expect(answer.params).toMatchObject({ temperature: 0.5, seed: 7, maxTokens: 8 });
    expect(answer.segments[1].text).toBe("question: what is it? answer:");
    expect(child.steps.find((s: { id: string }) => s.id === "see").status).toBe("cached");
    const page = await get(`/ui/runs/${newId}`);
    expect(page.text).toContain(`/ui/compare?a=${id}&b=${newId}`);
  });

  it("'edit inputs and rerun' reruns from the first step reading a changed input", async () => {
    const id = await finishedRun(["demo"], "red", "what is on the left?");
    const res = await h.app.request(`/ui/runs/${id}/rerun-inputs`, {
      method: "POST",
      body: form({ "inputs.question": "what is on the right?", "inputs.n": "1" }),
    });
    expect(res.status).toBe(303);
    const child = (await call(h.app, `/v1/runs/${res.headers.get("location")!.split("/").pop()}`)).body;
    expect(child).toMatchObject({ parentRunId: id, rerunFrom: "answer" });
    expect(child.inputs.question).toBe("what is on the right?");
    expect(child.steps.find((s: { id: string }) => s.id === "dock").status).toBe("cached");
    const same = await h.app.request(`/ui/runs/${id}/rerun-inputs`, { method: "POST", body: form({ "inputs.question": "what is on the left?" }) });
    expect(same.status).toBe(400);
    expect(await same.text()).toContain("No input was changed");
  });

  it("a rejected rerun shows the API's message on the run page", async () => {
    const id = await finishedRun();
    const res = await h.app.request(`/ui/runs/${id}/rerun`, { method: "POST", body: form({ fromStep: "answer", "params.maxTokens": "999" }) });
    expect(res.status).toBe(400);
    const t = await res.text();
    expect(t).toContain("Rerun rejected");
    expect(t).toContain("maxTokens");
  });
});

describe("new run", () => {
  it("shows, per live worker, the provider each model runs on and a fallback loudly", async () => {
    const { tinyAdvert } = await import("../../workflows/src/fixtures.js");
    await register(h.app, "w-gpu", [{ ...tinyAdvert, executionProvider: "webgpu", requestedProviders: ["webgpu", "cpu"], providerFallbacks: [] }]);
    await register(h.app, "w-fell", [
      { ...tinyAdvert, executionProvider: "cpu", requestedProviders: ["webgpu", "cpu"], providerFallbacks: [{ provider: "webgpu", reason: "no adapter" }] },
    ]);
    const t = (await get("/ui/new")).text;
    expect(t).toContain("(3 workers — ");
    expect(t).toContain('<span data-placement="w-gpu" data-provider="webgpu">w-gpu on <strong>webgpu</strong></span>');
    expect(t).toContain(
      '<span data-placement="w-fell" data-provider="cpu">w-fell on <strong>cpu</strong> <span class="fallback" role="alert">(fell back: webgpu failed: no adapter)</span></span>',
    );
  });

  it("lists the example workflows and renders their inputs as fields", async () => {
    const page = await get("/ui/new?pick=example:vqa-then-explain");
    expect(page.status).toBe(200);
    expect(page.text).toContain('value="example:vqa-then-explain" selected');
    expect(page.text).toContain('name="inputs.image"');
    expect(page.text).toContain('type="file"');
    expect(page.text).toContain('name="inputs.question"');
    expect(page.text).toContain("✓ Valid");
    expect(page.text).toContain('<code data-model="metalm-tiny">');
    expect(page.text).toContain('<span data-placement="w1" data-provider="cpu">w1 on <strong>cpu</strong></span>');
    // the example's sample inputs are filled in: the question, and its sample image (ticked)
    expect(page.text).toContain('name="inputs.question" value="what is on the left?"');
    expect(page.text).toContain('name="reuse.image" value="sample:vqa-then-explain.png" checked');
    const img = await h.app.request("/ui/examples/files/vqa-then-explain.png");
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect((await get("/ui/examples/files/..%2Fpackage.json")).status).toBe(404);
    expect((await get("/ui/examples/files/nope.png")).status).toBe(404);
  });

  it("a sample image is uploaded for the user when its box stays ticked", async () => {
    const res = await h.app.request("/ui/new", {
      method: "POST",
      body: form({ spec: JSON.stringify(vqa()), "reuse.image": "sample:vqa-then-explain.png", "inputs.question": "what is on the left?" }),
    });
    expect(res.status).toBe(303);
    const run = (await call(h.app, `/v1/runs/${res.headers.get("location")!.split("/").pop()}`)).body;
    const bytes = new Uint8Array(await (await h.app.request("/ui/examples/files/vqa-then-explain.png")).arrayBuffer());
    const sha = Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("hex");
    expect(run.inputs.image.sha256).toBe(sha);
  });

  it("posting the form starts a run and redirects to it; a bad spec comes back with errors on its step", async () => {
    const ok = await h.app.request("/ui/new", {
      method: "POST",
      body: form({
        spec: JSON.stringify(vqa()),
        "inputs.image": new Blob([PNG_1PX], { type: "image/png" }),
        "inputs.question": "what is it?",
        tags: "ui, test",
      }),
    });
    expect(ok.status).toBe(303);
    const id = ok.headers.get("location")!.split("/").pop()!;
    const run = (await call(h.app, `/v1/runs/${id}`)).body;
    expect(run.inputs.question).toBe("what is it?");
    expect(run.tags).toEqual(["ui", "test"]);
    const bad = vqa();
    (bad.steps[2] as { params: { maxTokens: number } }).params.maxTokens = 0;
    const res = await h.app.request("/ui/new", { method: "POST", body: form({ spec: JSON.stringify(bad), "inputs.image": new Blob([PNG_1PX]) }) });
    expect(res.status).toBe(400);
    const t = await res.text();
    expect(t).toMatch(/<li data-key="answer" class="has-errors">[\s\S]*params\.maxTokens/);
    const notJson = await h.app.request("/ui/new", { method: "POST", body: form({ spec: "{ nope" }) });
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toContain("not valid JSON");
  });

  it("'Run again…' prefills the spec and text inputs and reuses the stored image", async () => {
    const id = await finishedRun(["demo"], "red", "what is on the left?");
    const page = await get(`/ui/new?from=${id}`);
    expect(page.text).toContain('value="what is on the left?"');
    const sha = (await call(h.app, `/v1/runs/${id}`)).body.inputs.image.sha256;
    expect(page.text).toContain(`name="reuse.image" value="${sha}" checked`);
    const res = await h.app.request("/ui/new", {
      method: "POST",
      body: form({ spec: JSON.stringify(vqa()), "reuse.image": sha, "inputs.question": "what is on the right?" }),
    });
    expect(res.status).toBe(303);
    const again = (await call(h.app, `/v1/runs/${res.headers.get("location")!.split("/").pop()}`)).body;
    expect(again.inputs.image.sha256).toBe(sha);
    expect(again.inputs.question).toBe("what is on the right?");
  });

  it("'Save workflow' stores a version; running it unedited files the run under that workflow", async () => {
    const save = await h.app.request("/ui/workflows", { method: "POST", body: form({ spec: JSON.stringify(vqa()) }) });
    expect(save.status).toBe(303);
    expect(save.headers.get("location")).toBe("/ui/new?pick=saved:vqa-then-explain&saved=1");
    const page = await get(save.headers.get("location")!);
    expect(page.text).toContain("Saved as vqa-then-explain v1.");
    expect(page.text).toContain('name="savedId" value="vqa-then-explain"');
    const savedSpec = (await call(h.app, "/v1/workflows/vqa-then-explain")).body.spec;
    const run = async (spec: unknown) => {
      const res = await h.app.request("/ui/new", {
        method: "POST",
        body: form({
          spec: JSON.stringify(spec, null, 2),
          savedId: "vqa-then-explain",
          "inputs.image": new Blob([PNG_1PX], { type: "image/png" }),
          "inputs.question": "saved?",
        }),
      });
      expect(res.status).toBe(303);
      return (await call(h.app, `/v1/runs/${res.headers.get("location")!.split("/").pop()}`)).body;
    };
    expect(await run(savedSpec)).toMatchObject({ workflowId: "vqa-then-explain", workflowVersion: 1 });
    const edited = { ...savedSpec, description: "edited" };
    expect(await run(edited)).toMatchObject({ workflowId: null });
    const bad = await h.app.request("/ui/workflows", { method: "POST", body: form({ spec: JSON.stringify({ steps: [] }) }) });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("Not saved");
  });

  it("POST /ui/plan previews the run: what would be computed, what reused from an earlier run", async () => {
    const id = await finishedRun(["demo"], "red", "what is on the left?");
    const sha = (await call(h.app, `/v1/runs/${id}`)).body.inputs.image.sha256;
    const same = await h.app.request("/ui/plan", {
      method: "POST",
      body: form({ spec: JSON.stringify(vqa()), "reuse.image": sha, "inputs.question": "what is on the left?" }),
    });
    expect(same.status).toBe(200);
    const t = await same.text();
    expect(t).toContain("0 steps to compute, 4 reused");
    expect(t).toMatch(/data-plan-step="see" data-plan-status="cached"/);
    expect(t).toContain(`/ui/runs/${id}#cell-why`);
    const other = await (
      await h.app.request("/ui/plan", { method: "POST", body: form({ spec: JSON.stringify(vqa()), "reuse.image": sha, "inputs.question": "what?" }) })
    ).text();
    expect(other).toMatch(/data-plan-step="see" data-plan-status="cached"/);
    expect(other).toMatch(/data-plan-step="answer" data-plan-status="queued"/);
    expect(other).toMatch(/data-plan-step="why" data-plan-status="pending"/);
    expect(other).toContain("2 steps to compute, 2 reused");
    const bad = await h.app.request("/ui/plan", { method: "POST", body: form({ spec: "{" }) });
    expect(bad.status).toBe(400);
  });

  it("POST /ui/api/validate uses the workflow validator against live models, errors keyed by step", async () => {
    const spec = vqa();
    (spec.steps[0] as { model: string }).model = "nope";
    const r = await call(h.app, "/ui/api/validate", { body: { spec, inputs: {} } });
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(false);
    expect(r.body.errors.see[0].code).toBe("unknown_model");
    expect(r.body.errors.$inputs[0].code).toBe("missing_input");
    expect(r.body.models).toEqual(["metalm-tiny"]);
    const good = await call(h.app, "/ui/api/validate", { body: { spec: vqa(), inputs: { image: { sha256: "0".repeat(64), mime: "image/png" } } } });
    expect(good.body).toMatchObject({ ok: true, errors: {} });
  });
});

describe("tenants", () => {
  it("another tenant's key sees neither the run page, nor its image, nor the run in its history", async () => {
    const id = await finishedRun();
    const other = createTenantKeySync(h.store, "tenant-b");
    const as = (path: string) => h.app.request(path, { headers: other.headers });
    expect((await as(`/ui/runs/${id}`)).status).toBe(404);
    expect((await as(`/ui/runs/${id}/inputs/image`)).status).toBe(404);
    expect((await as(`/ui/runs/${id}/fragment/cell/answer`)).status).toBe(404);
    expect((await as(`/ui/compare?a=${id}&b=${id}`)).status).toBe(404);
    const history = await (await as("/ui/runs")).text();
    expect(history).not.toContain(id);
    expect(history).toContain("No runs yet");
    const post = (path: string, fields: Record<string, string>) => h.app.request(path, { method: "POST", headers: other.headers, body: form(fields) });
    expect((await post(`/ui/runs/${id}/rerun`, { fromStep: "answer" })).status).toBe(404);
    expect((await post(`/ui/runs/${id}/cancel`, {})).status).toBe(404);
    // and the owner still can
    expect((await h.app.request(`/ui/runs/${id}/inputs/image`)).status).toBe(200);
  });
});

describe("compare and assets", () => {
  it("compares two runs side by side, marking what differs", async () => {
    const a = await finishedRun(["x"], "red");
    const b = await finishedRun(["x"], "blue", "what is it?");
    const page = await get(`/ui/compare?a=${a}&b=${b}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain("“red”");
    expect(page.text).toContain("“blue”");
    expect(page.text).toContain("differs");
    const viaChecks = await get(`/ui/compare?run=${a}&run=${b}`);
    expect(viaChecks.status).toBe(200);
    expect((await get(`/ui/compare?run=${a}`)).status).toBe(400);
    expect((await get(`/ui/compare?a=${a}&b=run_00000000000000000000000000`)).status).toBe(404);
  });

  it("serves the stylesheet and scripts, and the scripts parse", async () => {
    const css = await get("/ui/assets/app.css");
    expect(css.type).toContain("text/css");
    for (const name of ["run.js", "new.js"]) {
      const js = await get(`/ui/assets/${name}`);
      expect(js.type).toContain("text/javascript");
      expect(() => new Script(js.text, { filename: name })).not.toThrow();
    }
    expect((await get("/ui/assets/nope.js")).status).toBe(404);
  });
});
