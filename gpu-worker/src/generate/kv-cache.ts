/**
 * The decoder's KV cache, with exactly one owner. It holds, per layer, the past keys and values
 * [batch, heads, past, headDim] and, in lockstep, the attention mask of those past positions
 * [batch, past]: the two can never disagree about the past length.
 *
 * Lifecycle: `new KvCache(spec, batch)` (empty, past = 0) → `feeds()` → run the decoder →
 * `update(outputs, newMaskColumns)` → … → `dispose()`. `select(rows)` makes a new cache holding
 * some rows (to drop finished sequences or to repeat a context for several continuations).
 */
import * as ort from "onnxruntime-node";
import { kvName, type KvCacheSpec } from "../package/manifest.js";

export class KvCache {
  private keys: Float32Array[];
  private values: Float32Array[];
  private maskData: BigInt64Array;
  private disposed = false;
  /** Number of past positions held (the same for every row; padding positions included). */
  private pastLength = 0;
  /** Real (mask = 1) past positions per row. */
  private real: number[];

  constructor(
    readonly spec: KvCacheSpec,
    readonly batch: number,
  ) {
    this.keys = Array.from({ length: spec.layers }, () => new Float32Array(0));
    this.values = Array.from({ length: spec.layers }, () => new Float32Array(0));
    this.maskData = new BigInt64Array(0);
    this.real = new Array<number>(batch).fill(0);
  }

  get length(): number {
    return this.pastLength;
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

  /** The `past_key_values.{i}.key|value` feeds (a 0-length past dimension when empty). */
  feeds(): Record<string, ort.Tensor> {
    this.check();
    const { layers, heads, headDim, pastKey, pastValue } = this.spec;
    const dims = [this.batch, heads, this.pastLength, headDim];
    const out: Record<string, ort.Tensor> = {};
    for (let i = 0; i < layers; i++) {
      out[kvName(pastKey, i)] = new ort.Tensor("float32", this.keys[i]!, dims);
      out[kvName(pastValue, i)] = new ort.Tensor("float32", this.values[i]!, dims);
    }
    return out;
  }

  /**
   * Takes the decoder's `present.*` outputs as the new past and appends `newMask` ([batch, T], the
   * mask columns of the positions just run) to the past mask.
   */
  update(outputs: Record<string, ort.Tensor>, newMask: BigInt64Array, T: number): void {
    this.check();
    const { layers, heads, headDim, presentKey, presentValue } = this.spec;
    const total = this.pastLength + T;
    if (newMask.length !== this.batch * T) throw new Error(`KvCache.update: mask has ${newMask.length} values, expected ${this.batch}×${T}`);
    for (let i = 0; i < layers; i++) {
      for (const [name, store] of [
        [kvName(presentKey, i), this.keys],
        [kvName(presentValue, i), this.values],
      ] as const) {
        const t = outputs[name];
        if (!t) throw new Error(`decoder output "${name}" missing (manifest kvCache.presentKey/presentValue)`);
        const want = [this.batch, heads, total, headDim];
        if (t.dims.length !== 4 || t.dims.some((d, k) => d !== want[k])) {
          throw new Error(`decoder output "${name}" has shape [${t.dims.join(",")}], expected [${want.join(",")}]`);
        }
        store[i] = t.data as Float32Array;
      }
    }
    const mask = new BigInt64Array(this.batch * total);
    for (let b = 0; b < this.batch; b++) {
      mask.set(this.maskData.subarray(b * this.pastLength, (b + 1) * this.pastLength), b * total);
      mask.set(newMask.subarray(b * T, (b + 1) * T), b * total + this.pastLength);
      for (let j = 0; j < T; j++) if (newMask[b * T + j] !== 0n) this.real[b]!++;
    }
    this.maskData = mask;
    this.pastLength = total;
  }

  /** A new cache with rows `rows` of this one (in that order; a row may repeat). */
  select(rows: readonly number[]): KvCache {
    this.check();
    const { heads, headDim } = this.spec;
    const rowSize = heads * this.pastLength * headDim;
    const out = new KvCache(this.spec, rows.length);
    const pick = (src: Float32Array) => {
      const dst = new Float32Array(rows.length * rowSize);
      rows.forEach((r, j) => dst.set(src.subarray(r * rowSize, (r + 1) * rowSize), j * rowSize));
      return dst;
    };
    out.keys = this.keys.map(pick);
    out.values = this.values.map(pick);
    out.maskData = new BigInt64Array(rows.length * this.pastLength);
    rows.forEach((r, j) => out.maskData.set(this.maskData.subarray(r * this.pastLength, (r + 1) * this.pastLength), j * this.pastLength));
    out.pastLength = this.pastLength;
    out.real = rows.map((r) => this.real[r]!);
    return out;
  }

  /** Releases the buffers; any later use throws (catches use-after-dispose bugs). */
  dispose(): void {
    this.keys = [];
    this.values = [];
    this.maskData = new BigInt64Array(0);
    this.disposed = true;
  }

  private check(): void {
    if (this.disposed) throw new Error("KvCache used after dispose()");
  }
}
