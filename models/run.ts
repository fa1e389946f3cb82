/**
 * Teacher-forced runs over whole sequences (no sampling): the engine behind scoring, capture
 * (`inspect`, extraction) and anything else that feeds known tokens. Sequences are packed as rows
 * of shared forwards (long ones in chunks through the KV cache); the caller says which positions
 * need logits and which need captures, and receives them row by row.
 */
import { DsteerError } from '../engine/errors.js';
import { BatchBuilder, type SeqSteer } from './batch.js';
import type { SteeringSetup } from './generate.js';
import { createRunState, fitShape, forward, readCaptures, setCapture, setSteering, type Model } from './llama.js';

export interface FeedSequence {
  ids: number[];
  steer?: SeqSteer;
  /** Positions [from, to) whose logits are wanted. */
  logits?: { from: number; to: number };
  /** Positions [from, to) whose hook values are wanted. */
  capture?: { from: number; to: number };
}

export interface FeedOptions {
  steering?: SteeringSetup;
  /** Hooks to capture (`all` or names); needed when any sequence has `capture`. */
  hooks?: string[] | 'all';
  /** Return log-softmax values instead of raw logits. */
  logSoftmax?: boolean;
  /** Most rows per forward (default 256) and most sequences at once (default 16). */
  maxRows?: number;
  maxBatch?: number;
  /** Logits row for sequence `seq` at position `pos` (a view, valid only during the call). */
  onLogits?: (seq: number, pos: number, row: Float32Array) => void;
  /** Captured values of sequence `seq` at `pos`: hook name -> [dim] (views, valid only during the call). */
  onCapture?: (seq: number, pos: number, hooks: Map<string, Float32Array>) => void;
}

function inRange(r: { from: number; to: number } | undefined, p: number): boolean {
  return r !== undefined && p >= r.from && p < r.to;
}

/**
 * Feeds every sequence through the model once.
 * @example
 * const rows: Float32Array[] = [];
 * await feed(model, [{ ids: [1, 5, 9], logits: { from: 2, to: 3 } }], { onLogits: (_s, _p, row) => rows.push(row.slice()) });
 * assert(rows.length === 1 && rows[0].length === model.cfg.vocabSize); // the last token's logits [vocab]
 */
export async function feed<F, I>(m: Model<F, I>, seqs: FeedSequence[], opts: FeedOptions = {}): Promise<string[]> {
  if (seqs.length === 0) return [];
  seqs.forEach((q, i) => {
    if (q.ids.length === 0) throw new DsteerError(`sequence ${i} has no tokens`);
    if (q.ids.length > m.cfg.maxContext) throw new DsteerError(`sequence ${i} has ${q.ids.length} tokens; the model's context is ${m.cfg.maxContext}`);
    for (const id of q.ids) {
      if (!Number.isInteger(id) || id < 0 || id >= m.cfg.vocabSize) throw new DsteerError(`sequence ${i}: token id ${id} is outside the vocabulary (0..${m.cfg.vocabSize - 1})`);
    }
  });
  const maxSeq = Math.max(...seqs.map((q) => q.ids.length));
  const wantRows = Math.max(1, opts.maxRows ?? 256);
  const wantSlots = Math.min(seqs.length, opts.maxBatch ?? 16);
  const shape = fitShape(m, { maxRows: wantRows, maxOut: wantRows, nSlots: wantSlots, maxSeq });
  const { nSlots, maxRows, maxOut } = shape;
  const s = createRunState(m, shape);
  const nSites = opts.steering?.sites.length ?? 0;
  if (opts.steering) setSteering(m, s, opts.steering.sites, opts.steering.vectors, opts.steering.preserveNorm);
  const wantsCapture = seqs.some((q) => q.capture !== undefined);
  let hookNames: string[] = [];
  if (wantsCapture) {
    if (!opts.hooks) throw new Error('capture requested without hooks');
    hookNames = setCapture(m, s, opts.hooks, maxRows);
  }
  const V = m.cfg.vocabSize;
  const dim = m.cfg.dim;
  const bb = new BatchBuilder(maxRows, maxOut, wantsCapture ? maxRows : 0, nSites);
  const outTag: [number, number][] = []; // (seq, pos) of each logits row
  const capTag: [number, number][] = [];
  const fed = new Int32Array(seqs.length);
  const slotOf = new Int32Array(seqs.length).fill(-1);
  const free = Array.from({ length: nSlots }, (_, i) => nSlots - 1 - i);
  let next = 0;
  const active: number[] = [];

  while (next < seqs.length || active.length > 0) {
    while (next < seqs.length && free.length > 0) {
      slotOf[next] = free.pop()!;
      active.push(next++);
    }
    bb.reset();
    outTag.length = 0;
    capTag.length = 0;
    for (const i of active) {
      const q = seqs[i]!;
      while (fed[i]! < q.ids.length) {
        const p = fed[i]!;
        const wl = inRange(q.logits, p);
        const wc = inRange(q.capture, p);
        if (!bb.fits(1, wl ? 1 : 0, wc ? 1 : 0)) break;
        bb.add(slotOf[i]!, q.ids[p]!, p, wl, wc, q.steer ?? null);
        if (wl) outTag.push([i, p]);
        if (wc) capTag.push([i, p]);
        fed[i] = p + 1;
      }
    }
    forward(m, s, bb.batch());
    if (outTag.length > 0) {
      if (opts.logSoftmax) m.k.logSoftmax(s.logits, s.logits, outTag.length, V);
      const all = await m.k.readF32(s.logits, outTag.length * V);
      outTag.forEach(([i, p], r) => opts.onLogits?.(i, p, all.subarray(r * V, (r + 1) * V)));
    }
    if (capTag.length > 0) {
      const caps = await readCaptures(m, s, capTag.length);
      capTag.forEach(([i, p], r) => {
        const row = new Map<string, Float32Array>();
        for (const [h, v] of caps) row.set(h, v.subarray(r * dim, (r + 1) * dim));
        opts.onCapture?.(i, p, row);
      });
    }
    // sequences fully fed leave and free their slot
    for (let a = active.length - 1; a >= 0; a--) {
      const i = active[a]!;
      if (fed[i] === seqs[i]!.ids.length) {
        free.push(slotOf[i]!);
        active.splice(a, 1);
      }
    }
  }
  return hookNames;
}
