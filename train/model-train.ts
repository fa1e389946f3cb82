/**
 * Training forward and backward of the whole Llama model over a batch of sequences [B, T]: every
 * position at once, causal, no KV cache (the engine's inference path is models/llama.ts). The
 * parameters are held in the engine's packed layout (models/weights.ts: q/k/v stacked in `wqkv`,
 * gate/up in `wgu`, the LM head tied to `embed`), so a trained model goes to the engine as is
 * (`trainedModel`), and the training forward is tested to give the engine's logits.
 *
 * Memory: a workspace holds every activation the backward needs, allocated once per (config, B, T);
 * nothing is allocated per step. Biases (qwen2, attention_bias) and untied LM heads are not
 * trained here: the micro-world models have neither.
 */
import { DsteerError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import { cpuBackend } from '../kernels/backend.js';
import { embeddingRef } from '../kernels/embedding.ref.js';
import { linearRef } from '../kernels/linear.ref.js';
import { rmsnormRef } from '../kernels/rmsnorm.ref.js';
import { buildRopeTables, ropeRef } from '../kernels/rope.ref.js';
import { swigluGuRef } from '../kernels/swiglu.ref.js';
import type { ModelConfig } from '../models/config.js';
import type { Model } from '../models/llama.js';
import { assembleWeights, packedLayout } from '../models/weights.js';
import {
  attentionTrainBackward,
  attentionTrainForward,
  crossEntropy,
  embeddingBackward,
  linearBackward,
  rmsnormBackward,
  ropeBackward,
  swigluGuBackward,
  targetLogprobs,
  targetLogprobsBackward,
} from './grads.js';

export interface TrainLayer {
  attnNorm: Float32Array; // [dim]
  wqkv: Float32Array; // [qDim + 2 kvDim, dim]
  wo: Float32Array; // [dim, qDim]
  mlpNorm: Float32Array; // [dim]
  wgu: Float32Array; // [2 hiddenDim, dim]
  wDown: Float32Array; // [dim, hiddenDim]
}

/** A model's trainable tensors (also the shape of its gradients and optimizer moments). */
export interface TrainParams {
  embed: Float32Array; // [vocab, dim], also the LM head
  layers: TrainLayer[];
  finalNorm: Float32Array; // [dim]
}

export interface TrainBatch {
  ids: Int32Array; // [B * T] input tokens
  targets: Int32Array; // [B * T] next tokens
  mask: Float32Array; // [B * T] loss weight of each position (0 = not in the loss)
  B: number;
  T: number;
}

/** f32 is the trainer; f64 runs the identical code in double precision (gradient checks only). */
export type Precision = 'f32' | 'f64';

function alloc(n: number, p: Precision): Float32Array {
  // The twins index typed arrays generically, so an f64 array runs the same code unchanged.
  return p === 'f32' ? new Float32Array(n) : (new Float64Array(n) as unknown as Float32Array);
}

function checkConfig(cfg: ModelConfig): void {
  if (!cfg.tiedEmbeddings) throw new DsteerError('config.json: field "tie_word_embeddings" is false; the trainer trains tied-embedding models only (set it to true)');
  if (cfg.qkvBias || cfg.oBias) throw new DsteerError(`config.json: a ${cfg.modelType} model with attention biases; the trainer trains bias-free llama models only (attention_bias: false)`);
}

/** Named tensors of a TrainParams in packedLayout(cfg) order: keys `embed`, `{l}.wqkv`, ..., `finalNorm`. */
export function paramEntries(p: TrainParams): [string, Float32Array][] {
  const out: [string, Float32Array][] = [['embed', p.embed]];
  p.layers.forEach((L, l) => {
    out.push([`${l}.attnNorm`, L.attnNorm], [`${l}.wqkv`, L.wqkv], [`${l}.wo`, L.wo], [`${l}.mlpNorm`, L.mlpNorm], [`${l}.wgu`, L.wgu], [`${l}.wDown`, L.wDown]);
  });
  out.push(['finalNorm', p.finalNorm]);
  return out;
}

/** Zeroed tensors of the config's shapes (gradients, moments). */
export function zeroParams(cfg: ModelConfig, precision: Precision = 'f32'): TrainParams {
  checkConfig(cfg);
  const byKey = new Map<string, Float32Array>();
  for (const t of packedLayout(cfg)) byKey.set(t.key, alloc(t.shape.reduce((a, b) => a * b, 1), precision));
  const g = (k: string): Float32Array => byKey.get(k)!;
  return {
    embed: g('embed'),
    layers: Array.from({ length: cfg.nLayers }, (_, l) => ({
      attnNorm: g(`${l}.attnNorm`),
      wqkv: g(`${l}.wqkv`),
      wo: g(`${l}.wo`),
      mlpNorm: g(`${l}.mlpNorm`),
      wgu: g(`${l}.wgu`),
      wDown: g(`${l}.wDown`),
    })),
    finalNorm: g('finalNorm'),
  };
}

/**
 * Seeded initial parameters: norms 1; matrices uniform in [-s, s] with s = 1/sqrt(fan-in) (the
 * variance of a unit input is kept); the two projections that write the residual stream (wo,
 * wDown) scaled by 1/sqrt(2 nLayers) so the stream does not grow with depth (GPT-2's rule).
 */
export function initParams(cfg: ModelConfig, seed: number, precision: Precision = 'f32'): TrainParams {
  const p = zeroParams(cfg, precision);
  const rng = new Rng(seed);
  const fill = (a: Float32Array, s: number): void => {
    for (let i = 0; i < a.length; i++) a[i] = Math.fround((rng.uniform() * 2 - 1) * s);
  };
  const resid = 1 / Math.sqrt(2 * cfg.nLayers);
  fill(p.embed, 1 / Math.sqrt(cfg.dim));
  for (const L of p.layers) {
    L.attnNorm.fill(1);
    L.mlpNorm.fill(1);
    fill(L.wqkv, 1 / Math.sqrt(cfg.dim));
    fill(L.wo, resid / Math.sqrt(cfg.nHeads * cfg.headDim));
    fill(L.wgu, 1 / Math.sqrt(cfg.dim));
    fill(L.wDown, resid / Math.sqrt(cfg.hiddenDim));
  }
  p.finalNorm.fill(1);
  return p;
}

/** Sets every tensor of `p` to zero (before accumulating a new step's gradients). */
export function zeroGrads(p: TrainParams): void {
  for (const [, t] of paramEntries(p)) t.fill(0);
}

/** A deep copy (f32). */
export function cloneParams(p: TrainParams): TrainParams {
  return {
    embed: Float32Array.from(p.embed),
    layers: p.layers.map((L) => ({
      attnNorm: Float32Array.from(L.attnNorm),
      wqkv: Float32Array.from(L.wqkv),
      wo: Float32Array.from(L.wo),
      mlpNorm: Float32Array.from(L.mlpNorm),
      wgu: Float32Array.from(L.wgu),
      wDown: Float32Array.from(L.wDown),
    })),
    finalNorm: Float32Array.from(p.finalNorm),
  };
}

/**
 * The engine's model over these parameters on the CPU backend (the arrays are shared, not copied:
 * later training steps change the model).
 */
export function trainedModel(cfg: ModelConfig, p: TrainParams, name = 'trained'): Model<Float32Array, Int32Array> {
  checkConfig(cfg);
  const weights = assembleWeights(cfg, new Map(paramEntries(p)));
  return { name, cfg, weights, k: cpuBackend() };
}

interface LayerActs {
  xIn: Float32Array; // [N, dim] residual stream entering the block
  xn1: Float32Array; // [N, dim] attnNorm(xIn)
  q: Float32Array; // [N, qDim] rotated
  k: Float32Array; // [N, kvDim] rotated
  v: Float32Array; // [N, kvDim]
  probs: Float32Array; // [B, nHeads, T, T]
  att: Float32Array; // [N, qDim]
  xMid: Float32Array; // [N, dim] xIn + attention
  xn2: Float32Array; // [N, dim] mlpNorm(xMid)
  gu: Float32Array; // [N, 2 hidden]
  hb: Float32Array; // [N, hidden]
}

/** Every buffer one step needs for a (config, B, T), allocated once. */
export interface TrainWorkspace {
  cfg: ModelConfig;
  B: number;
  T: number;
  precision: Precision;
  /**
   * Row layout of the last pass: sequence b occupies rows starts[b] .. starts[b] + lens[b] - 1 of
   * every [rows, ...] buffer below (rows <= N = B T). A full pass has lens[b] = T, starts[b] = b T;
   * a trimmed pass (trainStep, sequenceLogprobs with trim) drops each sequence's tail after its
   * last position in the loss, which cannot influence the loss or the gradients (causal attention;
   * every other op is per row), so the results are bit-identical and the tails' work is saved.
   */
  rows: number;
  starts: Int32Array; // [B]
  lens: Int32Array; // [B]
  ids: Int32Array; // [N] the pass's input tokens, in the row layout
  targets: Int32Array; // [N]
  mask: Float32Array; // [N]
  pos: Int32Array; // [N] position of each row within its sequence
  /**
   * LM-head rows of the last pass: a trimmed pass computes logits only for the rows in the loss
   * (mask != 0; the others' logits would only meet a zero weight), gathered into xh; ws.logits and
   * ws.dlogits hold `head` rows, row j being the layout's row headRow[j], batch position
   * headPos[j]. A full pass: headAll, head = rows, identity.
   */
  headAll: boolean;
  head: number;
  headRow: Int32Array; // [N]
  headPos: Int32Array; // [N]
  headTargets: Int32Array; // [N]
  headMask: Float32Array; // [N]
  xh: Float32Array; // [N, dim] xnF rows of the head
  dxh: Float32Array; // [N, dim]
  cos: Float32Array; // [T, headDim / 2]
  sin: Float32Array;
  acts: LayerActs[];
  qkv: Float32Array; // [N, qkvDim] scratch
  ab: Float32Array; // [N, dim] scratch
  xFinal: Float32Array; // [N, dim]
  xnF: Float32Array; // [N, dim]
  logits: Float32Array; // [N, vocab]
  logp: Float32Array; // [N] in batch order (b T + t)
  logpRows: Float32Array; // [N] in the row layout
  dlogpRows: Float32Array; // [N] in the row layout
  // gradient scratch
  dlogits: Float32Array; // [N, vocab]
  dx: Float32Array; // [N, dim] gradient of the residual stream
  dxn: Float32Array; // [N, dim]
  dhb: Float32Array; // [N, hidden]
  dgu: Float32Array; // [N, 2 hidden]
  datt: Float32Array; // [N, qDim]
  dq: Float32Array; // [N, qDim]
  dk: Float32Array; // [N, kvDim]
  dv: Float32Array; // [N, kvDim]
  dqkv: Float32Array; // [N, qkvDim]
}

export function createTrainWorkspace(cfg: ModelConfig, B: number, T: number, precision: Precision = 'f32'): TrainWorkspace {
  checkConfig(cfg);
  if (T > cfg.maxContext) throw new DsteerError(`training sequences of ${T} tokens exceed the model's context of ${cfg.maxContext} tokens`);
  const { dim, hiddenDim: H, nHeads, nKvHeads, headDim, vocabSize: V } = cfg;
  const N = B * T;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const a = (n: number): Float32Array => alloc(n, precision);
  const rope = buildRopeTables(headDim, cfg.ropeTheta, cfg.ropeScaling, T);
  const pos = new Int32Array(N);
  for (let r = 0; r < N; r++) pos[r] = r % T;
  return {
    cfg,
    B,
    T,
    precision,
    rows: N,
    starts: Int32Array.from({ length: B }, (_, b) => b * T),
    lens: new Int32Array(B).fill(T),
    ids: new Int32Array(N),
    targets: new Int32Array(N),
    mask: new Float32Array(N),
    pos,
    headAll: true,
    head: N,
    headRow: new Int32Array(N),
    headPos: new Int32Array(N),
    headTargets: new Int32Array(N),
    headMask: new Float32Array(N),
    xh: a(N * dim),
    dxh: a(N * dim),
    cos: precision === 'f32' ? rope.cos : (Float64Array.from(rope.cos) as unknown as Float32Array),
    sin: precision === 'f32' ? rope.sin : (Float64Array.from(rope.sin) as unknown as Float32Array),
    acts: Array.from({ length: cfg.nLayers }, () => ({
      xIn: a(N * dim),
      xn1: a(N * dim),
      q: a(N * qDim),
      k: a(N * kvDim),
      v: a(N * kvDim),
      probs: a(B * nHeads * T * T),
      att: a(N * qDim),
      xMid: a(N * dim),
      xn2: a(N * dim),
      gu: a(N * 2 * H),
      hb: a(N * H),
    })),
    qkv: a(N * (qDim + 2 * kvDim)),
    ab: a(N * dim),
    xFinal: a(N * dim),
    xnF: a(N * dim),
    logits: a(N * V),
    logp: a(N),
    logpRows: a(N),
    dlogpRows: a(N),
    dlogits: a(N * V),
    dx: a(N * dim),
    dxn: a(N * dim),
    dhb: a(N * H),
    dgu: a(N * 2 * H),
    datt: a(N * qDim),
    dq: a(N * qDim),
    dk: a(N * kvDim),
    dv: a(N * kvDim),
    dqkv: a(N * (qDim + 2 * kvDim)),
  };
}

function checkBatch(ws: TrainWorkspace, b: TrainBatch): void {
  if (b.B !== ws.B || b.T !== ws.T) throw new Error(`batch [${b.B}, ${b.T}] does not fit a workspace of [${ws.B}, ${ws.T}]`);
  const N = b.B * b.T;
  if (b.ids.length < N || b.targets.length < N || b.mask.length < N) throw new Error(`batch arrays shorter than B * T = ${N}`);
  const V = ws.cfg.vocabSize;
  for (let r = 0; r < N; r++) {
    if (b.ids[r]! < 0 || b.ids[r]! >= V) throw new DsteerError(`token id ${b.ids[r]} at row ${r} is outside the vocabulary (0..${V - 1})`);
    if (b.mask[r] !== 0 && (b.targets[r]! < 0 || b.targets[r]! >= V)) throw new DsteerError(`target id ${b.targets[r]} at row ${r} is outside the vocabulary (0..${V - 1})`);
  }
}

/**
 * Sets the workspace's row layout for a batch (see TrainWorkspace.rows) and gathers the batch's
 * ids, targets and mask into it. `trim`: each sequence ends after its last position with a non-zero
 * mask (positions after it are dropped); otherwise every position is kept (rows = B T, identity).
 */
function layoutRows(ws: TrainWorkspace, batch: TrainBatch, trim: boolean): void {
  const { B, T } = ws;
  let r = 0;
  for (let b = 0; b < B; b++) {
    let len = T;
    if (trim) {
      len = 0;
      for (let t = T - 1; t >= 0; t--) {
        if (batch.mask[b * T + t] !== 0) {
          len = t + 1;
          break;
        }
      }
    }
    ws.starts[b] = r;
    ws.lens[b] = len;
    for (let t = 0; t < len; t++, r++) {
      ws.ids[r] = batch.ids[b * T + t]!;
      ws.targets[r] = batch.targets[b * T + t]!;
      ws.mask[r] = batch.mask[b * T + t]!;
      ws.pos[r] = t;
    }
  }
  ws.rows = r;
  let h = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < ws.lens[b]!; t++) {
      const row = ws.starts[b]! + t;
      if (trim && ws.mask[row] === 0) continue;
      ws.headRow[h] = row;
      ws.headPos[h] = b * T + t;
      ws.headTargets[h] = ws.targets[row]!;
      ws.headMask[h] = ws.mask[row]!;
      h++;
    }
  }
  ws.head = h;
  ws.headAll = !trim;
}

/**
 * Training forward: logits of every position land in ws.logits [B * T, vocab], and every
 * activation the backward needs is kept in ws. The same op sequence as models/llama.ts forward().
 */
export function forwardTrain(ws: TrainWorkspace, p: TrainParams, batch: TrainBatch): void {
  forwardRows(ws, p, batch, false);
}

/** forwardTrain over the row layout layoutRows(trim) sets: ws.logits holds ws.head rows (see TrainWorkspace.head). */
function forwardRows(ws: TrainWorkspace, p: TrainParams, batch: TrainBatch, trim: boolean): void {
  checkBatch(ws, batch);
  layoutRows(ws, batch, trim);
  const { cfg: c, B, T, starts, lens } = ws;
  const { dim, nHeads, nKvHeads, headDim, hiddenDim: H, vocabSize: V, normEps: eps } = c;
  const N = ws.rows;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const qkvDim = qDim + 2 * kvDim;
  embeddingRef(ws.acts[0]!.xIn, p.embed, ws.ids, N, dim); //                  x [N, dim]
  for (let l = 0; l < c.nLayers; l++) {
    const L = p.layers[l]!;
    const A = ws.acts[l]!;
    // attention block
    rmsnormRef(A.xn1, A.xIn, L.attnNorm, N, dim, eps); //                          xn1 [N, dim]
    linearRef(ws.qkv, A.xn1, L.wqkv, null, N, dim, qkvDim); //                     qkv [N, q | k | v]
    splitQkv(A.q, A.k, A.v, ws.qkv, N, qDim, kvDim); //                             q [N, qDim], k, v [N, kvDim]
    ropeRef(A.q, ws.pos, ws.cos, ws.sin, N, nHeads, headDim); //                   q = rope(q)
    ropeRef(A.k, ws.pos, ws.cos, ws.sin, N, nKvHeads, headDim); //                 k = rope(k)
    attentionTrainForward(A.att, A.probs, A.q, A.k, A.v, B, T, nHeads, nKvHeads, headDim, starts, lens); // att [N, qDim]
    linearRef(ws.ab, A.att, L.wo, null, N, qDim, dim); //                          ab [N, dim]
    for (let i = 0; i < N * dim; i++) A.xMid[i] = A.xIn[i]! + ws.ab[i]!; //        xMid = x + attention
    // MLP block
    rmsnormRef(A.xn2, A.xMid, L.mlpNorm, N, dim, eps); //                          xn2 [N, dim]
    linearRef(A.gu, A.xn2, L.wgu, null, N, dim, 2 * H); //                         gu [N, gate | up]
    swigluGuRef(A.hb, A.gu, N, H); //                                              hb [N, hidden]
    linearRef(ws.ab, A.hb, L.wDown, null, N, H, dim); //                           ab [N, dim]
    const x = l + 1 < c.nLayers ? ws.acts[l + 1]!.xIn : ws.xFinal; //             the next block's input
    for (let i = 0; i < N * dim; i++) x[i] = A.xMid[i]! + ws.ab[i]!; //            x = xMid + MLP
  }
  rmsnormRef(ws.xnF, ws.xFinal, p.finalNorm, N, dim, eps); //                       xnF [N, dim]
  if (ws.headAll) {
    linearRef(ws.logits, ws.xnF, p.embed, null, N, dim, V); //                     logits [N, vocab] (tied head)
  } else {
    for (let j = 0; j < ws.head; j++) ws.xh.set(ws.xnF.subarray(ws.headRow[j]! * dim, (ws.headRow[j]! + 1) * dim), j * dim);
    linearRef(ws.logits, ws.xh, p.embed, null, ws.head, dim, V); //                logits [head, vocab]
  }
}

function splitQkv(q: Float32Array, k: Float32Array, v: Float32Array, qkv: Float32Array, N: number, qDim: number, kvDim: number): void {
  const stride = qDim + 2 * kvDim;
  for (let r = 0; r < N; r++) {
    const o = r * stride;
    q.set(qkv.subarray(o, o + qDim), r * qDim);
    k.set(qkv.subarray(o + qDim, o + qDim + kvDim), r * kvDim);
    v.set(qkv.subarray(o + qDim + kvDim, o + stride), r * kvDim);
  }
}

/**
 * Training backward from ws.dlogits (set by the caller, ws.rows rows) through the activations of
 * the last forward pass over `batch`; parameter gradients accumulate into `g`.
 */
export function backwardTrain(ws: TrainWorkspace, p: TrainParams, batch: TrainBatch, g: TrainParams): void {
  const { cfg: c, B, T, starts, lens } = ws;
  if (batch.B !== B || batch.T !== T) throw new Error(`batch [${batch.B}, ${batch.T}] does not fit a workspace of [${B}, ${T}]`);
  const { dim, nHeads, nKvHeads, headDim, hiddenDim: H, vocabSize: V, normEps: eps } = c;
  const N = ws.rows;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const qkvDim = qDim + 2 * kvDim;
  const { dx, dxn } = ws;
  if (ws.headAll) {
    linearBackward(dxn, g.embed, null, ws.dlogits, ws.xnF, p.embed, N, dim, V); // LM head (tied: into dEmbed)
  } else {
    // rows outside the head have zero dlogits: their dxn is exactly 0 and they add nothing to dEmbed
    linearBackward(ws.dxh, g.embed, null, ws.dlogits, ws.xh, p.embed, ws.head, dim, V);
    dxn.fill(0, 0, N * dim);
    for (let j = 0; j < ws.head; j++) dxn.set(ws.dxh.subarray(j * dim, (j + 1) * dim), ws.headRow[j]! * dim);
  }
  dx.fill(0);
  rmsnormBackward(dx, g.finalNorm, dxn, ws.xFinal, p.finalNorm, N, dim, eps); //   dx = d xFinal
  for (let l = c.nLayers - 1; l >= 0; l--) {
    const L = p.layers[l]!;
    const G = g.layers[l]!;
    const A = ws.acts[l]!;
    // MLP block: x = xMid + down(swiglu(gu(norm(xMid)))); dx flows to xMid unchanged plus through the MLP
    linearBackward(ws.dhb, G.wDown, null, dx, A.hb, L.wDown, N, H, dim); //       dhb [N, hidden]
    swigluGuBackward(ws.dgu, ws.dhb, A.gu, N, H); //                               dgu [N, 2 hidden]
    linearBackward(dxn, G.wgu, null, ws.dgu, A.xn2, L.wgu, N, dim, 2 * H); //     dxn2 [N, dim]
    rmsnormBackward(dx, G.mlpNorm, dxn, A.xMid, L.mlpNorm, N, dim, eps); //       dx = d xMid
    // attention block: xMid = xIn + wo(attention(rope(q), rope(k), v))
    linearBackward(ws.datt, G.wo, null, dx, A.att, L.wo, N, qDim, dim); //        datt [N, qDim]
    attentionTrainBackward(ws.dq, ws.dk, ws.dv, ws.datt, A.probs, A.q, A.k, A.v, B, T, nHeads, nKvHeads, headDim, starts, lens);
    ropeBackward(ws.dq, ws.pos, ws.cos, ws.sin, N, nHeads, headDim); //            d(unrotated q)
    ropeBackward(ws.dk, ws.pos, ws.cos, ws.sin, N, nKvHeads, headDim); //          d(unrotated k)
    for (let r = 0; r < N; r++) {
      const o = r * qkvDim;
      ws.dqkv.set(ws.dq.subarray(r * qDim, (r + 1) * qDim), o);
      ws.dqkv.set(ws.dk.subarray(r * kvDim, (r + 1) * kvDim), o + qDim);
      ws.dqkv.set(ws.dv.subarray(r * kvDim, (r + 1) * kvDim), o + qDim + kvDim);
    }
    linearBackward(dxn, G.wqkv, null, ws.dqkv, A.xn1, L.wqkv, N, dim, qkvDim); // dxn1 [N, dim]
    rmsnormBackward(dx, G.attnNorm, dxn, A.xIn, L.attnNorm, N, dim, eps); //      dx = d xIn
  }
  embeddingBackward(g.embed, dx, ws.ids, N, dim); //                           input table (tied: same dEmbed)
}

/**
 * One training step's forward and backward: masked mean cross-entropy of the targets; gradients
 * accumulate into `grads` (zero it first with zeroGrads; a fresh zeroed one when omitted).
 * @example
 * const cfg = parseConfig({ model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
 *   num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 32, tie_word_embeddings: true }, 'config.json');
 * const ws = createTrainWorkspace(cfg, 1, 4); // B 1, T 4
 * const batch = { ids: Int32Array.from([1, 2, 3, 4]), targets: Int32Array.from([2, 3, 4, 5]), mask: new Float32Array(4).fill(1), B: 1, T: 4 };
 * const { loss, grads } = trainStep(ws, initParams(cfg, 1), batch);
 * assert(loss > 0 && grads.embed.some((v) => v !== 0));
 */
export function trainStep(ws: TrainWorkspace, params: TrainParams, batch: TrainBatch, grads?: TrainParams): { loss: number; grads: TrainParams } {
  const g = grads ?? zeroParams(ws.cfg, ws.precision);
  forwardRows(ws, params, batch, true); // tails after the last masked position are dropped: same bits
  const loss = crossEntropy(ws.dlogits, ws.logits, ws.headTargets, ws.headMask, ws.head, ws.cfg.vocabSize);
  backwardTrain(ws, params, batch, g);
  return { loss, grads: g };
}

/**
 * Per-position log-probabilities of the targets, log p(targets[r] | ids[..r]) [B * T] (a view of
 * ws.logp, valid until the next call); rows whose mask is 0 are computed too (the caller sums what
 * it needs: DPO sums the response tokens of each sequence). Keeps the activations for
 * sequenceLogprobsBackward. With `trim`, only the masked positions' log-probs are computed (the
 * others read 0; the tail after a sequence's last masked position is not run at all), which is all
 * a masked sum needs.
 */
export function sequenceLogprobs(ws: TrainWorkspace, params: TrainParams, batch: TrainBatch, trim = false): Float32Array {
  forwardRows(ws, params, batch, trim);
  targetLogprobs(ws.logpRows, ws.logits, ws.headTargets, ws.head, ws.cfg.vocabSize);
  const { logp, logpRows, headPos } = ws;
  logp.fill(0);
  for (let j = 0; j < ws.head; j++) logp[headPos[j]!] = logpRows[j]!;
  return logp;
}

/**
 * Backward of sequenceLogprobs given dL/dlogp per position [B * T] (0 where a position is not in
 * the loss); must follow sequenceLogprobs on the same batch and workspace. Gradients accumulate.
 */
export function sequenceLogprobsBackward(ws: TrainWorkspace, params: TrainParams, batch: TrainBatch, dlogp: Float32Array, grads: TrainParams): void {
  const { head, headPos, dlogpRows } = ws;
  let nonZero = 0;
  for (let r = 0; r < ws.B * ws.T; r++) if (dlogp[r] !== 0) nonZero++;
  for (let j = 0; j < head; j++) {
    dlogpRows[j] = dlogp[headPos[j]!]!;
    if (dlogpRows[j] !== 0) nonZero--;
  }
  if (nonZero !== 0) throw new Error('dlogp is non-zero at a position the trimmed forward did not compute (only mask != 0 positions are)');
  targetLogprobsBackward(ws.dlogits, dlogpRows, ws.logits, ws.headTargets, head, ws.cfg.vocabSize);
  backwardTrain(ws, params, batch, grads);
}
