/**
 * BatchBuilder: packs rows from several sequences into one forward's Batch, reusing its host
 * arrays (no allocation per step). Each row names its slot and position, whether it needs logits
 * or a capture, and its sequence's steering.
 */
import type { Batch } from './llama.js';

/** Steering of one sequence: one alpha per steered site, which stacked vector, first steered position. */
export interface SeqSteer {
  alpha: ArrayLike<number>;
  vec: number;
  /** Positions below this are not steered (0: every token; the prompt length: generated tokens only). */
  from: number;
}

export class BatchBuilder {
  readonly ids: Int32Array;
  readonly pos: Int32Array;
  readonly slot: Int32Array;
  private readonly out: Int32Array;
  private readonly cap: Int32Array;
  private readonly alpha: Float32Array;
  private readonly vec: Int32Array;
  private readonly from: Int32Array;
  rows = 0;
  nOut = 0;
  nCap = 0;
  private steered = false;

  constructor(readonly maxRows: number, readonly maxOut: number, readonly maxCap: number, readonly nSites: number) {
    this.ids = new Int32Array(maxRows);
    this.pos = new Int32Array(maxRows);
    this.slot = new Int32Array(maxRows);
    this.out = new Int32Array(maxOut);
    this.cap = new Int32Array(Math.max(1, maxCap));
    this.alpha = new Float32Array(maxRows * Math.max(1, nSites));
    this.vec = new Int32Array(maxRows);
    this.from = new Int32Array(maxRows);
  }

  reset(): void {
    this.rows = this.nOut = this.nCap = 0;
    this.steered = false;
  }

  /** Room for `rows` more rows, `outs` more logit rows and `caps` more captured rows? */
  fits(rows: number, outs: number, caps: number): boolean {
    return this.rows + rows <= this.maxRows && this.nOut + outs <= this.maxOut && this.nCap + caps <= this.maxCap;
  }

  /** Adds one row; returns its row index. */
  add(slot: number, id: number, pos: number, wantLogits: boolean, wantCapture: boolean, steer: SeqSteer | null): number {
    const r = this.rows++;
    this.ids[r] = id;
    this.pos[r] = pos;
    this.slot[r] = slot;
    if (wantLogits) this.out[this.nOut++] = r;
    if (wantCapture) this.cap[this.nCap++] = r;
    const a = r * this.nSites;
    if (steer !== null) {
      this.steered = true;
      for (let j = 0; j < this.nSites; j++) this.alpha[a + j] = steer.alpha[j] ?? 0;
      this.vec[r] = steer.vec;
      this.from[r] = steer.from;
    } else {
      for (let j = 0; j < this.nSites; j++) this.alpha[a + j] = 0;
      this.vec[r] = 0;
      this.from[r] = 0;
    }
    return r;
  }

  /** The Batch for forward() (views of the builder's arrays). */
  batch(): Batch {
    const b: Batch = {
      rows: this.rows,
      ids: this.ids,
      pos: this.pos,
      slot: this.slot,
      outRows: this.out.subarray(0, this.nOut),
    };
    if (this.steered) b.steer = { alpha: this.alpha, vec: this.vec, from: this.from };
    if (this.nCap > 0) b.captureRows = this.cap.subarray(0, this.nCap);
    return b;
  }
}
