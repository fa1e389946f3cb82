import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { argmaxRef } from '../../kernels/argmax.ref.js';
import { sampleRef, sampleScratch } from '../../kernels/sample.ref.js';
import { ROWS, SIZES, expectSame, randomF32 } from './check.js';

// Sampled tokens are compared exactly. The hand cases keep u at least 0.005 away from a cumulative
// boundary, far more than the f32 rounding of the logits (~1e-7), so the token is not in doubt.
// Empirical frequencies of N = 20000 draws have a standard deviation of at most
// sqrt(0.25 / 20000) = 0.0035, so FREQ_TOL = 0.02 is over 5 sigma: deterministic for the seed, and
// robust to a change of seed.
const N_DRAWS = 20000;
const FREQ_TOL = 0.02;

const LOG_P = [Math.log(0.5), Math.log(0.3), Math.log(0.2)]; // logits of the distribution [0.5, 0.3, 0.2]

/** Samples each (temperature, topP, u) triple from the same logits row. */
function draw(logits: ArrayLike<number>, t: number, topP: number, us: number[]): number[] {
  const n = logits.length;
  const rows = us.length;
  const l = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) l.set(Float32Array.from(logits), r * n);
  const out = new Int32Array(rows);
  sampleRef(out, l, rows, n, new Float32Array(rows).fill(t), new Float32Array(rows).fill(topP), Float32Array.from(us));
  return Array.from(out);
}

/**
 * The documented contract, written out naively: p = softmax(logits / T) in f64; with topP < 1, tau
 * is the probability at which the tokens in decreasing order first reach mass topP, and the nucleus
 * is every token with p >= tau (all tokens when topP = 1); the token is the first nucleus token, in
 * id order, whose cumulative mass exceeds u * (nucleus mass).
 */
function naiveSample(logits: ArrayLike<number>, t: number, topP: number, u: number): number {
  const x = Array.from(logits, (v) => Math.fround(v));
  if (t <= 0) return x.indexOf(Math.max(...x));
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp((v - m) / t));
  const z = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / z);
  let tau = 0;
  if (Math.fround(topP) < 1) {
    const sorted = [...p].sort((a, b) => b - a);
    let acc = 0;
    for (const q of sorted) {
      acc += q;
      tau = q;
      if (acc >= Math.fround(topP)) break;
    }
  }
  const nucleus = p.map((_, i) => i).filter((i) => p[i]! >= tau);
  const mass = nucleus.reduce((a, i) => a + p[i]!, 0);
  let cum = 0;
  for (const i of nucleus) {
    cum += p[i]!;
    if (cum > Math.fround(u) * mass) return i;
  }
  return nucleus[nucleus.length - 1]!;
}

describe('sample twin', () => {
  it('temperature 0 is argmax, whatever topP and u', () => {
    const seed = 0x7e40;
    const rng = new Rng(seed);
    for (const rows of ROWS) {
      for (const n of SIZES) {
        const logits = randomF32(rng, rows * n, 5);
        const out = new Int32Array(rows);
        const us = Float32Array.from({ length: rows }, () => rng.uniform());
        sampleRef(out, logits, rows, n, new Float32Array(rows), new Float32Array(rows).fill(0.9), us);
        const want = new Int32Array(rows);
        argmaxRef(want, logits, rows, n);
        expectSame(out, want, `seed=${seed} rows=${rows} n=${n}`);
      }
    }
  });

  it('u = 0 picks the lowest id in the nucleus', () => {
    // logits [0, 3, 1, 2]: p = [0.032, 0.644, 0.087, 0.237]. topP 0.5 -> nucleus {1}; topP 0.9 ->
    // sorted masses 0.644, 0.881, 0.968 -> tau 0.087, nucleus {1, 2, 3}; topP 0.999 -> every token.
    expect(draw([0, 3, 1, 2], 1, 0.5, [0])).toEqual([1]);
    expect(draw([0, 3, 1, 2], 1, 0.9, [0])).toEqual([1]);
    expect(draw([0, 3, 1, 2], 1, 0.999, [0])).toEqual([0]);
  });

  it('the walk is in id order over the nucleus (no sort needed, the same map on every backend)', () => {
    // logits [0, 3, 1, 2] at T = 1: probabilities e^[0,3,1,2] / sum = [0.032, 0.644, 0.087, 0.237];
    // topP = 1: every token, cumulative masses in id order 0.032, 0.676, 0.763, 1.0, so u = 0 -> 0,
    // u = 0.5 -> 1, u = 0.7 -> 2, u = 0.9 -> 3.
    expect(draw([0, 3, 1, 2], 1, 1, [0, 0.5, 0.7, 0.9])).toEqual([0, 1, 2, 3]);
    // topP = 0.85: sorted masses 0.644, 0.881 -> tau = 0.237, nucleus {1, 3} (mass 0.881); in id order
    // the cumulative masses are 0.644, 0.881, so u = 0 -> 1, u = 0.5 (target 0.44) -> 1, u = 0.8
    // (target 0.705) -> 3.
    expect(draw([0, 3, 1, 2], 1, 0.85, [0, 0.5, 0.8])).toEqual([1, 1, 3]);
  });

  it('tokens tied at the nucleus threshold are all in it', () => {
    // [0.4, 0.3, 0.3]: topP = 0.5 reaches 0.7 at the first 0.3, so tau = 0.3 and both 0.3 tokens are in
    // (nucleus mass 1.0): u = 0.95 -> token 2.
    const logits = [Math.log(0.4), Math.log(0.3), Math.log(0.3)];
    expect(draw(logits, 1, 0.5, [0.95])).toEqual([2]);
  });

  it('a tiny topP (1e-6) always picks the argmax, whatever u', () => {
    const seed = 0x7091;
    const rng = new Rng(seed);
    for (const n of SIZES) {
      const logits = randomF32(rng, n, 3);
      const want = new Int32Array(1);
      argmaxRef(want, logits, 1, n);
      const us = [0, 0.25, 0.5, 0.999999, rng.uniform()];
      expect(draw(logits, 1, 1e-6, us), `seed=${seed} n=${n}`).toEqual(us.map(() => want[0]));
    }
  });

  it('[0.5, 0.3, 0.2] at T = 1, topP = 1: cumulative masses 0.5, 0.8, 1.0', () => {
    // u = 0.49 -> 0 (0.5 > 0.49); u = 0.51 -> 1 (0.5 <= 0.51 < 0.8); u = 0.81 -> 2 (0.8 <= 0.81 < 1)
    expect(draw(LOG_P, 1, 1, [0, 0.49, 0.51, 0.79, 0.81, 0.999])).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('[0.5, 0.3, 0.2] at topP = 0.6: the nucleus is {0, 1} (mass 0.8)', () => {
    // 0.5 < 0.6, 0.5 + 0.3 = 0.8 >= 0.6: nucleus {0, 1}, targets are u * 0.8
    // u = 0.7 -> target 0.56 >= 0.5 -> 1; u = 0.6 -> 0.48 < 0.5 -> 0; u = 0.999 -> 0.7992 -> 1 (never 2)
    expect(draw(LOG_P, 1, 0.6, [0.7, 0.6, 0.999, 0])).toEqual([1, 0, 1, 0]);
  });

  it('temperature 2 flattens [0.5, 0.3, 0.2]', () => {
    // p ~ [0.5, 0.3, 0.2]^(1/2) = [0.70710678, 0.54772256, 0.44721360], sum 1.7020429
    // p = [0.41544591, 0.32180302, 0.26275107]; cumulative 0.41544591, 0.73724893, 1
    // u = 0.41 -> 0, u = 0.42 -> 1, u = 0.73 -> 1, u = 0.74 -> 2 (at T = 1, 0.42 would give 0 and 0.74 give 1)
    expect(draw(LOG_P, 2, 1, [0.41, 0.42, 0.73, 0.74])).toEqual([0, 1, 1, 2]);
    expect(draw(LOG_P, 1, 1, [0.42, 0.74])).toEqual([0, 1]);
  });

  it(`empirical frequencies over ${N_DRAWS} seeded draws match the probabilities within ${FREQ_TOL}`, () => {
    const seed = 0xf4e9;
    const rng = new Rng(seed);
    const cases: { logits: number[]; t: number; topP: number; p: number[] }[] = [
      { logits: LOG_P, t: 1, topP: 1, p: [0.5, 0.3, 0.2] },
      { logits: LOG_P, t: 2, topP: 1, p: [0.41544591, 0.32180302, 0.26275107] },
      // nucleus {0, 1} renormalised: [0.5, 0.3] / 0.8 = [0.625, 0.375]
      { logits: LOG_P, t: 1, topP: 0.6, p: [0.625, 0.375, 0] },
    ];
    for (const { logits, t, topP, p } of cases) {
      const us = Array.from({ length: N_DRAWS }, () => rng.uniform());
      const counts = [0, 0, 0];
      for (const tok of draw(logits, t, topP, us)) counts[tok]!++;
      const freq = counts.map((c) => c / N_DRAWS);
      for (let i = 0; i < 3; i++) {
        expect(Math.abs(freq[i]! - p[i]!), `seed=${seed} T=${t} topP=${topP} token ${i}: freq ${freq[i]} vs p ${p[i]}`).toBeLessThanOrEqual(FREQ_TOL);
      }
    }
  });

  it('matches a naive implementation of the contract on random logits (topP < 1)', () => {
    const seed = 0x5a3e;
    const rng = new Rng(seed);
    for (const n of SIZES) {
      for (let trial = 0; trial < 40; trial++) {
        const logits = randomF32(rng, n, 4);
        const t = [0, 0.3, 1, 2.5][trial % 4]!;
        const topP = [0.05, 0.5, 0.9, 0.99][(trial >> 2) % 4]!;
        const u = Math.fround(rng.uniform());
        const got = draw(logits, t, topP, [u])[0];
        expect(got, `seed=${seed} n=${n} trial=${trial} T=${t} topP=${topP} u=${u}`).toBe(naiveSample(logits, t, topP, u));
      }
    }
  });

  it('rows are independent, and a larger scratch (as the CPU backend passes) changes nothing', () => {
    const seed = 0x12e1;
    const rng = new Rng(seed);
    const n = 13;
    const rows = 5;
    const logits = randomF32(rng, rows * n, 3);
    const temp = Float32Array.from([0, 0.7, 1, 1.5, 3]);
    const topP = Float32Array.from([1, 0.9, 0.5, 1, 0.95]);
    const u = Float32Array.from({ length: rows }, () => rng.uniform());
    const all = new Int32Array(rows);
    sampleRef(all, logits, rows, n, temp, topP, u, sampleScratch(67));
    for (let r = 0; r < rows; r++) {
      const one = new Int32Array(1);
      sampleRef(one, logits.subarray(r * n, (r + 1) * n), 1, n, temp.subarray(r, r + 1), topP.subarray(r, r + 1), u.subarray(r, r + 1));
      expect(all[r], `seed=${seed} row ${r}`).toBe(one[0]);
    }
  });
});
