// AdamW, the cosine schedule and gradient clipping (train/optim.ts) against hand-computed values.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../models/config.js';
import { initParams, paramEntries, zeroParams } from '../../train/model-train.js';
import { AdamW, adamwFor, clipGradNorm, cosineLr, gradList } from '../../train/optim.js';

const f = Math.fround;

describe('AdamW', () => {
  it('first two steps match the update written out by hand (decayed tensor)', () => {
    const b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, lr = 0.01;
    const p = Float32Array.from([1, -2, 0.5]);
    const opt = new AdamW([p], [true], { beta1: b1, beta2: b2, eps, weightDecay: wd });
    // step 1: m = 0.1 g, v = 0.05 g^2; bias-corrected m / sqrt(v) = g / |g|
    opt.step([Float32Array.from([0.1, -0.3, 0])], lr);
    const s1 = [f(1 * 0.999 - 0.01 * (0.1 / (0.1 + eps))), f(-2 * 0.999 - 0.01 * (-0.3 / (0.3 + eps))), f(0.5 * 0.999)];
    expect([...p]).toEqual(s1);
    // step 2 with g = [0.2, 0.1, -0.4]
    const g1 = [0.1, -0.3, 0], g2 = [0.2, 0.1, -0.4];
    const want = s1.map((p1, i) => {
      const m = b1 * ((1 - b1) * g1[i]!) + (1 - b1) * g2[i]!;
      const v = b2 * ((1 - b2) * g1[i]! ** 2) + (1 - b2) * g2[i]! ** 2;
      return f(p1 * (1 - lr * wd) - (lr * (m / (1 - b1 ** 2))) / (Math.sqrt(v / (1 - b2 ** 2)) + eps));
    });
    opt.step([Float32Array.from(g2)], lr);
    expect([...p]).toEqual(want);
    expect(opt.t).toBe(2);
    // by hand for entry 0: m = 0.009 + 0.02 = 0.029, v = 0.95 * 0.0005 + 0.05 * 0.04 = 0.002475
    // p = (0.999 - 0.01) * 0.999 - 0.01 * (0.029 / 0.19) / sqrt(0.002475 / 0.0975) = 0.988011 - 0.0095799 = 0.978431
    expect(want[0]).toBeCloseTo(0.978431, 6);
  });

  it('a tensor without decay does not move under a zero gradient; one with decay shrinks by 1 - lr wd', () => {
    const a = Float32Array.from([2, -3]);
    const b = Float32Array.from([2, -3]);
    const opt = new AdamW([a, b], [false, true], { weightDecay: 0.5 });
    opt.step([new Float32Array(2), new Float32Array(2)], 0.1);
    expect([...a]).toEqual([2, -3]);
    expect([...b]).toEqual([f(2 * 0.95), f(-3 * 0.95)]);
  });

  it('adamwFor decays only the block matrices (not norms, not the tied embedding) unless decayAll', () => {
    const cfg = parseConfig(
      { model_type: 'llama', hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 10, tie_word_embeddings: true },
      'optim test config',
    );
    for (const decayAll of [false, true]) {
      const p = initParams(cfg, 3);
      const before = paramEntries(p).map(([, t]) => t.slice());
      const opt = adamwFor(p, { weightDecay: 0.5, decayAll });
      opt.step(gradList(zeroParams(cfg)), 0.1);
      paramEntries(p).forEach(([key, t], i) => {
        const decays = decayAll || /wqkv|wo|wgu|wDown/.test(key);
        expect(t[0], key).toBe(decays ? f(before[i]![0]! * 0.95) : before[i]![0]);
      });
    }
  });
});

describe('cosineLr', () => {
  const s = { maxLr: 1e-3, minLr: 1e-4, warmup: 10, total: 110 };
  it('warms up linearly to maxLr, then follows half a cosine to minLr and stays there', () => {
    expect(cosineLr(0, s)).toBeCloseTo(1e-4, 15);
    expect(cosineLr(4, s)).toBeCloseTo(5e-4, 15);
    expect(cosineLr(9, s)).toBe(1e-3);
    expect(cosineLr(10, s)).toBe(1e-3); // progress 0: cos 0 = 1
    expect(cosineLr(60, s)).toBeCloseTo(5.5e-4, 15); // halfway: (max + min) / 2
    expect(cosineLr(35, s)).toBeCloseTo(1e-4 + 0.5 * (1 + Math.SQRT1_2) * 9e-4, 15); // a quarter: cos(pi/4)
    expect(cosineLr(110, s)).toBe(1e-4);
    expect(cosineLr(500, s)).toBe(1e-4);
    for (let t = 10; t < 110; t++) expect(cosineLr(t + 1, s)).toBeLessThanOrEqual(cosineLr(t, s));
  });
});

describe('clipGradNorm', () => {
  it('scales all tensors together when the global norm exceeds the limit, and returns the norm before', () => {
    const a = Float32Array.from([3]);
    const b = Float32Array.from([0, -4]);
    expect(clipGradNorm([a, b], 1)).toBe(5);
    expect([...a]).toEqual([f(0.6)]);
    expect([...b]).toEqual([0, f(-0.8)]);
  });
  it('leaves gradients under the limit untouched', () => {
    const a = Float32Array.from([0.3, 0.4]);
    expect(clipGradNorm([a], 1)).toBeCloseTo(0.5, 7);
    expect([...a]).toEqual([f(0.3), f(0.4)]);
  });
});
