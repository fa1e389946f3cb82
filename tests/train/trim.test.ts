// Trimmed training passes (train/model-train.ts): trainStep and sequenceLogprobs(trim) skip each
// sequence's tail after its last masked position and compute the LM head only on masked rows.
// The claim is bit-identity, not closeness: the oracle is the full pass (forwardTrain over every
// position, crossEntropy / targetLogprobs over every row, backwardTrain), and every loss, log-prob
// and gradient value must be the same float (Object.is), since the shipped micro models are
// rebuilt byte for byte. Tolerance: none.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { parseConfig } from '../../models/config.js';
import { attentionTrainForward, crossEntropy, targetLogprobsBackward } from '../../train/grads.js';
import {
  backwardTrain,
  createTrainWorkspace,
  forwardTrain,
  initParams,
  paramEntries,
  sequenceLogprobs,
  sequenceLogprobsBackward,
  trainStep,
  zeroParams,
  type TrainBatch,
  type TrainParams,
} from '../../train/model-train.js';

const cfg = parseConfig(
  {
    model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, vocab_size: 40, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  },
  'trim test config',
);
const B = 4, T = 9;

/** Rows of different lengths: a prompt out of the loss, an answer in it, a zero-padded tail; row 2 has no loss at all. */
function raggedBatch(rng: Rng): TrainBatch {
  const lens = [9, 5, 7, 3];
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T), mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lens[b]!; t++) {
      ids[b * T + t] = 1 + rng.int(cfg.vocabSize - 1);
      targets[b * T + t] = 1 + rng.int(cfg.vocabSize - 1);
      mask[b * T + t] = b !== 2 && t >= 2 ? 1 : 0;
    }
  }
  mask[1] = 1; // a lone loss position inside the prompt of row 0
  mask[3 * T + 2] = 0; // row 3 ends with an unmasked position... then nothing
  mask[3 * T + 1] = 1;
  return { ids, targets, mask, B, T };
}

function expectSameBits(a: TrainParams, b: TrainParams): void {
  const eb = paramEntries(b);
  paramEntries(a).forEach(([key, t], j) => {
    const u = eb[j]![1];
    let diff = -1;
    for (let i = 0; i < t.length; i++) if (!Object.is(t[i], u[i])) { diff = i; break; }
    expect(diff, `${key}: first differing index`).toBe(-1);
  });
}

function params(seed: number): TrainParams {
  const p = initParams(cfg, seed);
  const rng = new Rng(seed + 100);
  for (const [key, t] of paramEntries(p)) if (key.endsWith('Norm')) for (let i = 0; i < t.length; i++) t[i] = Math.fround(1 + (rng.uniform() - 0.5));
  return p;
}

describe('trimmed passes are bit-identical to full passes', () => {
  it('trainStep: loss and every gradient equal the full forward + crossEntropy + backward', () => {
    const rng = new Rng(11);
    const p = params(11);
    const batch = raggedBatch(rng);
    const full = createTrainWorkspace(cfg, B, T);
    forwardTrain(full, p, batch);
    const loss = crossEntropy(full.dlogits, full.logits, batch.targets, batch.mask, B * T, cfg.vocabSize);
    const gFull = zeroParams(cfg);
    backwardTrain(full, p, batch, gFull);
    const ws = createTrainWorkspace(cfg, B, T);
    const r = trainStep(ws, p, batch);
    expect(Object.is(r.loss, loss)).toBe(true);
    expect(ws.rows).toBe(9 + 5 + 0 + 2); // row 2 has no loss position; row 3 ends at position 1
    expect(ws.head).toBe(batch.mask.reduce((a, m) => a + (m !== 0 ? 1 : 0), 0));
    expectSameBits(r.grads, gFull);
    // the workspace is reusable: a second, different batch after the first gives the same bits again
    const batch2 = raggedBatch(rng);
    forwardTrain(full, p, batch2);
    const loss2 = crossEntropy(full.dlogits, full.logits, batch2.targets, batch2.mask, B * T, cfg.vocabSize);
    const gFull2 = zeroParams(cfg);
    backwardTrain(full, p, batch2, gFull2);
    const r2 = trainStep(ws, p, batch2);
    expect(Object.is(r2.loss, loss2)).toBe(true);
    expectSameBits(r2.grads, gFull2);
  });

  it('sequenceLogprobs(trim): masked log-probs and the backward equal the full pass; others read 0', () => {
    const rng = new Rng(12);
    const p = params(12);
    const batch = raggedBatch(rng);
    const dlogp = Float32Array.from(batch.mask, (m) => (m === 0 ? 0 : Math.fround(rng.uniform() * 2 - 1)));
    const full = createTrainWorkspace(cfg, B, T);
    const lpFull = sequenceLogprobs(full, p, batch).slice();
    const gFull = zeroParams(cfg);
    sequenceLogprobsBackward(full, p, batch, dlogp, gFull);
    const ws = createTrainWorkspace(cfg, B, T);
    const lp = sequenceLogprobs(ws, p, batch, true);
    for (let r = 0; r < B * T; r++) expect(Object.is(lp[r], batch.mask[r] === 0 ? 0 : lpFull[r]), `position ${r}`).toBe(true);
    const g = zeroParams(cfg);
    sequenceLogprobsBackward(ws, p, batch, dlogp, g);
    expectSameBits(g, gFull);
    // a gradient at a position the trimmed pass did not compute is a caller's error, not a silent drop
    const bad = dlogp.slice();
    bad[2 * T] = 0.5;
    sequenceLogprobs(ws, p, batch, true);
    expect(() => sequenceLogprobsBackward(ws, p, batch, bad, zeroParams(cfg))).toThrow(/did not compute/);
  });

  it('the full path is unchanged by a trimmed pass before it (targetLogprobsBackward over all rows)', () => {
    const rng = new Rng(13);
    const p = params(13);
    const batch = raggedBatch(rng);
    const ws = createTrainWorkspace(cfg, B, T);
    trainStep(ws, p, batch);
    forwardTrain(ws, p, batch);
    expect(ws.rows).toBe(B * T);
    expect(ws.head).toBe(B * T);
    const fresh = createTrainWorkspace(cfg, B, T);
    forwardTrain(fresh, p, batch);
    expect(ws.logits.every((v, i) => Object.is(v, fresh.logits[i]))).toBe(true);
    const d = Float32Array.from(batch.mask);
    targetLogprobsBackward(ws.dlogits, d, ws.logits, batch.targets, B * T, cfg.vocabSize);
    expect(ws.dlogits.some((v) => v !== 0)).toBe(true);
  });

  it('attentionTrainForward with starts/lens gives the rows of the padded layout', () => {
    const rng = new Rng(14);
    const nH = 4, nKv = 2, hd = 4, Bb = 3, Tt = 6;
    const lens = Int32Array.from([6, 2, 4]);
    const starts = Int32Array.from([0, 6, 8]);
    const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.fround(rng.uniform() * 2 - 1));
    const q = rnd(Bb * Tt * nH * hd), k = rnd(Bb * Tt * nKv * hd), v = rnd(Bb * Tt * nKv * hd);
    const out = new Float32Array(Bb * Tt * nH * hd), probs = new Float32Array(Bb * nH * Tt * Tt);
    attentionTrainForward(out, probs, q, k, v, Bb, Tt, nH, nKv, hd);
    // packed copies of the kept rows
    const pack = (a: Float32Array, w: number): Float32Array => {
      const o = new Float32Array(12 * w);
      for (let b = 0; b < Bb; b++) o.set(a.subarray(b * Tt * w, (b * Tt + lens[b]!) * w), starts[b]! * w);
      return o;
    };
    const out2 = new Float32Array(12 * nH * hd), probs2 = new Float32Array(Bb * nH * Tt * Tt);
    attentionTrainForward(out2, probs2, pack(q, nH * hd), pack(k, nKv * hd), pack(v, nKv * hd), Bb, Tt, nH, nKv, hd, starts, lens);
    expect(pack(out, nH * hd).every((x, i) => Object.is(x, out2[i]))).toBe(true);
  });
});
