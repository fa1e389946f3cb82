import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { rmsnormRef } from '../../kernels/rmsnorm.ref.js';
import { DECIMAL, F32_REL, ROWS, SIZES, expectClose, expectSame, randomF32 } from './check.js';

// Each output is w * x * (1 / rms) with the sum of squares in f64: the only error that matters is
// the final f32 rounding (2^-24 relative), and there is no cancellation, so a relative tolerance
// of F32_REL (2^-23) against an f64 reference is tight yet safe.
const TOL = { rel: F32_REL };

function naiveRmsnorm(x: Float32Array, w: Float32Array, rows: number, dim: number, eps: number): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * dim, (r + 1) * dim));
    const meanSq = row.reduce((s, v) => s + v * v, 0) / dim;
    const rms = Math.sqrt(meanSq + eps);
    row.forEach((v, i) => (out[r * dim + i] = (w[i]! * v) / rms));
  }
  return out;
}

describe('rmsnorm twin', () => {
  it('x = [3, 4], w = [1, 1], eps = 0', () => {
    // mean(x^2) = (9 + 16) / 2 = 12.5, rms = sqrt(12.5) = 3.5355339
    // out = [3 / 3.5355339, 4 / 3.5355339] = [0.8485281, 1.1313708]
    const out = new Float32Array(2);
    rmsnormRef(out, new Float32Array([3, 4]), new Float32Array([1, 1]), 1, 2, 0);
    expectClose(out, [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)], TOL, 'x=[3,4]');
    expectClose(out, [0.8485281, 1.1313708], DECIMAL, 'x=[3,4] (decimal)');
  });

  it('applies the weight per column', () => {
    // x = [1, 2, 2]: mean(x^2) = (1 + 4 + 4) / 3 = 3, rms = sqrt(3) = 1.7320508
    // w = [2, 1, 0.5]: out = [2*1, 1*2, 0.5*2] / sqrt(3) = [2, 2, 1] / 1.7320508 = [1.1547005, 1.1547005, 0.5773503]
    const out = new Float32Array(3);
    rmsnormRef(out, new Float32Array([1, 2, 2]), new Float32Array([2, 1, 0.5]), 1, 3, 0);
    expectClose(out, [1.1547005, 1.1547005, 0.5773503], DECIMAL, 'weighted');
  });

  it('an all-zero row gives zeros, kept finite by eps', () => {
    // mean(x^2) = 0, 1/sqrt(0 + 1e-5) = 316.2 is finite, 0 * 316.2 = 0
    for (const dim of SIZES) {
      const out = new Float32Array(dim).fill(7);
      rmsnormRef(out, new Float32Array(dim), new Float32Array(dim).fill(1.5), 1, dim, 1e-5);
      expectSame(out, new Float32Array(dim), `zeros dim=${dim}`);
    }
  });

  it('a row of identical values normalises to the weight (times the sign)', () => {
    // x = c everywhere: mean(x^2) = c^2, out = w * c / |c| = w * sign(c) when eps = 0
    for (const c of [5, -3, 1e-3, 1e4]) {
      const dim = 7;
      const w = new Float32Array([1, 2, 3, 4, 5, 6, 7]);
      const out = new Float32Array(dim);
      rmsnormRef(out, new Float32Array(dim).fill(c), w, 1, dim, 0);
      expectClose(out, Array.from(w, (v) => v * Math.sign(c)), TOL, `identical c=${c}`);
    }
    // with eps = 1e-5 and c = -3: out = -3 / sqrt(9 + 1e-5) = -0.99999944
    const out = new Float32Array(3);
    rmsnormRef(out, new Float32Array(3).fill(-3), new Float32Array(3).fill(1), 1, 3, 1e-5);
    expectClose(out, [-0.99999944, -0.99999944, -0.99999944], DECIMAL, 'identical c=-3 eps=1e-5');
  });

  it('dim 1', () => {
    // x = [-2], w = [3], eps = 0: rms = 2, out = 3 * -2 / 2 = -3
    const out = new Float32Array(1);
    rmsnormRef(out, new Float32Array([-2]), new Float32Array([3]), 1, 1, 0);
    expectSame(out, [-3], 'dim 1 eps 0');
    // eps = 1: rms = sqrt(4 + 1) = 2.2360680, out = -6 / 2.2360680 = -2.6832816
    rmsnormRef(out, new Float32Array([-2]), new Float32Array([3]), 1, 1, 1);
    expectClose(out, [-6 / Math.sqrt(5)], TOL, 'dim 1 eps 1');
  });

  it('matches a naive f64 rmsnorm on random rows at awkward sizes, in place too', () => {
    const seed = 0x4a5e;
    const rng = new Rng(seed);
    for (const rows of ROWS) {
      for (const dim of SIZES) {
        for (const scale of [1e-3, 1, 300]) {
          const x = randomF32(rng, rows * dim, scale);
          const w = randomF32(rng, dim, 2);
          const out = new Float32Array(rows * dim);
          rmsnormRef(out, x, w, rows, dim, 1e-5);
          const what = `seed=${seed} rows=${rows} dim=${dim} scale=${scale}`;
          expectClose(out, naiveRmsnorm(x, w, rows, dim, 1e-5), TOL, what);
          // out may alias x
          const y = x.slice();
          rmsnormRef(y, y, w, rows, dim, 1e-5);
          expectSame(y, out, `${what} in place`);
        }
      }
    }
  });

  it('is batch-invariant: a row does not depend on the other rows', () => {
    const seed = 0x4a5f;
    const rng = new Rng(seed);
    const dim = 31;
    const x = randomF32(rng, 5 * dim, 3);
    const w = randomF32(rng, dim);
    const all = new Float32Array(5 * dim);
    rmsnormRef(all, x, w, 5, dim, 1e-6);
    for (let r = 0; r < 5; r++) {
      const one = new Float32Array(dim);
      rmsnormRef(one, x.subarray(r * dim, (r + 1) * dim), w, 1, dim, 1e-6);
      expectSame(all.subarray(r * dim, (r + 1) * dim), one, `seed=${seed} row ${r}`);
    }
    expect(all.every(Number.isFinite)).toBe(true);
  });
});
