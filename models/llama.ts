/**
 * The Llama-family decoder (llama, mistral, qwen2): the model, its run state (every buffer
 * allocated up front), and `forward()`, written once for both backends.
 *
 * A forward call processes `rows` tokens. Each row carries its own sequence slot (its KV cache
 * row block) and position, so prefill (many rows of one sequence), decode (one row per sequence)
 * and batches of sequences with different lengths are the same code: attention reads a row's own
 * slot up to its own position, so nothing is padded and nothing sliced.
 */
import { DsteerError } from '../engine/errors.js';
import type { Kernels, SteerBufs } from '../kernels/backend.js';
import { buildRopeTables } from '../kernels/rope.ref.js';
import type { ModelConfig } from './config.js';
import { allHookNames, checkHookName, hookName, type HookPoint } from './hooks.js';
import type { ModelWeights } from './weights.js';

export interface Model<F = unknown, I = unknown> {
  /** Shown in messages: the model folder. */
  name: string;
  cfg: ModelConfig;
  weights: ModelWeights<F>;
  k: Kernels<F, I>;
}

/** Capacity of a run state. */
export interface RunShape {
  /** Most token rows in one forward. */
  maxRows: number;
  /** Most rows whose logits one forward computes. */
  maxOut: number;
  /** Number of sequences that can hold a KV cache at once. */
  nSlots: number;
  /** Longest sequence (prompt + generated), at most the model's context. */
  maxSeq: number;
}

/** Steering vectors resident on the backend (see models/plan in steering/, hooks.ts for sites). */
export interface ResidentSteering<F, I> {
  /** Hook names of the steered sites, index j of the alpha columns. */
  sites: string[];
  /** For block l: j of its resid_mid site at [2l], of its resid_post site at [2l + 1], or -1. */
  siteIndex: Int32Array;
  nVec: number;
  /** One reusable argument object per site (the buffers are fixed; only data changes). */
  args: SteerBufs<F, I>[];
  alpha: F; // [maxRows, nSites]
  vec: I; // [maxRows]
  from: I; // [maxRows]
}

export interface RunState<F = unknown, I = unknown> {
  shape: RunShape;
  x: F; // [maxRows, dim] the residual stream
  xb: F; // [maxRows, dim] normed input of the next projection
  ab: F; // [maxRows, dim] a block's output (attention or MLP) before the residual add
  qkv: F; // [maxRows, (nHeads + 2 nKvHeads) * headDim] the fused q/k/v projection
  q: F; // [maxRows, nHeads * headDim] rotated queries
  att: F; // [maxRows, nHeads * headDim]
  gu: F; // [maxRows, 2 hiddenDim] the fused gate/up projection
  hb: F; // [maxRows, hiddenDim] silu(gate) * up
  xo: F; // [maxOut, dim] rows that need logits
  logits: F; // [maxOut, vocab]
  ids: I; // [maxRows]
  pos: I; // [maxRows]
  slot: I; // [maxRows]
  outIdx: I; // [maxOut]
  kCache: F[]; // per layer [nSlots, maxSeq, nKvHeads * headDim]
  vCache: F[]; // per layer [nSlots, maxSeq, nKvHeads * headDim]
  cos: F; // [maxSeq, headDim / 2]
  sin: F; // [maxSeq, headDim / 2]
  steer: ResidentSteering<F, I> | null;
  capture: CaptureState<F, I> | null;
}

/** Hooks being captured: for hook i, batch rows idx[0..nRows) land in bufs[i][0..nRows, :]. */
export interface CaptureState<F, I> {
  hooks: string[];
  /** For block l and site s (0 pre, 1 mid, 2 post): the hook index at [3l + s], or -1; final norm at [3 nLayers]. */
  at: Int32Array;
  maxRows: number;
  bufs: F[]; // per hook [maxRows, dim] (separate buffers: a GPU binds whole, aligned buffers)
  idx: I; // [maxRows] batch rows to capture
  normed: F | null; // [maxRows, dim] final-norm scratch, only when ln_final is captured
}

/** One forward's rows (host arrays; uploaded by forward). */
export interface Batch {
  rows: number;
  ids: Int32Array; // [rows] token ids
  pos: Int32Array; // [rows] position in the row's sequence
  slot: Int32Array; // [rows] the row's sequence slot
  outRows: Int32Array; // rows whose logits are computed, in output order (length <= maxOut)
  /** Per-row steering (needs state.steer): alpha [rows, nSites], vector index and first steered position per row. */
  steer?: { alpha: Float32Array; vec: Int32Array; from: Int32Array };
  /** Batch rows to capture at the state's capture hooks (needs state.capture). */
  captureRows?: Int32Array;
}

/**
 * Shrinks a wanted run shape so every buffer fits one binding of the backend (a GPU binds each
 * buffer whole: 128 MiB on lavapipe): fewer KV slots, fewer rows per forward, fewer logit rows.
 */
export function fitShape(m: Model, want: RunShape): RunShape {
  const { cfg } = m;
  const limit = m.k.maxBinding;
  if (!Number.isFinite(limit)) return want;
  const kvRow = cfg.nKvHeads * cfg.headDim * 4;
  const slotBytes = want.maxSeq * kvRow;
  if (slotBytes > limit) {
    throw new DsteerError(`${m.name}: one sequence of ${want.maxSeq} tokens needs a ${(slotBytes / 2 ** 20).toFixed(0)} MiB KV cache per layer, over this device's ${(limit / 2 ** 20).toFixed(0)} MiB binding limit; use shorter sequences`);
  }
  const widest = Math.max(cfg.dim, (cfg.nHeads + 2 * cfg.nKvHeads) * cfg.headDim, 2 * cfg.hiddenDim) * 4;
  const nSlots = Math.max(1, Math.min(want.nSlots, Math.floor(limit / slotBytes)));
  const maxRows = Math.max(1, Math.min(want.maxRows, Math.floor(limit / widest)));
  const maxOut = Math.max(1, Math.min(want.maxOut, maxRows, Math.floor(limit / (cfg.vocabSize * 4))));
  return { maxRows, maxOut, nSlots, maxSeq: want.maxSeq };
}

/** Allocates every buffer a forward needs, once. */
export function createRunState<F, I>(m: Model<F, I>, shape: RunShape): RunState<F, I> {
  const { cfg, k } = m;
  if (shape.maxSeq > cfg.maxContext) {
    throw new DsteerError(`${m.name}: a sequence of ${shape.maxSeq} tokens exceeds the model's context of ${cfg.maxContext} tokens`);
  }
  if (shape.maxOut > shape.maxRows) throw new Error(`maxOut ${shape.maxOut} exceeds maxRows ${shape.maxRows}`);
  const qDim = cfg.nHeads * cfg.headDim;
  const kvDim = cfg.nKvHeads * cfg.headDim;
  const R = shape.maxRows;
  const rope = buildRopeTables(cfg.headDim, cfg.ropeTheta, cfg.ropeScaling, shape.maxSeq);
  const cache = (): F[] => Array.from({ length: cfg.nLayers }, () => k.allocF32(shape.nSlots * shape.maxSeq * kvDim));
  return {
    shape,
    x: k.allocF32(R * cfg.dim),
    xb: k.allocF32(R * cfg.dim),
    ab: k.allocF32(R * cfg.dim),
    qkv: k.allocF32(R * (qDim + 2 * kvDim)),
    q: k.allocF32(R * qDim),
    att: k.allocF32(R * qDim),
    gu: k.allocF32(R * 2 * cfg.hiddenDim),
    hb: k.allocF32(R * cfg.hiddenDim),
    xo: k.allocF32(shape.maxOut * cfg.dim),
    logits: k.allocF32(shape.maxOut * cfg.vocabSize),
    ids: k.allocI32(R),
    pos: k.allocI32(R),
    slot: k.allocI32(R),
    outIdx: k.allocI32(shape.maxOut),
    kCache: cache(),
    vCache: cache(),
    cos: k.adoptF32(rope.cos),
    sin: k.adoptF32(rope.sin),
    steer: null,
    capture: null,
  };
}

/**
 * Makes steering vectors resident: `vectors` is [nVec, sites.length, dim] (vector v's value at
 * site j is row v * nSites + j). Sites are hook names at resid_mid or resid_post.
 */
export function setSteering<F, I>(m: Model<F, I>, s: RunState<F, I>, sites: string[], vectors: Float32Array, preserveNorm: boolean): void {
  const { cfg, k } = m;
  const nSites = sites.length;
  if (nSites === 0 || vectors.length === 0 || vectors.length % (nSites * cfg.dim) !== 0) {
    throw new Error(`steering vectors of length ${vectors.length} do not fit ${nSites} sites of width ${cfg.dim}`);
  }
  const siteIndex = new Int32Array(2 * cfg.nLayers).fill(-1);
  sites.forEach((name, j) => {
    const p = checkHookName(name, cfg.nLayers, 'steering site');
    if (p.site !== 'resid_mid' && p.site !== 'resid_post') throw new DsteerError(`steering site "${name}": only hook_resid_mid and hook_resid_post can be steered`);
    const at = 2 * p.layer + (p.site === 'resid_mid' ? 0 : 1);
    if (siteIndex[at] !== -1) throw new DsteerError(`steering site "${name}" is listed twice`);
    siteIndex[at] = j;
  });
  const R = s.shape.maxRows;
  const vecBuf = k.adoptF32(vectors.slice(), 'steering vectors');
  const alpha = k.allocF32(R * nSites);
  const vec = k.allocI32(R);
  const from = k.allocI32(R);
  const args = sites.map((_, j) => ({ vectors: vecBuf, nSites, site: j, alpha, vec, from, pos: s.pos, preserveNorm }));
  s.steer = { sites: [...sites], siteIndex, nVec: vectors.length / (nSites * cfg.dim), args, alpha, vec, from };
}

/** Chooses hooks to capture (`all` or names) for up to `maxRows` rows per forward. */
export function setCapture<F, I>(m: Model<F, I>, s: RunState<F, I>, hooks: string[] | 'all', maxRows: number): string[] {
  const { cfg, k } = m;
  const names = hooks === 'all' ? allHookNames(cfg.nLayers) : hooks;
  const points: HookPoint[] = names.map((n) => checkHookName(n, cfg.nLayers, '--hooks'));
  const at = new Int32Array(3 * cfg.nLayers + 1).fill(-1);
  const canonical = points.map(hookName);
  points.forEach((p, i) => {
    const idx = p.site === 'final_norm' ? 3 * cfg.nLayers : 3 * p.layer + ['resid_pre', 'resid_mid', 'resid_post'].indexOf(p.site);
    if (at[idx] !== -1) throw new DsteerError(`--hooks: "${canonical[i]}" is listed twice`);
    at[idx] = i;
  });
  const wantsFinal = at[3 * cfg.nLayers] !== -1;
  s.capture = {
    hooks: canonical,
    at,
    maxRows,
    bufs: names.map(() => k.allocF32(maxRows * cfg.dim)),
    idx: k.allocI32(maxRows),
    normed: wantsFinal ? k.allocF32(s.shape.maxRows * cfg.dim) : null,
  };
  return canonical;
}

/** Reads the captures of the last forward: hook name -> [nRows, dim]. */
export async function readCaptures<F, I>(m: Model<F, I>, s: RunState<F, I>, nRows: number): Promise<Map<string, Float32Array>> {
  const c = s.capture;
  if (c === null) return new Map();
  const dim = m.cfg.dim;
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < c.hooks.length; i++) out.set(c.hooks[i]!, await m.k.readF32(c.bufs[i]!, nRows * dim));
  return out;
}

function captureAt<F, I>(m: Model<F, I>, s: RunState<F, I>, at: number, src: F, n: number): void {
  const c = s.capture!;
  const i = c.at[at]!;
  if (i < 0) return;
  m.k.gatherRows(c.bufs[i]!, src, c.idx, n, m.cfg.dim);
}

function steerAt<F, I>(s: RunState<F, I>, l: number, mid: boolean, steered: boolean): SteerBufs<F, I> | null {
  if (!steered) return null;
  const j = s.steer!.siteIndex[2 * l + (mid ? 0 : 1)]!;
  return j < 0 ? null : s.steer!.args[j]!;
}

function checkBatch<F, I>(m: Model<F, I>, s: RunState<F, I>, b: Batch): void {
  const { maxRows, maxOut, maxSeq, nSlots } = s.shape;
  if (b.rows < 1 || b.rows > maxRows) throw new Error(`batch of ${b.rows} rows; this run state holds 1..${maxRows}`);
  if (b.outRows.length > maxOut) throw new Error(`${b.outRows.length} logit rows requested; this run state holds ${maxOut}`);
  for (let r = 0; r < b.rows; r++) {
    if (b.pos[r]! < 0 || b.pos[r]! >= maxSeq) throw new DsteerError(`position ${b.pos[r]} exceeds this run's maximum sequence length of ${maxSeq} tokens`);
    if (b.slot[r]! < 0 || b.slot[r]! >= nSlots) throw new Error(`row ${r}: slot ${b.slot[r]} outside 0..${nSlots - 1}`);
    if (b.ids[r]! < 0 || b.ids[r]! >= m.cfg.vocabSize) throw new DsteerError(`token id ${b.ids[r]} is outside the vocabulary (0..${m.cfg.vocabSize - 1})`);
  }
  if (b.steer && !s.steer) throw new Error('batch carries steering but no steering vectors are resident');
  const nCap = b.captureRows?.length ?? 0;
  if (nCap > 0 && (!s.capture || nCap > s.capture.maxRows)) throw new Error('batch captures rows but no capture state fits them');
}

/**
 * Runs the model on one batch of rows; logits of `b.outRows` land in `s.logits` [outRows, vocab],
 * captures in `s.capture.buf`. Records work on the backend; read results with readF32/readCaptures.
 */
export function forward<F, I>(m: Model<F, I>, s: RunState<F, I>, b: Batch): void {
  checkBatch(m, s, b);
  const { cfg: c, weights: w, k: K } = m;
  const R = b.rows;
  const nOut = b.outRows.length;
  const nCap = b.captureRows?.length ?? 0;
  const { dim, nHeads, nKvHeads, headDim, hiddenDim, vocabSize, normEps: eps } = c;
  const qDim = nHeads * headDim;
  const qkvDim = qDim + 2 * nKvHeads * headDim;
  const maxSeq = s.shape.maxSeq;
  const steered = b.steer !== undefined;
  const cap = nCap > 0;

  // per-row metadata
  K.writeI32(s.ids, b.ids.subarray(0, R));
  K.writeI32(s.pos, b.pos.subarray(0, R));
  K.writeI32(s.slot, b.slot.subarray(0, R));
  K.writeI32(s.outIdx, b.outRows);
  if (steered) {
    K.writeF32(s.steer!.alpha, b.steer!.alpha.subarray(0, R * s.steer!.sites.length));
    K.writeI32(s.steer!.vec, b.steer!.vec.subarray(0, R));
    K.writeI32(s.steer!.from, b.steer!.from.subarray(0, R));
  }
  if (cap) K.writeI32(s.capture!.idx, b.captureRows!);

  K.embedding(s.x, w.embed, s.ids, R, dim); //                                  x [R, dim]
  if (cap) captureAt(m, s, 0, s.x, nCap); //                                     blocks.0.hook_resid_pre
  K.rmsnorm(s.xb, s.x, w.layers[0]!.attnNorm, R, dim, eps); //                   xb [R, dim] block 0's attention input
  for (let l = 0; l < c.nLayers; l++) {
    const L = w.layers[l]!;
    const next = w.layers[l + 1];
    // attention block (its input norm was fused into the previous residual write)
    K.linear(s.qkv, s.xb, L.wqkv, L.bqkv, R, dim, qkvDim); //                    qkv [R, q | k | v]
    K.qkvRope(s.q, s.kCache[l]!, s.vCache[l]!, s.qkv, s.pos, s.slot, s.cos, s.sin, R, nHeads, nKvHeads, headDim, maxSeq); // q = rope(q); cache[slot, pos] = rope(k), v
    K.attention(s.att, s.q, s.kCache[l]!, s.vCache[l]!, s.slot, s.pos, R, nHeads, nKvHeads, headDim, maxSeq); // att [R, qDim]
    K.linear(s.ab, s.att, L.wo, L.bo, R, qDim, dim); //                          ab [R, dim] attention output
    K.residualAddNorm(s.x, s.ab, R, dim, steerAt(s, l, true, steered), L.mlpNorm, s.xb, eps); // x += attn (+ steer at resid_mid); xb = norm(x)
    if (cap) captureAt(m, s, 3 * l + 1, s.x, nCap); //                           blocks.l.hook_resid_mid
    // MLP block
    K.linear(s.gu, s.xb, L.wgu, null, R, dim, 2 * hiddenDim); //                 gu [R, gate | up]
    K.swigluGu(s.hb, s.gu, R, hiddenDim); //                                     hb [R, hidden] = silu(gate) * up
    K.linear(s.ab, s.hb, L.wDown, null, R, hiddenDim, dim); //                   ab [R, dim] MLP output
    if (next) K.residualAddNorm(s.x, s.ab, R, dim, steerAt(s, l, false, steered), next.attnNorm, s.xb, eps); // x += mlp (+ steer); xb = next input
    else K.residualAdd(s.x, s.ab, R, dim, steerAt(s, l, false, steered)); //     x += mlp (+ steer at resid_post)
    if (cap) captureAt(m, s, 3 * l + 2, s.x, nCap); //                           blocks.l.hook_resid_post
    if (cap && next) captureAt(m, s, 3 * (l + 1), s.x, nCap); //                 blocks.l+1.hook_resid_pre (same values)
  }
  if (cap && s.capture!.normed !== null) {
    K.rmsnorm(s.capture!.normed, s.x, w.finalNorm, R, dim, eps); //             final norm of every row, only for ln_final capture
    captureAt(m, s, 3 * c.nLayers, s.capture!.normed, nCap); //                  ln_final.hook_normalized
  }
  if (nOut === 0) return;
  K.gatherRows(s.xb, s.x, s.outIdx, nOut, dim); //                               xb [nOut, dim] rows that need logits
  K.rmsnorm(s.xo, s.xb, w.finalNorm, nOut, dim, eps); //                         xo = final norm
  K.linear(s.logits, s.xo, w.lmHead, null, nOut, dim, vocabSize); //             logits [nOut, vocab]
}
