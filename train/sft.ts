/**
 * Supervised fine-tuning: next-token cross-entropy on assistant tokens, AdamW with a cosine
 * schedule and warmup, global gradient clipping, seeded shuffling. Deterministic: the same seed,
 * data and options give the same bytes.
 */
import { Rng } from '../engine/rng.js';
import type { ModelConfig } from '../models/config.js';
import { DsteerError } from '../engine/errors.js';
import { restoreParams, type Checkpoint } from './checkpoint.js';
import { createTrainWorkspace, paramEntries, trainStep, zeroGrads, zeroParams, type TrainParams } from './model-train.js';
import { adamwFor, clipGradNorm, cosineLr, gradList, type AdamW } from './optim.js';
import { packBatch, type Sequence } from './sequences.js';

export interface LoopOptions {
  epochs: number;
  /** Rows per batch (sequences per step). */
  B: number;
  /** Positions per row. */
  T: number;
  lr: number;
  minLr: number;
  warmup: number;
  clip: number;
  weightDecay: number;
  seed: number;
}

/** Checkpointing of a loop: resume from a checkpoint, save one every `every` steps and at the end. */
export interface CheckpointHooks {
  resume?: Checkpoint;
  every?: number;
  save?(c: Checkpoint): void;
  /** Stop after this many steps (an interruption, for tests); the last checkpoint is saved first. */
  stopAfter?: number;
}

export interface StepInfo {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  tokens: number;
  seconds: number;
}

/** A seeded Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/**
 * Trains `params` in place on `seqs`; returns the loss of every step.
 * @example
 * const cfg = parseConfig({ model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
 *   num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 8, tie_word_embeddings: true }, 'c');
 * const p = initParams(cfg, 1);
 * const seqs = Array.from({ length: 8 }, () => ({ ids: [1, 2, 3, 4, 5, 6], weight: [0, 1, 1, 1, 1, 1] }));
 * const losses = trainSft(cfg, p, seqs, { epochs: 20, B: 4, T: 5, lr: 0.01, minLr: 0.001, warmup: 2, clip: 1, weightDecay: 0, seed: 1 });
 * assert(losses[losses.length - 1] < losses[0] / 2);
 */
export function trainSft(cfg: ModelConfig, params: TrainParams, seqs: Sequence[], o: LoopOptions, onStep?: (s: StepInfo) => void, ck: CheckpointHooks = {}): number[] {
  const rng = new Rng(o.seed);
  const ws = createTrainWorkspace(cfg, o.B, o.T);
  const grads = zeroParams(cfg);
  const opt = adamwFor(params, { weightDecay: o.weightDecay });
  const perEpoch = Math.ceil(seqs.length / o.B);
  const steps = perEpoch * o.epochs;
  const start = resumeLoop('sft', params, opt, steps, ck.resume);
  const losses: number[] = ck.resume ? [...ck.resume.losses] : [];
  const t0 = performance.now();
  let tokens = 0;
  let step = 0;
  for (let e = 0; e < o.epochs; e++) {
    const order = permutation(seqs.length, rng);
    for (let i = 0; i < perEpoch; i++) {
      if (step < start) {
        step++; // done before the checkpoint: the shuffles above are redrawn, the work is not
        continue;
      }
      if (ck.stopAfter !== undefined && step >= ck.stopAfter) return losses;
      const rows = order.slice(i * o.B, (i + 1) * o.B).map((j) => seqs[j]!);
      const batch = packBatch(rows, o.B, o.T);
      zeroGrads(grads);
      const { loss } = trainStep(ws, params, batch, grads);
      clipGradNorm(gradList(grads), o.clip);
      const lr = cosineLr(step, { maxLr: o.lr, minLr: o.minLr, warmup: o.warmup, total: steps });
      opt.step(gradList(grads), lr);
      losses.push(loss);
      for (const r of rows) tokens += Math.min(o.T, r.ids.length - 1);
      step++;
      saveLoop('sft', params, opt, step, steps, ck, losses);
      onStep?.({ step, steps, loss, lr, tokens, seconds: (performance.now() - t0) / 1000 });
    }
  }
  return losses;
}

/** Restores a loop's parameters and optimizer from a checkpoint; returns the step to start at. */
export function resumeLoop(phase: string, params: TrainParams, opt: AdamW, steps: number, c: Checkpoint | undefined): number {
  if (!c) return 0;
  if (c.phase !== phase) throw new DsteerError(`checkpoint is for phase ${c.phase}, not ${phase}`);
  if (c.steps !== steps) throw new DsteerError(`checkpoint was made for a run of ${c.steps} steps; this run has ${steps} (different data or options)`);
  restoreParams(params, c, `${phase} checkpoint`);
  opt.loadState({ t: c.adamT, m: c.m, v: c.v });
  return c.step;
}

/** Saves a checkpoint every `every` steps and at the last step. */
export function saveLoop(phase: string, params: TrainParams, opt: AdamW, step: number, steps: number, ck: CheckpointHooks, losses: number[]): void {
  if (!ck.save) return;
  const due = step === steps || (ck.every !== undefined && step % ck.every === 0) || (ck.stopAfter !== undefined && step === ck.stopAfter);
  if (!due) return;
  const st = opt.state();
  ck.save({ phase, step, steps, adamT: st.t, losses, params: paramEntries(params).map(([, t]) => t), m: st.m, v: st.v });
}
