import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { argmaxRef } from '../../kernels/argmax.ref.js';
import { ROWS, SIZES, expectSame } from './check.js';

// argmax is a comparison, not arithmetic: every comparison here is exact.

function argmax(row: number[]): number[] {
  const out = new Int32Array(1);
  argmaxRef(out, Float32Array.from(row), 1, row.length);
  return Array.from(out);
}

/** Naive: the first index i with x_i >= every non-NaN x_j; 0 when none (all NaN). */
function naiveArgmax(row: ArrayLike<number>): number {
  const vals = Array.from(row).filter((v) => !Number.isNaN(v));
  if (vals.length === 0) return 0;
  const m = Math.max(...vals);
  return Array.from(row).indexOf(m);
}

describe('argmax twin', () => {
  it('hand-picked rows', () => {
    expect(argmax([1, 3, 2])).toEqual([1]);
    expect(argmax([7])).toEqual([0]); // n = 1
    expect(argmax([-5, -2, -9])).toEqual([1]);
    expect(argmax([0, Infinity, 1e30])).toEqual([1]);
  });

  it('ties go to the first index', () => {
    expect(argmax([5, 5, 1])).toEqual([0]);
    expect(argmax([1, 5, 5])).toEqual([1]);
    expect(argmax([2, 2, 2, 2, 2])).toEqual([0]);
    expect(argmax([-0, 0])).toEqual([0]); // -0 === 0: a tie
  });

  it('NaN never wins', () => {
    expect(argmax([NaN, 1, 2])).toEqual([2]);
    expect(argmax([1, NaN, 0])).toEqual([0]);
    expect(argmax([NaN, -Infinity, -3])).toEqual([2]);
    expect(argmax([-1, NaN])).toEqual([0]);
    // the only non-NaN value is -Infinity: it is the largest value, so it wins over the NaN before it
    expect(argmax([NaN, -Infinity])).toEqual([1]);
    expect(argmax([NaN, NaN, -Infinity, -Infinity])).toEqual([2]);
  });

  it('all -Infinity (and all NaN) give 0', () => {
    expect(argmax([-Infinity, -Infinity, -Infinity])).toEqual([0]);
    expect(argmax([NaN, NaN])).toEqual([0]);
    expect(argmax([-Infinity, -Infinity, -5])).toEqual([2]);
  });

  it('matches a naive argmax on random rows with many ties, at awkward sizes', () => {
    const seed = 0xa59a;
    const rng = new Rng(seed);
    for (const rows of ROWS) {
      for (const n of [...SIZES, 1000]) {
        // values from a small set, so ties (and NaN / -inf) are common
        const pool = [-Infinity, NaN, -1, 0, 0.5, 2, 3];
        const x = Float32Array.from({ length: rows * n }, () => pool[rng.int(pool.length)]!);
        const out = new Int32Array(rows + 1).fill(-7);
        argmaxRef(out, x, rows, n);
        const want = Array.from({ length: rows }, (_, r) => naiveArgmax(x.subarray(r * n, (r + 1) * n)));
        expectSame(out, [...want, -7], `seed=${seed} rows=${rows} n=${n}`);
      }
    }
  });
});
