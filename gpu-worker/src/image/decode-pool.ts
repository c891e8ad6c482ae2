/**
 * Image decoding with a budget per job, fair between tenants (issue 15). A 16-megapixel JPEG takes
 * jpeg-js seconds and hundreds of MB; decoded on the worker's main thread it stalls every other
 * job — one tenant's flood of large images starved another's small runs. So:
 *
 * - **pixel budget**: the header's width × height is checked before anything is decompressed
 *   (`image_too_large`, `MAX_IMAGE_PIXELS`);
 * - images up to `inlinePixels` (1 MP) decode inline — they cost milliseconds;
 * - larger ones go to ONE background thread (so at most one large decode's memory at a time),
 *   which decodes *and* shrinks them to the encoder's input, and is terminated when a decode
 *   passes `timeoutMs` (`image_decode_timeout`, not retried: another worker would time out too);
 * - the thread's queue is **round-robin between tenants** (the job's `tenant`): a tenant with ten
 *   large images queued waits behind at most one decode of each other tenant, not the reverse.
 *
 * @example
 * const pool = new DecodePool({ maxPixels: 16_777_216, timeoutMs: 20_000 });
 * const input = await pool.preprocess(bytes, spec, "tenant-a"); // Float32Array [3, S, S]
 */
import { Worker } from "node:worker_threads";
import { decodeImage, ImageError, imageDimensions, sniffImage } from "./decode.js";
import { preprocessImage, type PreprocessSpec } from "./preprocess.js";

export interface DecodeBudget {
  /** Largest image (width × height) a job may bring. */
  maxPixels: number;
  /** Longest a background decode may take (ms) before it is abandoned. */
  timeoutMs: number;
  /** Images up to this many pixels decode inline. Default 1,048,576. */
  inlinePixels?: number;
}

interface Task {
  bytes: Uint8Array;
  spec: PreprocessSpec;
  resolve(v: Float32Array): void;
  reject(e: unknown): void;
}

const THREAD_URL = new URL("./decode-thread.mjs", import.meta.url);

export class DecodePool {
  private readonly queues = new Map<string, Task[]>();
  private thread?: Worker;
  private ready?: Promise<Worker>;
  private busy = false;
  private lastServed: string | undefined;
  private nextId = 1;
  /** Background decodes finished / timed out (for metrics and tests). */
  readonly stats = { background: 0, inline: 0, timeouts: 0 };

  constructor(readonly budget: DecodeBudget) {}

  /** Decode + preprocess to the encoder's NCHW float input, within the budget. */
  async preprocess(bytes: Uint8Array, spec: PreprocessSpec, tenant = ""): Promise<Float32Array> {
    const format = sniffImage(bytes);
    if (!format) return preprocessImage(decodeImage(bytes, { maxPixels: this.budget.maxPixels }), spec); // throws not_an_image
    const { width, height } = imageDimensions(bytes, format);
    if (width * height > this.budget.maxPixels)
      throw new ImageError(`image is ${width}×${height} = ${width * height} pixels, over the limit of ${this.budget.maxPixels}`, "image_too_large");
    if (width * height <= (this.budget.inlinePixels ?? 1 << 20)) {
      this.stats.inline++;
      return preprocessImage(decodeImage(bytes, { maxPixels: this.budget.maxPixels }), spec);
    }
    return new Promise<Float32Array>((resolve, reject) => {
      const q = this.queues.get(tenant) ?? [];
      q.push({ bytes, spec, resolve, reject });
      this.queues.set(tenant, q);
      void this.pump();
    });
  }

  /**
   * The next task, round-robin: the longest-waiting tenant other than the one just served (a
   * tenant whose queue ran dry and refilled would otherwise jump ahead of one that was waiting).
   */
  private take(): Task | undefined {
    const tenant = [...this.queues.keys()].find((t) => t !== this.lastServed) ?? (this.queues.has(this.lastServed ?? "") ? this.lastServed : undefined);
    if (tenant === undefined) return undefined;
    const q = this.queues.get(tenant)!;
    const t = q.shift();
    this.queues.delete(tenant);
    if (q.length) this.queues.set(tenant, q); // back of the rotation
    this.lastServed = tenant;
    return t;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    const task = this.take();
    if (!task) return;
    this.busy = true;
    try {
      task.resolve(await this.run(task));
      this.stats.background++;
    } catch (e) {
      task.reject(e);
    } finally {
      this.busy = false;
      void this.pump();
    }
  }

  private start(): Promise<Worker> {
    this.ready ??= new Promise<Worker>((resolve, reject) => {
      const w = new Worker(THREAD_URL);
      w.unref();
      w.once("message", () => resolve(w));
      w.once("error", reject);
      this.thread = w;
    });
    return this.ready;
  }

  private async run(task: Task): Promise<Float32Array> {
    const w = await this.start();
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        w.off("message", onMessage);
        w.off("error", onError);
      };
      const onMessage = (m: { id: number; pixels?: Float32Array; error?: { code?: string; message: string } }) => {
        if (m.id !== id) return;
        done();
        if (m.pixels) resolve(m.pixels);
        else if (m.error?.code && ["not_an_image", "corrupt_image", "image_too_large"].includes(m.error.code))
          reject(new ImageError(m.error.message, m.error.code as "corrupt_image"));
        else reject(new Error(m.error?.message ?? "image decode failed"));
      };
      const onError = (e: Error) => {
        done();
        this.reset();
        reject(e);
      };
      // the budget: a decode that runs past it is abandoned with its thread (jpeg-js cannot be interrupted)
      const timer = setTimeout(() => {
        done();
        this.stats.timeouts++;
        this.reset();
        reject(new ImageError(`decoding the image took longer than ${this.budget.timeoutMs} ms; it was abandoned`, "image_decode_timeout"));
      }, this.budget.timeoutMs);
      w.on("message", onMessage);
      w.on("error", onError);
      w.postMessage({ id, bytes: task.bytes, maxPixels: this.budget.maxPixels, spec: task.spec });
    });
  }

  private reset(): void {
    void this.thread?.terminate();
    this.thread = undefined;
    this.ready = undefined;
  }

  /** Stop the thread (tests, shutdown). */
  async close(): Promise<void> {
    await this.thread?.terminate();
    this.reset();
  }
}
