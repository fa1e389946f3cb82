// The whole-model trainer (train/model-train.ts): gradients against finite differences, the
// training forward against the engine's forward, a nano model that learns, and determinism.
//
// Whole-model gradient check: the trainer runs unchanged in f64 (`precision: 'f64'`, the same
// code over Float64Array buffers), so central differences with h = 1e-5 are accurate to ~1e-9 and
// the check can be tight (|analytic - FD| <= 1e-6 + 1e-4 |FD|). The f32 trainer is then tied to
// the f64 one at the same parameters (max-norm relative 1e-3 per tensor).
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { parseConfig, type ModelConfig } from '../../models/config.js';
import { feed } from '../../models/run.js';
import {
  createTrainWorkspace,
  forwardTrain,
  initParams,
  paramEntries,
  sequenceLogprobs,
  sequenceLogprobsBackward,
  trainedModel,
  trainStep,
  zeroGrads,
  zeroParams,
  type TrainBatch,
  type TrainParams,
} from '../../train/model-train.js';
import { crossEntropy } from '../../train/grads.js';
import { adamwFor, clipGradNorm, cosineLr, gradList } from '../../train/optim.js';

const SEED = 7;

function nanoConfig(): ModelConfig {
  return parseConfig(
    {
      model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
      num_key_value_heads: 2, vocab_size: 32, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: true,
    },
    'nano config',
  );
}

function randomBatch(rng: Rng, V: number, B: number, T: number): TrainBatch {
  const N = B * T;
  const ids = Int32Array.from({ length: N }, () => rng.int(V));
  const targets = Int32Array.from({ length: N }, () => rng.int(V));
  const mask = Float32Array.from({ length: N }, (_, r) => (r % T < 2 ? 0 : 1)); // prompt positions out of the loss
  return { ids, targets, mask, B, T };
}

/** Norm weights away from 1 so their gradients are exercised at a generic point. */
function perturbNorms(p: TrainParams, rng: Rng): void {
  for (const [key, t] of paramEntries(p)) {
    if (key.endsWith('Norm')) for (let i = 0; i < t.length; i++) t[i] = Math.fround(1 + (rng.uniform() - 0.5));
  }
}

function toF32(p: TrainParams, cfg: ModelConfig): TrainParams {
  const out = zeroParams(cfg);
  const src = paramEntries(p);
  paramEntries(out).forEach(([, t], i) => t.set(src[i]![1]));
  return out;
}

describe('whole-model gradients (nano: dim 16, 2 layers, GQA 4/2, vocab 32, B 2, T 6)', () => {
  const cfg = nanoConfig();
  const B = 2, T = 6;

  function check(loss: (ws: ReturnType<typeof createTrainWorkspace>, p: TrainParams) => number, grads: TrainParams, p: TrainParams, ws: ReturnType<typeof createTrainWorkspace>, rng: Rng): void {
    const h = 1e-5;
    const g = paramEntries(grads);
    paramEntries(p).forEach(([key, t], j) => {
      for (let s = 0; s < 5; s++) {
        const i = rng.int(t.length);
        const v = t[i]!;
        t[i] = v + h;
        const up = loss(ws, p);
        t[i] = v - h;
        const dn = loss(ws, p);
        t[i] = v;
        const num = (up - dn) / (2 * h);
        const ana = g[j]![1][i]!;
        expect(Math.abs(ana - num), `${key}[${i}]: analytic ${ana} vs FD ${num} (seed ${SEED})`).toBeLessThanOrEqual(1e-6 + 1e-4 * Math.abs(num));
      }
    });
  }

  it('cross-entropy loss: 5 random entries of every tensor against central differences (f64)', () => {
    const rng = new Rng(SEED);
    const ws = createTrainWorkspace(cfg, B, T, 'f64');
    const p = initParams(cfg, SEED, 'f64');
    perturbNorms(p, rng);
    const batch = randomBatch(rng, cfg.vocabSize, B, T);
    const { grads } = trainStep(ws, p, batch);
    const loss = (w: typeof ws, q: TrainParams): number => {
      forwardTrain(w, q, batch);
      return crossEntropy(w.dlogits, w.logits, batch.targets, batch.mask, B * T, cfg.vocabSize);
    };
    check(loss, grads, p, ws, rng);

    // the f32 trainer at the same point gives the same gradients to f32 accuracy
    const p32 = toF32(p, cfg);
    const ws32 = createTrainWorkspace(cfg, B, T);
    const r32 = trainStep(ws32, p32, batch);
    const g64 = paramEntries(grads);
    paramEntries(r32.grads).forEach(([key, t], j) => {
      let d = 0, m = 0;
      for (let i = 0; i < t.length; i++) {
        d = Math.max(d, Math.abs(t[i]! - g64[j]![1][i]!));
        m = Math.max(m, Math.abs(g64[j]![1][i]!));
      }
      expect(d / m, `${key}: f32 vs f64 gradients`).toBeLessThan(1e-3);
    });
  });

  it('sequence log-probs backward (a DPO-like weighted sum of log p) against central differences (f64)', () => {
    const rng = new Rng(SEED + 1);
    const ws = createTrainWorkspace(cfg, B, T, 'f64');
    const p = initParams(cfg, SEED + 1, 'f64');
    perturbNorms(p, rng);
    const batch = randomBatch(rng, cfg.vocabSize, B, T);
    const wts = Float64Array.from({ length: B * T }, (_, r) => (batch.mask[r]! === 0 ? 0 : rng.uniform() * 2 - 1)) as unknown as Float32Array;
    const loss = (w: typeof ws, q: TrainParams): number => {
      const lp = sequenceLogprobs(w, q, batch);
      let s = 0;
      for (let r = 0; r < B * T; r++) s += wts[r]! * lp[r]!;
      return s;
    };
    loss(ws, p);
    const grads = zeroParams(cfg, 'f64');
    sequenceLogprobsBackward(ws, p, batch, wts, grads);
    check(loss, grads, p, ws, rng);
  });
});

describe('training forward == engine forward', () => {
  it('logits of every position agree with models/llama.ts through feed (1e-5), and log-probs with feed logSoftmax', async () => {
    const cfg = nanoConfig();
    const rng = new Rng(SEED + 2);
    const B = 3, T = 6;
    const p = initParams(cfg, SEED + 2);
    perturbNorms(p, rng);
    const batch = randomBatch(rng, cfg.vocabSize, B, T);
    const ws = createTrainWorkspace(cfg, B, T);
    forwardTrain(ws, p, batch);
    const logits = ws.logits.slice();
    const logp = sequenceLogprobs(ws, p, batch).slice();
    const model = trainedModel(cfg, p);
    const V = cfg.vocabSize;
    const seqs = Array.from({ length: B }, (_, b) => ({ ids: [...batch.ids.subarray(b * T, (b + 1) * T)], logits: { from: 0, to: T } }));
    let seen = 0;
    let maxErr = 0;
    await feed(model, seqs, {
      onLogits: (s, pos, row) => {
        seen++;
        for (let i = 0; i < V; i++) maxErr = Math.max(maxErr, Math.abs(row[i]! - logits[(s * T + pos) * V + i]!));
      },
    });
    expect(seen).toBe(B * T);
    expect(maxErr, 'max |train - engine| logit').toBeLessThan(1e-5);
    let lpErr = 0;
    await feed(model, seqs, {
      logSoftmax: true,
      onLogits: (s, pos, row) => {
        const r = s * T + pos;
        lpErr = Math.max(lpErr, Math.abs(row[batch.targets[r]!]! - logp[r]!));
      },
    });
    expect(lpErr, 'max |train - engine| target log-prob').toBeLessThan(1e-5);
  });
});

/** A repetitive corpus: a fixed cycle of 7 tokens, each sequence starting at a random offset. */
function cycleBatch(rng: Rng, B: number, T: number): TrainBatch {
  const cycle = [3, 17, 5, 29, 11, 2, 23];
  const N = B * T;
  const ids = new Int32Array(N), targets = new Int32Array(N);
  for (let b = 0; b < B; b++) {
    const off = rng.int(cycle.length);
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = cycle[(off + t) % cycle.length]!;
      targets[b * T + t] = cycle[(off + t + 1) % cycle.length]!;
    }
  }
  return { ids, targets, mask: new Float32Array(N).fill(1), B, T };
}

function trainNano(seed: number, steps: number): { params: TrainParams; losses: number[] } {
  const cfg = nanoConfig();
  const B = 8, T = 16;
  const params = initParams(cfg, seed);
  const grads = zeroParams(cfg);
  const ws = createTrainWorkspace(cfg, B, T);
  const opt = adamwFor(params, { weightDecay: 0.01 });
  const rng = new Rng(seed + 1000);
  const sched = { maxLr: 1e-2, minLr: 1e-3, warmup: 10, total: steps };
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    zeroGrads(grads);
    const { loss } = trainStep(ws, params, cycleBatch(rng, B, T), grads);
    losses.push(loss);
    clipGradNorm(gradList(grads), 1);
    opt.step(gradList(grads), cosineLr(s, sched));
  }
  return { params, losses };
}

describe('training a nano model', () => {
  it('200 AdamW steps on a repetitive corpus bring the loss below half its start, in < 5 s', () => {
    const t0 = performance.now();
    const { losses } = trainNano(SEED, 200);
    const ms = performance.now() - t0;
    const start = losses[0]!;
    const end = losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
    expect(start).toBeGreaterThan(3); // ~ln 32
    expect(end, `loss ${start.toFixed(3)} -> ${end.toFixed(3)}`).toBeLessThan(start / 2);
    expect(ms).toBeLessThan(5000);
  });

  it('is deterministic: the same seed gives identical parameter bytes after 20 steps', () => {
    const a = trainNano(SEED, 20);
    const b = trainNano(SEED, 20);
    expect(a.losses).toEqual(b.losses);
    const ea = paramEntries(a.params), eb = paramEntries(b.params);
    ea.forEach(([key, t], i) => {
      const x = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
      const y = new Uint8Array(eb[i]![1].buffer, eb[i]![1].byteOffset, eb[i]![1].byteLength);
      expect(Buffer.compare(Buffer.from(x), Buffer.from(y)), key).toBe(0);
    });
    const c = trainNano(SEED + 1, 20);
    expect(c.losses).not.toEqual(a.losses);
  });
});

const BENCH = process.env['DSTEER_TRAIN_BENCH'] === '1';
describe('throughput (a measurement, not a test)', () => {
  it.skipIf(!BENCH)('forward+backward tokens/s on the micro config (set DSTEER_TRAIN_BENCH=1 to run; slow)', () => {
    const cfg = parseConfig(
      {
        model_type: 'llama', hidden_size: 96, intermediate_size: 256, num_hidden_layers: 8, num_attention_heads: 6,
        num_key_value_heads: 2, vocab_size: 1024, max_position_embeddings: 256, rms_norm_eps: 1e-5, tie_word_embeddings: true,
      },
      'micro config',
    );
    const B = 8, T = 128;
    const p = initParams(cfg, 1);
    const g = zeroParams(cfg);
    const ws = createTrainWorkspace(cfg, B, T);
    const rng = new Rng(1);
    const batch = randomBatch(rng, cfg.vocabSize, B, T);
    trainStep(ws, p, batch, g); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      trainStep(ws, p, batch, g);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const nParams = paramEntries(p).reduce((a, [, t]) => a + t.length, 0);
    const med = times[1]!;
    console.log(`micro train step: ${nParams} params, B ${B} x T ${T}: median ${med.toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(', ')}), ${((B * T) / (med / 1000)).toFixed(0)} tokens/s`);
    expect(med).toBeGreaterThan(0);
  });
});
