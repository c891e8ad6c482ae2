/**
 * The decoder's KV cache, with exactly one owner. It holds, per layer, the past keys and values
 * [batch, heads, past, headDim] and, in lockstep, the attention mask of those past positions
 * [batch, past]: the two can never disagree about the past length.
 *
 * Where the keys and values live is the decoder's business: on the CPU they are ordinary tensors;
 * on WebGPU the decoder's `present.*` outputs stay on the device (`preferredOutputLocation:
 * "gpu-buffer"`, see loadPackage) and are fed back as the next call's past without a round trip
 * through JS — the cache holds them as opaque device tensors, moves rows with a Gather graph on
 * the same device (`KvDevice`), and releases their GPU memory when replaced or disposed. Only the
 * mask (small, int64) is always on the CPU.
 *
 * Lifecycle: `new KvCache(spec, batch, device?)` (empty, past = 0) → `feeds()` → run the decoder →
 * `update(outputs, newMaskColumns)` → … → `dispose()`. `select(rows)` makes a new cache holding
 * some rows (to drop finished sequences or to repeat a context for several continuations).
 */
import * as ort from "onnxruntime-node";
import { kvName, type KvCacheSpec } from "../package/manifest.js";

/** Row selection for caches whose tensors live on a device (the decoder's provider). */
export interface KvDevice {
  /** The provider the tensors live on (e.g. `webgpu`). */
  readonly provider: string;
  /** `x[rows]` along axis 0, computed and left on the device. */
  gather(x: ort.Tensor, rows: readonly number[]): Promise<ort.Tensor>;
}

const onDevice = (t: ort.Tensor) => t.location !== "cpu" && t.location !== "cpu-pinned";

export class KvCache {
  private keys: ort.Tensor[];
  private values: ort.Tensor[];
  private maskData: BigInt64Array;
  private disposed = false;
  /** Number of past positions held (the same for every row; padding positions included). */
  private pastLength = 0;
  /** Real (mask = 1) past positions per row. */
  private real: number[];

  constructor(
    readonly spec: KvCacheSpec,
    readonly batch: number,
    readonly device?: KvDevice,
  ) {
    const empty = () => new ort.Tensor("float32", new Float32Array(0), [batch, spec.heads, 0, spec.headDim]);
    this.keys = Array.from({ length: spec.layers }, empty);
    this.values = Array.from({ length: spec.layers }, empty);
    this.maskData = new BigInt64Array(0);
    this.real = new Array<number>(batch).fill(0);
  }

  get length(): number {
    return this.pastLength;
  }

  /** Where the keys and values are now: `cpu`, or the device's location (`gpu-buffer`). */
  get location(): string {
    this.check();
    return this.keys[0]?.location ?? "cpu";
  }

  /** Real (unpadded) past positions of each row = the position id of its next input. */
  get realLengths(): readonly number[] {
    this.check();
    return this.real;
  }

  /** The past attention mask [batch, past] (row-major), read-only view. */
  get mask(): BigInt64Array {
    this.check();
    return this.maskData;
  }

  /** The `past_key_values.{i}.key|value` feeds (a 0-length past dimension when empty). Valid until the next update/dispose. */
  feeds(): Record<string, ort.Tensor> {
    this.check();
    const { layers, pastKey, pastValue } = this.spec;
    const out: Record<string, ort.Tensor> = {};
    for (let i = 0; i < layers; i++) {
      out[kvName(pastKey, i)] = this.keys[i]!;
      out[kvName(pastValue, i)] = this.values[i]!;
    }
    return out;
  }

  /**
   * Takes the decoder's `present.*` outputs as the new past (releasing the old past's device
   * memory) and appends `newMask` ([batch, T], the mask columns of the positions just run) to the
   * past mask.
   */
  update(outputs: Record<string, ort.Tensor>, newMask: BigInt64Array, T: number): void {
    this.check();
    const { layers, heads, headDim, presentKey, presentValue } = this.spec;
    const total = this.pastLength + T;
    if (newMask.length !== this.batch * T) throw new Error(`KvCache.update: mask has ${newMask.length} values, expected ${this.batch}×${T}`);
    const want = [this.batch, heads, total, headDim];
    const next: [ort.Tensor[], ort.Tensor[]] = [[], []];
    for (let i = 0; i < layers; i++) {
      for (const [name, k] of [
        [kvName(presentKey, i), 0],
        [kvName(presentValue, i), 1],
      ] as const) {
        const t = outputs[name];
        if (!t) throw new Error(`decoder output "${name}" missing (manifest kvCache.presentKey/presentValue)`);
        if (t.dims.length !== 4 || t.dims.some((d, j) => d !== want[j])) {
          throw new Error(`decoder output "${name}" has shape [${t.dims.join(",")}], expected [${want.join(",")}]`);
        }
        next[k].push(t);
      }
    }
    release(this.keys);
    release(this.values);
    [this.keys, this.values] = next;
    const mask = new BigInt64Array(this.batch * total);
    for (let b = 0; b < this.batch; b++) {
      mask.set(this.maskData.subarray(b * this.pastLength, (b + 1) * this.pastLength), b * total);
      mask.set(newMask.subarray(b * T, (b + 1) * T), b * total + this.pastLength);
      for (let j = 0; j < T; j++) if (newMask[b * T + j] !== 0n) this.real[b]!++;
    }
    this.maskData = mask;
    this.pastLength = total;
  }

  /** A new cache with rows `rows` of this one (in that order; a row may repeat), on the same device. */
  async select(rows: readonly number[]): Promise<KvCache> {
    this.check();
    const { heads, headDim } = this.spec;
    const out = new KvCache(this.spec, rows.length, this.device);
    if (this.pastLength > 0 && onDevice(this.keys[0]!)) {
      if (!this.device) throw new Error(`KvCache.select: tensors on ${this.keys[0]!.location} but no device to gather them with`);
      const device = this.device;
      const moved: ort.Tensor[] = [];
      try {
        for (const t of [...this.keys, ...this.values]) moved.push(await device.gather(t, rows));
      } catch (e) {
        release(moved);
        throw e;
      }
      out.keys = moved.slice(0, this.keys.length);
      out.values = moved.slice(this.keys.length);
    } else {
      const rowSize = heads * this.pastLength * headDim;
      const dims = [rows.length, heads, this.pastLength, headDim];
      const pick = (t: ort.Tensor) => {
        const src = t.data as Float32Array;
        const dst = new Float32Array(rows.length * rowSize);
        rows.forEach((r, j) => dst.set(src.subarray(r * rowSize, (r + 1) * rowSize), j * rowSize));
        return new ort.Tensor("float32", dst, dims);
      };
      out.keys = this.keys.map(pick);
      out.values = this.values.map(pick);
    }
    out.maskData = new BigInt64Array(rows.length * this.pastLength);
    rows.forEach((r, j) => out.maskData.set(this.maskData.subarray(r * this.pastLength, (r + 1) * this.pastLength), j * this.pastLength));
    out.pastLength = this.pastLength;
    out.real = rows.map((r) => this.real[r]!);
    return out;
  }

  /** Releases the buffers (device memory included); any later use throws (catches use-after-dispose bugs). */
  dispose(): void {
    if (this.disposed) return;
    release(this.keys);
    release(this.values);
    this.keys = [];
    this.values = [];
    this.maskData = new BigInt64Array(0);
    this.disposed = true;
  }

  private check(): void {
    if (this.disposed) throw new Error("KvCache used after dispose()");
  }
}

/** Frees device memory now (CPU tensors are left to the garbage collector). */
function release(ts: readonly ort.Tensor[]): void {
  for (const t of ts) if (onDevice(t)) t.dispose();
}
