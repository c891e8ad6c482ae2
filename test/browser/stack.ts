/**
 * Browser-test helpers: the real stack (the edge's Node entrypoint as a child process, with a
 * temp DATA_DIR holding a real SQLite file, and a real gpu-worker process it launches) and
 * Debian's Chromium through playwright-core.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { freePort } from "../helpers/net.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const SHOTS = join(ROOT, "artifacts/screenshots");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const FIXTURE_MODELS = join(ROOT, "gpu-worker/fixtures/tiny");
export const TRAINED_MODELS = join(ROOT, "gpu-worker/models/metalm-tiny");
export const hasTrainedModel = () => existsSync(join(TRAINED_MODELS, "manifest.json"));

export interface Stack {
  url: string;
  /** The development API key the edge was started with (`DEV_API_KEY`). */
  key: string | undefined;
  /** Headers for direct API calls (the key, when there is one). */
  headers: Record<string, string>;
  dataDir: string;
  log: () => string;
  stop(): Promise<void>;
}

/** Start `edge/node.ts` with one local worker serving the packages under `modelsDir`; resolves when /readyz is 200. */
export async function startStack(modelsDir: string, opts: { workers?: number } = {}): Promise<Stack> {
  const port = await freePort();
  // the development key npm start honours (tenant "local"); the browser signs in with it
  const key = `mlk_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "ui-browser-"));
  let out = "";
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "edge/node.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      WORKERS: String(opts.workers ?? 1),
      MODELS_DIR: modelsDir,
      LOG_LEVEL: "warn",
      LEASE_WAIT_MS: "2000",
      DEV_API_KEY: key,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d) => (out += String(d)));
  child.stderr?.on("data", (d) => (out += String(d)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`edge exited early (${child.exitCode}):\n${out}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() - t0 > 150_000) {
      await stop();
      throw new Error(`stack not ready after 150 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, dataDir, key, headers: key ? { authorization: `Bearer ${key}` } : {}, log: () => out, stop };
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** A browser context signed in to the stack (the UI's key cookie, when the edge has API keys). */
export async function signedInContext(
  browser: Browser,
  stack: Pick<Stack, "url" | "key">,
  opts: Parameters<Browser["newContext"]>[0] = {},
): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: stack.url, ...opts });
  if (stack.key) await ctx.addCookies([{ name: "metalm_key", value: stack.key, url: stack.url, httpOnly: true, sameSite: "Lax" }]);
  return ctx;
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Labels check: every visible form control has an accessible name. Returns the unnamed ones. */
export async function unlabeledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const bad: string[] = [];
    for (const el of Array.from(document.querySelectorAll("input, select, textarea, button"))) {
      const e = el as HTMLInputElement;
      if (e.type === "hidden" || e.closest("[hidden]")) continue;
      const named =
        (e.labels && e.labels.length > 0) ||
        e.getAttribute("aria-label") ||
        e.getAttribute("aria-labelledby") ||
        (e.tagName === "BUTTON" && e.textContent!.trim());
      if (!named) bad.push(e.outerHTML.slice(0, 120));
    }
    return bad;
  });
}

export { rmSync };

/**
 * Text whose contrast with its background is under WCAG AA (4.5:1, or 3:1 for large text):
 * every element with its own visible text, its computed colour against the first opaque
 * background up its ancestors. Returns "text (ratio)" for each offender.
 */
export async function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const rgb = (s: string) => (s.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
    };
    const bgOf = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length >= 3 && (c.length < 4 || c[3]! > 0.5)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out: string[] = [];
    for (const el of Array.from(document.body.querySelectorAll("*"))) {
      const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent!.trim());
      if (!own) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === "hidden" || cs.display === "none" || (el as HTMLElement).offsetParent === null || el.closest(".sr-only, [hidden]")) continue;
      const [a, b] = [lum(rgb(cs.color)), lum(bgOf(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(cs.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push(`${el.tagName.toLowerCase()} “${el.textContent!.trim().slice(0, 30)}” (${ratio.toFixed(2)})`);
    }
    return out;
  });
}
