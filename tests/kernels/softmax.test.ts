import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { logSoftmaxRef, softmaxRef } from '../../kernels/softmax.ref.js';
import { DECIMAL, F32_REL, ROWS, SIZES, expectClose, expectSame, randomF32 } from './check.js';

// Sums are f64 and each output is rounded once to f32:
// - softmax p_i: within 2^-24 of p_i (relative), plus an absolute 1e-45 for f32 subnormals;
// - log-softmax l_i = x_i - lse: within 2^-24 of |l_i|, plus 1e-12 * (1 + |max|) for the f64
//   cancellation in x_i - lse (x_i and lse carry ~1e-16 relative error each).
const P_TOL = { rel: F32_REL, abs: 1e-45 };
const lsTol = (want: ArrayLike<number>, m: number) => (i: number) => F32_REL * Math.abs(want[i]!) + 1e-12 * (1 + Math.abs(m));
// The row sum of n f32 probabilities is within n * 2^-24 of 1; the brief's 1e-6 holds for n < 16.
const SUM_TOL = (n: number) => Math.max(1e-6, n * 2 ** -24);

function naive(x: Float32Array, rows: number, n: number): { p: Float64Array; l: Float64Array; max: number[] } {
  const p = new Float64Array(rows * n);
  const l = new Float64Array(rows * n);
  const max: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * n, (r + 1) * n));
    const m = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    row.forEach((v, i) => {
      p[r * n + i] = Math.exp(v - m) / z;
      l[r * n + i] = v - m - Math.log(z);
    });
    max.push(m);
  }
  return { p, l, max };
}

function both(x: ArrayLike<number>, rows: number, n: number): { p: Float32Array; l: Float32Array } {
  const xs = Float32Array.from(x);
  const p = new Float32Array(rows * n);
  const l = new Float32Array(rows * n);
  softmaxRef(p, xs, rows, n);
  logSoftmaxRef(l, xs, rows, n);
  return { p, l };
}

describe('softmax / log-softmax twins', () => {
  it('x = [1, 2, 3], hand-computed', () => {
    // m = 3; exp(x - m) = [e^-2, e^-1, 1] = [0.13533528, 0.36787944, 1], sum = 1.5032147
    // softmax = [0.090030573, 0.24472847, 0.66524096]
    // log-softmax = x - 3 - ln(1.5032147) = x - 3.4076060 = [-2.4076060, -1.4076060, -0.40760596]
    const { p, l } = both([1, 2, 3], 1, 3);
    expectClose(p, [0.090030573, 0.24472847, 0.66524096], DECIMAL, 'softmax');
    expectClose(l, [-2.407606, -1.407606, -0.40760596], DECIMAL, 'log-softmax');
  });

  it('large values: 1e4, 88, -1e4 and mixed', () => {
    // [1e4, 9999]: = softmax([1, 0]) = [1 / (1 + e^-1), e^-1 / (1 + e^-1)] = [0.73105858, 0.26894142]
    let { p, l } = both([1e4, 9999], 1, 2);
    expectClose(p, [0.73105858, 0.26894142], DECIMAL, '[1e4, 9999]');
    expectClose(l, [-0.31326169, -1.3132617], DECIMAL, 'log [1e4, 9999]'); // ln 0.73105858, ln 0.26894142
    // [88, 0]: e^88 overflows f32 but x - max keeps exp in range: [1, e^-88 = 6.0546019e-39 (an f32 subnormal)]
    ({ p, l } = both([88, 0], 1, 2));
    expectClose(p, [1, 6.0546019e-39], { rel: 1e-6, abs: 1e-45 }, '[88, 0]');
    expectClose(l, [0, -88], { rel: F32_REL, abs: 1e-30 }, 'log [88, 0]');
    // [-1e4, -1e4]: all equal -> [0.5, 0.5], log = -ln 2 = -0.69314718
    ({ p, l } = both([-1e4, -1e4], 1, 2));
    expectSame(p, [0.5, 0.5], '[-1e4, -1e4]');
    expectClose(l, [-0.69314718, -0.69314718], DECIMAL, 'log [-1e4, -1e4]');
    // mixed [1e4, -1e4, 0, 88]: softmax = [1, 0, 0, 0] (e^-9912 underflows); log = x - 1e4 = [0, -2e4, -1e4, -9912]
    ({ p, l } = both([1e4, -1e4, 0, 88], 1, 4));
    expectSame(p, [1, 0, 0, 0], 'mixed');
    expectSame(l, [0, -2e4, -1e4, -9912], 'log mixed');
    expect(l.every(Number.isFinite)).toBe(true);
  });

  it('all-equal rows are uniform 1/n, at every awkward n', () => {
    for (const n of SIZES) {
      for (const c of [0, -3.5, 1e4]) {
        const { p, l } = both(new Float32Array(n).fill(c), 1, n);
        expectClose(p, new Float64Array(n).fill(1 / n), P_TOL, `n=${n} c=${c}`);
        expectClose(l, new Float64Array(n).fill(-Math.log(n)), { rel: F32_REL }, `log n=${n} c=${c}`);
      }
    }
  });

  it('one element: softmax [1], log-softmax [0]', () => {
    for (const v of [0, -7, 1e4, -1e4]) {
      const { p, l } = both([v], 1, 1);
      expectSame(p, [1], `x=[${v}]`);
      expectSame(l, [0], `log x=[${v}]`);
    }
  });

  it('-Infinity entries get probability 0 and log-probability -Infinity', () => {
    // [-inf, 0, -inf, 0]: exp(-inf) = 0, so softmax([0, 0]) on the finite entries = [0, 0.5, 0, 0.5]
    const { p, l } = both([-Infinity, 0, -Infinity, 0], 1, 4);
    expectSame(p, [0, 0.5, 0, 0.5], '-inf');
    expectClose(l, [-Infinity, -0.69314718, -Infinity, -0.69314718], DECIMAL, 'log -inf');
  });

  it('matches a naive f64 softmax on random rows; rows sum to 1; log-softmax = log(softmax), finite', () => {
    const seed = 0x50f7;
    const rng = new Rng(seed);
    for (const rows of ROWS) {
      for (const n of SIZES) {
        for (const scale of [1, 20, 1e4]) {
          const x = randomF32(rng, rows * n, scale);
          const { p, l } = both(x, rows, n);
          const want = naive(x, rows, n);
          const what = `seed=${seed} rows=${rows} n=${n} scale=${scale}`;
          expectClose(p, want.p, P_TOL, `${what} softmax`);
          for (let r = 0; r < rows; r++) {
            const row = l.subarray(r * n, (r + 1) * n);
            expectClose(row, want.l.subarray(r * n, (r + 1) * n), lsTol(want.l.subarray(r * n, (r + 1) * n), want.max[r]!), `${what} log row ${r}`);
            expect(row.every(Number.isFinite), `${what} log row ${r} finite`).toBe(true);
            const sum = p.subarray(r * n, (r + 1) * n).reduce((a, b) => a + b, 0);
            expect(Math.abs(sum - 1), `${what} row ${r} sum ${sum}`).toBeLessThanOrEqual(SUM_TOL(n));
            // log(p_i) where p_i is a normal f32: log of an f32 is off by 2^-24 absolute, l_i by 2^-24 |l_i|
            for (let i = 0; i < n; i++) {
              const pi = p[r * n + i]!;
              if (pi < 1e-30) continue;
              const li = row[i]!;
              expect(Math.abs(Math.log(pi) - li), `${what} row ${r} [${i}] log(p)=${Math.log(pi)} l=${li}`).toBeLessThanOrEqual(F32_REL * (1 + Math.abs(li)));
            }
          }
        }
      }
    }
  });

  it('works in place (out aliases x) and is batch-invariant', () => {
    const seed = 0x50f8;
    const rng = new Rng(seed);
    const n = 31;
    const x = randomF32(rng, 5 * n, 8);
    const { p, l } = both(x, 5, n);
    for (let r = 0; r < 5; r++) {
      const alone = both(x.subarray(r * n, (r + 1) * n), 1, n);
      expectSame(p.subarray(r * n, (r + 1) * n), alone.p, `seed=${seed} row ${r} softmax`);
      expectSame(l.subarray(r * n, (r + 1) * n), alone.l, `seed=${seed} row ${r} log-softmax`);
    }
    const y = x.slice();
    logSoftmaxRef(y, y, 5, n);
    expectSame(y, l, `seed=${seed} log-softmax in place`);
    const z = x.slice();
    softmaxRef(z, z, 5, n);
    expectSame(z, p, `seed=${seed} softmax in place`);
  });
});
