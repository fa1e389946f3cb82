/**
 * Direct preference optimisation (sigmoid loss) against a frozen reference (the SFT model), whose
 * answer log-probabilities are computed once before training:
 *   z = beta * ((log pi(c) - log ref(c)) - (log pi(r) - log ref(r))),  loss = -log sigmoid(z)
 * with log p(answer) summed over the answer's tokens (their end token included). Each step holds
 * B pairs: rows 0..B-1 the chosen sequences, rows B..2B-1 the rejected ones.
 */
import { Rng } from '../engine/rng.js';
import type { ModelConfig } from '../models/config.js';
import type { TrainParams } from './model-train.js';
import { createTrainWorkspace, sequenceLogprobs, sequenceLogprobsBackward, zeroGrads, zeroParams } from './model-train.js';
import { adamwFor, clipGradNorm, cosineLr, gradList } from './optim.js';
import { packBatch, type Sequence } from './sequences.js';
import { permutation, resumeLoop, saveLoop, type CheckpointHooks, type LoopOptions, type StepInfo } from './sft.js';

export interface DpoPair {
  chosen: Sequence;
  rejected: Sequence;
}

export interface DpoOptions extends LoopOptions {
  beta: number;
}

export interface DpoStepInfo extends StepInfo {
  /** Fraction of the step's pairs with a positive implicit-reward margin. */
  rewardAccuracy: number;
}

/** Summed log-probs of each row's weighted (answer) tokens under `params`, rows of a packed batch. */
function answerLogprobs(logp: Float32Array, mask: Float32Array, rows: number, T: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += mask[r * T + t]! * logp[r * T + t]!;
    out[r] = s;
  }
  return out;
}

/** Reference answer log-probs of every pair: [chosen, rejected] per pair, computed once. */
export function referenceLogprobs(cfg: ModelConfig, ref: TrainParams, pairs: DpoPair[], B: number, T: number): Float64Array {
  const ws = createTrainWorkspace(cfg, 2 * B, T);
  const out = new Float64Array(2 * pairs.length);
  for (let i = 0; i < pairs.length; i += B) {
    const chunk = pairs.slice(i, i + B);
    const batch = packBatch([...pad(chunk.map((p) => p.chosen), B), ...chunk.map((p) => p.rejected)], 2 * B, T);
    const lp = answerLogprobs(sequenceLogprobs(ws, ref, batch, true), batch.mask, 2 * B, T);
    chunk.forEach((_, j) => {
      out[2 * (i + j)] = lp[j]!;
      out[2 * (i + j) + 1] = lp[B + j]!;
    });
  }
  return out;
}

/** Pads a row list to B rows with empty sequences (weight 0), so rejected rows start at row B. */
function pad(rows: Sequence[], B: number): Sequence[] {
  const out = [...rows];
  while (out.length < B) out.push({ ids: [0], weight: [0] });
  return out;
}

/**
 * Trains `policy` in place; `refLp` from referenceLogprobs. Returns per-step losses.
 * @example
 * const cfg = parseConfig({ model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
 *   num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 8, tie_word_embeddings: true }, 'c');
 * const ref = initParams(cfg, 1);
 * const pairs = Array.from({ length: 4 }, () => ({ chosen: { ids: [1, 2, 3, 4], weight: [0, 0, 1, 1] }, rejected: { ids: [1, 2, 5, 6], weight: [0, 0, 1, 1] } }));
 * const o = { epochs: 10, B: 2, T: 4, lr: 0.01, minLr: 0.001, warmup: 1, clip: 1, weightDecay: 0, seed: 1, beta: 0.5 };
 * const losses = trainDpo(cfg, cloneParams(ref), referenceLogprobs(cfg, ref, pairs, 2, 4), pairs, o);
 * assert(losses[losses.length - 1] < losses[0]);
 */
export function trainDpo(cfg: ModelConfig, policy: TrainParams, refLp: Float64Array, pairs: DpoPair[], o: DpoOptions, onStep?: (s: DpoStepInfo) => void, ck: CheckpointHooks = {}): number[] {
  const rng = new Rng(o.seed);
  const B = o.B;
  const ws = createTrainWorkspace(cfg, 2 * B, o.T);
  const grads = zeroParams(cfg);
  const opt = adamwFor(policy, { weightDecay: o.weightDecay });
  const perEpoch = Math.ceil(pairs.length / B);
  const steps = perEpoch * o.epochs;
  const start = resumeLoop('dpo', policy, opt, steps, ck.resume);
  const losses: number[] = ck.resume ? [...ck.resume.losses] : [];
  const dlogp = new Float32Array(2 * B * o.T);
  const t0 = performance.now();
  let tokens = 0;
  let step = 0;
  for (let e = 0; e < o.epochs; e++) {
    const order = permutation(pairs.length, rng);
    for (let i = 0; i < perEpoch; i++) {
      if (step < start) {
        step++;
        continue;
      }
      if (ck.stopAfter !== undefined && step >= ck.stopAfter) return losses;
      const idx = order.slice(i * B, (i + 1) * B);
      const chunk = idx.map((j) => pairs[j]!);
      const batch = packBatch([...pad(chunk.map((p) => p.chosen), B), ...chunk.map((p) => p.rejected)], 2 * B, o.T);
      const lp = answerLogprobs(sequenceLogprobs(ws, policy, batch, true), batch.mask, 2 * B, o.T);
      dlogp.fill(0);
      let loss = 0;
      let correct = 0;
      chunk.forEach((_, j) => {
        const k = idx[j]!;
        const z = o.beta * (lp[j]! - refLp[2 * k]! - (lp[B + j]! - refLp[2 * k + 1]!));
        // -log sigmoid(z) = softplus(-z), computed stably; d/dz = -sigmoid(-z)
        loss += z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
        if (z > 0) correct++;
        const g = -1 / (1 + Math.exp(z)) / chunk.length;
        for (let t = 0; t < o.T; t++) {
          dlogp[j * o.T + t] = o.beta * g * batch.mask[j * o.T + t]!;
          dlogp[(B + j) * o.T + t] = -o.beta * g * batch.mask[(B + j) * o.T + t]!;
        }
      });
      zeroGrads(grads);
      sequenceLogprobsBackward(ws, policy, batch, dlogp, grads);
      clipGradNorm(gradList(grads), o.clip);
      const lr = cosineLr(step, { maxLr: o.lr, minLr: o.minLr, warmup: o.warmup, total: steps });
      opt.step(gradList(grads), lr);
      losses.push(loss / chunk.length);
      for (const p of chunk) tokens += Math.min(o.T, p.chosen.ids.length - 1) + Math.min(o.T, p.rejected.ids.length - 1);
      step++;
      saveLoop('dpo', policy, opt, step, steps, ck, losses);
      onStep?.({ step, steps, loss: loss / chunk.length, lr, tokens, seconds: (performance.now() - t0) / 1000, rewardAccuracy: correct / chunk.length });
    }
  }
  return losses;
}
