/**
 * With the trained package (gpu-worker/models/metalm-tiny) present: the shipped example, run
 * through the UI on an image drawn by the independent TS renderer, shows the correct answer and
 * an entailment verdict with an explanation. Skipped (with the reason) while the model is not
 * there yet.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { questions, renderPng, type Scene } from "../../gpu-worker/eval/shapes.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hasTrainedModel, launchBrowser, ROOT, shot, signedInContext, startStack, TRAINED_MODELS, type Stack } from "./stack.js";

const trained = hasTrainedModel();
if (!trained) console.warn("[browser] gpu-worker/models/metalm-tiny is not there: the trained-model UI test is skipped");

describe.skipIf(!trained)("notebook UI with the trained metalm-tiny", () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack(TRAINED_MODELS), launchBrowser()]);
    page = await (await signedInContext(browser, stack)).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("the vqa-then-explain example with its sample inputs, one click: the expected answer, label and an explanation", async () => {
    const sample = JSON.parse(readFileSync(join(ROOT, "workflows/examples/samples/vqa-then-explain.json"), "utf8")) as { expected: Record<string, string> };
    await page.goto("/ui/new?pick=example:vqa-then-explain");
    await page.waitForFunction(() => document.querySelector("#validity")?.textContent?.includes("✓ Valid"));
    expect(await page.isChecked("#in-image-reuse")).toBe(true);
    await Promise.all([page.waitForURL(/\/ui\/runs\/run_/), page.click("#run-btn")]);
    await page.waitForSelector("#run[data-done]", { timeout: 90_000 });
    expect((await page.textContent("#cell-answer [data-answer]"))!.trim()).toBe(sample.expected.answer);
    expect((await page.textContent("#cell-why [data-label-out]"))!.trim()).toBe(sample.expected.label);
    const explanation = (await page.textContent("#cell-why [data-explanation]"))!.replace("Explanation:", "").trim();
    console.log(`[browser] trained explanation: “${explanation}” (sample expects “${sample.expected.explanation}”)`);
    expect(explanation).toBe(sample.expected.explanation);
    await shot(page, "run-trained-sample");
  });

  it("answers 'what is on the left?' correctly and explains an entailment", async () => {
    const scene: Scene = [{ shape: "circle", color: "red" }, null, { shape: "square", color: "blue" }];
    const question = "what is on the left?";
    const expected = questions(scene).find((q) => q.question === question)!.answer; // "a red circle"
    await page.goto("/ui/new?pick=example:vqa-then-explain");
    await page.waitForFunction(() => document.querySelector("#validity")?.textContent?.includes("✓ Valid"));
    await page.setInputFiles("#in-image", { name: "scene.png", mimeType: "image/png", buffer: renderPng(scene, { seed: 11 }) });
    await page.fill("#in-question", question);
    await Promise.all([page.waitForURL(/\/ui\/runs\/run_/), page.click("#run-btn")]);
    await page.waitForSelector("#run[data-done]", { timeout: 90_000 });
    expect((await page.textContent("#cell-answer [data-answer]"))!.trim()).toBe(expected);
    expect((await page.textContent("#cell-why [data-label-out]"))!.trim()).toBe("entailment");
    const explanation = (await page.textContent("#cell-why [data-explanation]"))!.replace("Explanation:", "").trim();
    expect(explanation.length).toBeGreaterThan(0);
    await shot(page, "run-trained");
  });
});
