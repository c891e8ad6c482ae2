/**
 * The notebook UI in a real browser against the real stack: the edge's Node entrypoint (real
 * SQLite file in a temp DATA_DIR) launching a real gpu-worker process that serves the tiny
 * random-weight fixture package. A random model's answers are gibberish, so the UI is checked
 * against what the API returned. Flow: new run through the UI with an uploaded image → watch it
 * complete → answer and explanation → rerun from the decode cell with another parameter →
 * history shows both → compare them. Screenshots go to artifacts/screenshots/.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { renderPng, type Scene } from "../../gpu-worker/eval/shapes.js";
import { FIXTURE_MODELS, launchBrowser, lowContrast, shot, signedInContext, startStack, unlabeledControls, type Stack } from "./stack.js";

const MODEL = "metalm-tiny-fixture";
const scene: Scene = [{ shape: "circle", color: "red" }, null, { shape: "square", color: "blue" }];

let stack: Stack;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const runIds: string[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(FIXTURE_MODELS), launchBrowser()]);
  ctx = await signedInContext(browser, stack);
  page = await ctx.newPage();
  page.on("pageerror", (e) => console.error("[browser] page error", e));
});
// on a failure: what the browser showed, and what the stack logged
afterEach(async (ctx) => {
  if (ctx.task.result?.state !== "fail" || !page) return;
  console.error(`[browser] failed at ${page.url()}\n--- stack log (tail) ---\n${stack.log().slice(-3000)}`);
  await shot(page, `failure-${ctx.task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, "-")}`).catch(() => {});
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function api(path: string) {
  const r = await fetch(stack.url + path, { headers: stack.headers });
  expect(r.status).toBe(200);
  return r.json();
}

const runIdOf = (url: string) => /\/ui\/runs\/(run_[0-9a-z]{26})/.exec(url)?.[1];

async function waitFinished(p: Page) {
  await p.waitForSelector("#run-head[data-run-status=succeeded], #run-head[data-run-status=failed]", { timeout: 90_000 });
  // the live view also refreshes every cell on run.completed
  await p.waitForFunction(() => document.getElementById("run")?.getAttribute("data-live") === "0", null, { timeout: 30_000 });
  await p.waitForTimeout(300);
}

describe("notebook UI on the real stack (fixture model)", () => {
  it("new run: pick the example, fix its model, see per-step errors as you type, upload an image, run", async () => {
    await page.goto("/ui/new?pick=example:caption");
    await page.waitForSelector("#validity");
    // choosing another example (with JavaScript) swaps the spec and its sample inputs in place
    await page.selectOption("#example", "example:vqa-then-explain");
    await page.waitForFunction(() => (document.getElementById("spec") as HTMLTextAreaElement).value.includes('"vqa-then-explain"'));
    expect(await page.isChecked("#in-image-reuse")).toBe(true);
    expect(await page.inputValue("#in-question")).toBe("what is on the left?");
    // the example names metalm-tiny; the fixture worker serves another name: per-step errors + a one-click fix
    await page.waitForSelector('#outline li[data-key="see"].has-errors');
    expect(await page.textContent('#outline li[data-key="see"]')).toContain("unknown_model");
    await page.click(`button[data-use-model="${MODEL}"]`);
    await page.waitForFunction(() => document.querySelector("#validity")?.textContent?.includes("✓ Valid"));
    expect(await page.inputValue("#spec")).toContain(`"model": "${MODEL}"`);

    // a broken param shows on its step while typing
    const good = await page.inputValue("#spec");
    await page.fill("#spec", good.replace('"maxTokens": 8', '"maxTokens": 0'));
    await page.waitForSelector('#outline li[data-key="answer"].has-errors');
    expect(await page.textContent('#outline li[data-key="answer"]')).toContain("maxTokens");
    expect(await page.locator("#outline li.has-errors").count()).toBe(1);
    await page.fill("#spec", "{ not json");
    await page.waitForFunction(() => document.querySelector("#validity")?.textContent?.includes("Not valid JSON"));
    await page.fill("#spec", good);
    await page.waitForFunction(() => document.querySelector("#validity")?.textContent?.includes("✓ Valid"));

    await page.setInputFiles("#in-image", { name: "scene.png", mimeType: "image/png", buffer: renderPng(scene, { seed: 3 }) });
    await page.waitForSelector("[data-preview] img");
    expect(await page.isChecked("#in-image-reuse")).toBe(false); // the chosen file replaces the sample
    await page.fill("#in-question", "what is on the left?");
    await page.fill("#tags", "browser-test");
    await page.waitForFunction(
      () => document.querySelector("#validity")?.textContent?.includes("✓ Valid") && !document.querySelector("#validity")?.textContent?.includes("to fill"),
    );
    await page.click("#plan-btn");
    await page.waitForSelector("#plan-result");
    expect(await page.textContent("#plan-result")).toContain("4 steps to compute, 0 reused");
    expect(await unlabeledControls(page)).toEqual([]);
    expect(await lowContrast(page)).toEqual([]);
    await shot(page, "new-run");
    await Promise.all([page.waitForURL(/\/ui\/runs\/run_/), page.click("#run-btn")]);
    const id = runIdOf(page.url());
    expect(id).toBeTruthy();
    runIds.push(id!);
  });

  it("run page: watches the run complete and shows what the API returned, cell by cell", async () => {
    const id = runIds[0]!;
    await waitFinished(page);
    const run = await api(`/v1/runs/${id}`);
    expect(run.status).toBe("succeeded");
    const step = (s: string) => run.steps.find((x: { id: string }) => x.id === s);
    // image thumbnail, served by the edge and decoded by the browser
    const natural = await page.$eval("#cell-see img", (img) => (img as HTMLImageElement).naturalWidth);
    expect(natural).toBeGreaterThan(0);
    // encode/connect: tensor summary
    expect(await page.textContent("#cell-see [data-tensor]")).toContain(step("see").output.tensor.shape.join(", "));
    // decode: answer and its tokens
    const answer = step("answer").output;
    expect((await page.textContent("#cell-answer [data-answer]"))!.trim()).toBe(answer.text || "∅ (empty)");
    expect(await page.locator("#cell-answer [data-tokens] .tok").count()).toBe(answer.tokens.length);
    // explain: label, one bar per label, explanation
    const why = step("why").output;
    expect((await page.textContent("#cell-why [data-label-out]"))!.trim()).toBe(why.label);
    expect(await page.locator("#cell-why [data-scores] tr[data-label]").count()).toBe(3);
    expect(await page.textContent("#cell-why [data-explanation]")).toContain(why.explanation);
    expect(await page.textContent(`[data-output-name="answer"]`)).toBe(run.outputs.answer);
    // how: worker, receipt
    expect(await page.textContent("#cell-answer [data-meta]")).toContain(step("answer").workerId);
    await page.click("#cell-answer details.receipt summary");
    expect(await page.textContent("#cell-answer [data-receipt]")).toContain(step("answer").receipt.modelSha256);
    expect(await unlabeledControls(page)).toEqual([]);
    expect(await lowContrast(page)).toEqual([]);
    await shot(page, "run");
  });

  it("rerun from the decode cell with a different parameter: upstream cells are reused", async () => {
    const parent = runIds[0]!;
    await page.click("#cell-answer details.rerun summary");
    await page.fill("#rr-answer-maxTokens", "3");
    await Promise.all([page.waitForURL((u) => runIdOf(u.toString()) !== parent), page.click("#cell-answer form.edit-form button[type=submit]")]);
    const id = runIdOf(page.url())!;
    runIds.push(id);
    await waitFinished(page);
    const run = await api(`/v1/runs/${id}`);
    expect(run.parentRunId).toBe(parent);
    expect(run.spec.steps.find((s: { id: string }) => s.id === "answer").params.maxTokens).toBe(3);
    expect(await page.textContent("#cell-answer [data-params]")).toContain("3");
    for (const s of ["see", "dock"]) expect(await page.getAttribute(`#cell-${s}`, "data-status")).toBe("cached");
    const answer = run.steps.find((s: { id: string }) => s.id === "answer").output;
    expect(answer.tokens.length).toBeLessThanOrEqual(3);
    expect((await page.textContent("#cell-answer [data-answer]"))!.trim()).toBe(answer.text || "∅ (empty)");
    expect(await page.textContent("#run-head")).toContain(`rerun of`);
    await shot(page, "rerun");
  });

  it("history shows both runs (also without JavaScript); compare them side by side", async () => {
    await page.goto("/ui/runs");
    for (const id of runIds) await page.waitForSelector(`tr[data-run="${id}"]`);
    expect(Number(await page.textContent('[data-count="succeeded"]'))).toBeGreaterThanOrEqual(2);
    await page.selectOption("#f-status", "succeeded");
    await Promise.all([page.waitForURL(/status=succeeded/), page.click("form.filters button[type=submit]")]);
    expect(await page.locator("tbody tr[data-run]").count()).toBe(2);
    expect(await unlabeledControls(page)).toEqual([]);
    expect(await lowContrast(page)).toEqual([]);
    await shot(page, "history");

    const noJs = await signedInContext(browser, stack, { javaScriptEnabled: false });
    const p2 = await noJs.newPage();
    await p2.goto("/ui/runs?tag=browser-test");
    expect(await p2.locator("tbody tr[data-run]").count()).toBe(2);
    await p2.goto(`/ui/runs/${runIds[0]}`);
    expect(await p2.locator("li.cell").count()).toBe(4);
    await noJs.close();

    await page.goto("/ui/runs");
    for (const id of runIds) await page.check(`input[name=run][value="${id}"]`);
    await Promise.all([page.waitForURL(/\/ui\/compare/), page.click("button[form=compare-form]")]);
    expect(await page.textContent("table.compare")).toContain("settings");
    expect(await page.locator('tr[data-differ="1"]').count()).toBeGreaterThan(0);
    expect(await lowContrast(page)).toEqual([]);
    await shot(page, "compare");
  });

  it("every example runs from its sample inputs in one click (after the model fix)", async () => {
    for (const name of ["caption", "vqa", "text-nli", "few-shot"]) {
      await page.goto(`/ui/new?pick=example:${name}`);
      await page.click(`button[data-use-model="${MODEL}"]`);
      await page.waitForFunction(
        () => document.querySelector("#validity")?.textContent?.includes("✓ Valid") && !document.querySelector("#validity")?.textContent?.includes("to fill"),
      );
      await Promise.all([page.waitForURL(/\/ui\/runs\/run_/), page.click("#run-btn")]);
      await waitFinished(page);
      const run = await api(`/v1/runs/${runIdOf(page.url())}`);
      expect(run.status, name).toBe("succeeded");
      for (const [k, v] of Object.entries(run.outputs as Record<string, string>)) expect(await page.textContent(`[data-output-name="${k}"]`)).toBe(v);
      const images = await page.$$eval("img[src*='/inputs/']", (els) => els.map((e) => (e as HTMLImageElement).naturalWidth));
      expect(images.every((w) => w > 0)).toBe(true);
      if (name === "few-shot") {
        expect(images.length).toBeGreaterThanOrEqual(8); // 4 inputs + 4 encode cells (+ the decode's span chips)
        await shot(page, "run-few-shot");
      }
    }
  });

  it("edit an input on the run page and rerun: only the steps reading it run again", async () => {
    await page.goto(`/ui/runs/${runIds[0]}`);
    await page.click("text=Edit inputs and rerun");
    await page.fill("#ri-question", "what is on the right?");
    await Promise.all([page.waitForURL((u) => runIdOf(u.toString()) !== runIds[0]), page.click("text=Rerun with these inputs")]);
    await waitFinished(page);
    const run = await api(`/v1/runs/${runIdOf(page.url())}`);
    expect(run).toMatchObject({ status: "succeeded", parentRunId: runIds[0], rerunFrom: "answer" });
    expect(await page.getAttribute("#cell-see", "data-status")).toBe("cached");
    expect(await page.textContent("#cell-answer .seg-text")).toContain("question: what is on the right? answer:");
  });

  it("without the key cookie the UI asks for the API key, then lands where it was going", async () => {
    if (!stack.key) return;
    const fresh = await browser.newContext({ baseURL: stack.url });
    const p = await fresh.newPage();
    await p.goto(`/ui/runs/${runIds[0]}`);
    expect(p.url()).toContain("/ui/login");
    await p.fill("#key", stack.key);
    await Promise.all([p.waitForURL(new RegExp(`/ui/runs/${runIds[0]}$`)), p.click("button[type=submit]")]);
    expect(await p.locator("li.cell").count()).toBe(4);
    await fresh.close();
  });

  it("is usable from the keyboard: the skip link comes first and lands on the content", async () => {
    await page.goto("/ui/runs");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
  });
});
