/**
 * The arithmetic of extraction (steering/extract.ts), kept apart so each piece has an obvious
 * oracle: per-layer float64 accumulators whose memory does not depend on the number of pairs,
 * the capped per-sample store (f16, the values the samples file holds), cosines, and the summary
 * of a distribution (quantiles by linear interpolation between order statistics, numpy's default;
 * a fixed histogram over [-1, 1]).
 */
import { f16ToF32, f32ToF16 } from '../engine/dtype.js';

/**
 * Cosine of two vectors, accumulated in f64; null when either has norm 0 (undefined direction).
 * @example
 * assert(cosine([1, 0], [1, 1]) === 1 / Math.sqrt(2) && cosine([0, 0], [1, 1]) === null);
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa === 0 || bb === 0) return null;
  return ab / Math.sqrt(aa * bb);
}

/** Euclidean norm, accumulated in f64. @example assert(norm([3, 4]) === 5) */
export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/**
 * Running sums of one layer over the kept pairs, all float64. `d` = h_DPO - h_SFT at the last
 * token; chosen and rejected conversations; the four mean states (for the DPO-vs-SFT state
 * cosines); residual norms; and the chosen differences split by the parity of the kept index.
 * @example
 * const s = new LayerSums(2);
 * const f = (a, b) => new Float32Array([a, b]);
 * s.add(0, f(1, 0), f(2, 0), f(0, 0), f(0, 0)); // sft chosen, dpo chosen, sft rejected, dpo rejected
 * s.add(1, f(1, 0), f(1, 2), f(0, 0), f(0, 1));
 * assert(s.mean(s.diffChosen).join() === '0.5,1' && s.mean(s.diffRejected).join() === '0,0.5');
 * assert(s.diffEven.join() === '1,0' && s.diffOdd.join() === '0,2' && s.normSft === 2);
 */
export class LayerSums {
  readonly diffChosen: Float64Array;
  readonly diffRejected: Float64Array;
  readonly diffEven: Float64Array;
  readonly diffOdd: Float64Array;
  readonly sftChosen: Float64Array;
  readonly dpoChosen: Float64Array;
  readonly sftRejected: Float64Array;
  readonly dpoRejected: Float64Array;
  /** Sums of ||h_SFT(chosen)|| and ||h_DPO(chosen)||. */
  normSft = 0;
  normDpo = 0;
  n = 0;
  nEven = 0;
  nOdd = 0;

  constructor(readonly dim: number) {
    this.diffChosen = new Float64Array(dim);
    this.diffRejected = new Float64Array(dim);
    this.diffEven = new Float64Array(dim);
    this.diffOdd = new Float64Array(dim);
    this.sftChosen = new Float64Array(dim);
    this.dpoChosen = new Float64Array(dim);
    this.sftRejected = new Float64Array(dim);
    this.dpoRejected = new Float64Array(dim);
  }

  /** Adds kept pair number `index` (0-based among kept pairs): the four last-token states. */
  add(index: number, sftC: Float32Array, dpoC: Float32Array, sftR: Float32Array, dpoR: Float32Array): void {
    const half = index % 2 === 0 ? this.diffEven : this.diffOdd;
    for (let i = 0; i < this.dim; i++) {
      const dc = dpoC[i]! - sftC[i]!;
      this.diffChosen[i]! += dc;
      half[i]! += dc;
      this.diffRejected[i]! += dpoR[i]! - sftR[i]!;
      this.sftChosen[i]! += sftC[i]!;
      this.dpoChosen[i]! += dpoC[i]!;
      this.sftRejected[i]! += sftR[i]!;
      this.dpoRejected[i]! += dpoR[i]!;
    }
    this.normSft += norm(sftC);
    this.normDpo += norm(dpoC);
    this.n++;
    if (index % 2 === 0) this.nEven++;
    else this.nOdd++;
  }

  /** sum / n as f64 (zeros when n = 0). */
  mean(sum: Float64Array): Float64Array {
    const out = new Float64Array(this.dim);
    if (this.n > 0) for (let i = 0; i < this.dim; i++) out[i] = sum[i]! / this.n;
    return out;
  }
}

/**
 * The first `cap` kept pairs' chosen differences (h_DPO - h_SFT at the last token) for some
 * layers, stored as f16 bit patterns: exactly what NAME.samples.safetensors holds, and what the
 * principal-component method and the per-sample cosines read. Memory: cap x dim x 2 bytes per
 * layer, whatever the number of pairs.
 * @example
 * const st = new SampleStore(1, [3], 2);
 * st.put(3, new Float32Array([1, 1]), new Float32Array([1.5, 0])); // layer 3: dpo - sft = [0.5, -1]
 * st.commit();
 * st.commit(); // full: the cap is 1
 * assert(st.count === 1 && !st.open && st.rowsF32(3).join() === '0.5,-1');
 */
export class SampleStore {
  /** f16 bits, [cap, dim] per stored layer (rows beyond `count` unused). */
  readonly data = new Map<number, Uint16Array>();
  count = 0;
  private readonly row: Float32Array;
  private readonly bits: Uint16Array;

  constructor(
    readonly cap: number,
    readonly layers: number[],
    readonly dim: number,
  ) {
    for (const l of layers) this.data.set(l, new Uint16Array(cap * dim));
    this.row = new Float32Array(dim);
    this.bits = new Uint16Array(dim);
  }

  /** True while another sample fits. */
  get open(): boolean {
    return this.count < this.cap;
  }

  /** Stores layer `l`'s difference for sample `count` (call for each stored layer, then `commit`). */
  put(l: number, sft: Float32Array, dpo: Float32Array): void {
    const buf = this.data.get(l);
    if (!buf || !this.open) return;
    // the difference is rounded to f32 first (as a kernel would hold it), then to f16
    for (let i = 0; i < this.dim; i++) this.row[i] = dpo[i]! - sft[i]!;
    f32ToF16(this.row, this.bits);
    buf.set(this.bits, this.count * this.dim);
  }

  commit(): void {
    if (this.open) this.count++;
  }

  /** Layer `l`'s stored samples as f32 values, [count, dim] row-major. */
  rowsF32(l: number): Float32Array {
    const buf = this.data.get(l)!;
    const out = new Float32Array(this.count * this.dim);
    f16ToF32(buf.subarray(0, this.count * this.dim), out);
    return out;
  }
}

/** Summary of a sample of values in [-1, 1] (per-sample cosines). */
export interface Distribution {
  n: number;
  mean: number | null;
  min: number | null;
  p05: number | null;
  p25: number | null;
  median: number | null;
  p75: number | null;
  p95: number | null;
  max: number | null;
  /** 40 bins of width 0.05 over [-1, 1]; the last bin includes 1. */
  histogram: { edges: number[]; counts: number[] };
}

/** Histogram edges: -1, -0.95, ..., 1 (41 values, rounded to 2 decimals). */
export const HISTOGRAM_EDGES: number[] = Array.from({ length: 41 }, (_, i) => Math.round((-1 + i * 0.05) * 100) / 100);

/**
 * Quantile p of sorted values by linear interpolation at position (n - 1) p (numpy's default).
 * @example
 * assert(quantileSorted([0, 1, 2, 10], 0.5) === 1.5 && quantileSorted([0, 1, 2, 10], 0.25) === 0.75);
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Summarises values in [-1, 1]: mean, min, quantiles, max and the fixed histogram.
 * @example
 * const d = summarise([0.9, 0.95, 1]);
 * assert(d.n === 3 && d.median === 0.95 && d.min === 0.9 && d.max === 1);
 * assert(d.histogram.counts[38] === 1 && d.histogram.counts[39] === 2); // [0.9, 0.95) and [0.95, 1]
 */
export function summarise(values: number[]): Distribution {
  const counts = new Array<number>(HISTOGRAM_EDGES.length - 1).fill(0);
  const n = values.length;
  if (n === 0) return { n, mean: null, min: null, p05: null, p25: null, median: null, p75: null, p95: null, max: null, histogram: { edges: HISTOGRAM_EDGES, counts } };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of values) {
    sum += v;
    // bins [e_i, e_{i+1}); a cosine of exactly 1 (or rounding just above) lands in the last bin
    const b = Math.min(counts.length - 1, Math.max(0, Math.floor((v + 1) / 0.05 + 1e-9)));
    counts[b]!++;
  }
  const q = (p: number): number => quantileSorted(sorted, p);
  return { n, mean: sum / n, min: sorted[0]!, p05: q(0.05), p25: q(0.25), median: q(0.5), p75: q(0.75), p95: q(0.95), max: sorted[n - 1]!, histogram: { edges: HISTOGRAM_EDGES, counts } };
}
