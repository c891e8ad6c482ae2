/**
 * The run page's live view, step by step, in a real browser: the edge runs in-process on real
 * HTTP with a real SQLite file, and the test plays the worker over the pool protocol so it
 * decides when each token and result arrives — the page must show each one as it comes (SSE),
 * without a reload.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeHarness, okResult, pngDataUrl, POOL_TOKEN, vqa, type Harness } from "../../edge/testing/harness.js";
import { listen, PoolClient } from "../../edge/testing/pool-client.js";
import { tinyAdvert } from "../../workflows/src/fixtures.js";
import type { Job } from "../../workflows/index.js";
import { launchBrowser, shot } from "./stack.js";

let h: Harness;
let srv: { url: string; close(): Promise<void> };
let worker: PoolClient;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  h = makeHarness();
  srv = await listen(h.app);
  worker = new PoolClient(srv.url, "w-live", POOL_TOKEN);
  await worker.register([tinyAdvert]);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: srv.url })).newPage();
  page.on("pageerror", (e) => console.error("[browser] page error", e));
});
afterAll(async () => {
  await browser?.close();
  await srv?.close();
  h?.close();
});

const status = (step: string) => page.getAttribute(`#cell-${step}`, "data-status");

describe("live run page (SSE)", () => {
  it("shows steps starting, tokens as they are generated, and results as they land", async () => {
    const created = await fetch(`${srv.url}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ spec: vqa(), inputs: { image: pngDataUrl() } }),
    }).then((r) => r.json());
    await page.goto(`/ui/runs/${created.id}`);
    expect(await page.getAttribute("#run", "data-live")).toBe("1");
    expect(await status("answer")).toBe("queued");
    expect(await status("why")).toBe("pending");

    const jobs = await worker.lease(16, 0);
    expect(jobs.map((j) => j.stepId)).toEqual(["see", "dock", "answer"]);
    await page.waitForFunction(() => document.getElementById("cell-answer")?.getAttribute("data-status") === "running");
    await page.waitForSelector('#run-head[data-run-status="running"]');

    const byStep = (s: string) => jobs.find((j) => j.stepId === s) as Job;
    await worker.results([okResult(byStep("see"), "w-live"), okResult(byStep("dock"), "w-live")]);
    await page.waitForSelector("#cell-see[data-status=succeeded] [data-tensor]");
    await page.waitForSelector("#cell-dock[data-status=succeeded] [data-tensor]");

    const answer = byStep("answer");
    const words = ["a", "red", "circle"];
    for (let i = 0; i < words.length; i++) {
      await worker.progress(answer.jobId, [{ index: i, id: 10 + i, text: words[i]!, logprob: -0.2 * (i + 1) }]);
      await page.waitForFunction((n) => document.querySelectorAll("#cell-answer [data-live-tokens] .tok").length === n, i + 1);
    }
    expect(await page.textContent("#cell-answer [data-live-tokens]")).toBe("aredcircle");
    expect(await page.textContent("#cell-answer [data-waiting]")).toBe("Generating…");
    await shot(page, "run-live");

    // someone editing the cell's rerun form while it completes keeps what they typed, and the caret
    await page.click("#cell-answer details.rerun summary");
    await page.fill("#rr-answer-maxTokens", "5");
    await worker.results([okResult(answer, "w-live", "a red circle")]);
    await page.waitForSelector("#cell-answer[data-status=succeeded] [data-answer]");
    expect(await page.inputValue("#rr-answer-maxTokens")).toBe("5");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("rr-answer-maxTokens");
    expect((await page.textContent("#cell-answer [data-answer]"))!.trim()).toBe("a red circle");
    expect(await page.getAttribute("#run", "data-live")).toBe("1"); // `why` still to come

    const [why] = await worker.lease(16, 2000);
    expect(why!.stepId).toBe("why");
    await worker.results([okResult(why!, "w-live", "a red circle")]);
    await page.waitForSelector('#run-head[data-run-status="succeeded"]');
    await page.waitForSelector("#run[data-done]");
    expect(await page.textContent("#cell-why [data-label-out]")).toBe("entailment");
    expect(await page.textContent("[data-output-name=answer]")).toBe("a red circle");
    expect(await page.locator("[data-live-indicator]").count()).toBe(0);
  });

  it("cancel from the run page stops the run", async () => {
    const created = await fetch(`${srv.url}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ spec: vqa(), inputs: { image: pngDataUrl(), question: "what is it?" } }),
    }).then((r) => r.json());
    await page.goto(`/ui/runs/${created.id}`);
    await Promise.all([page.waitForNavigation(), page.click("text=Cancel run")]);
    await page.waitForSelector('#run-head[data-run-status="canceled"]');
    expect(await status("why")).toBe("skipped");
  });
});
