import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { gatherRowsRef } from '../../kernels/backend.js';
import { SENTINEL, SIZES, expectSame, randomF32 } from './check.js';

// A row copy does no arithmetic, so every comparison here is exact (no tolerance).

describe('gather-rows twin (kernels/backend.ts)', () => {
  it('gathers the hand-picked rows, repeats allowed', () => {
    // src [4 rows, dim 3]: row r = [r, r + 0.5, -r]
    const src = new Float32Array([0, 0.5, -0, 1, 1.5, -1, 2, 2.5, -2, 3, 3.5, -3]);
    const out = new Float32Array(10).fill(SENTINEL);
    gatherRowsRef(out, src, new Int32Array([3, 1, 3]), 3, 3);
    // idx [3, 1, 3] -> [3, 3.5, -3], [1, 1.5, -1], [3, 3.5, -3]; out[9] is past n * dim
    expectSame(out, [3, 3.5, -3, 1, 1.5, -1, 3, 3.5, -3, SENTINEL], 'gather-rows hand case');
  });

  it('reads only the first n indices', () => {
    const src = new Float32Array([1, 2, 3]);
    const out = new Float32Array(2).fill(SENTINEL);
    // idx[1] = 99 is out of range but beyond n = 1, so it is neither read nor checked
    gatherRowsRef(out, src, new Int32Array([2, 99]), 1, 1);
    expectSame(out, [3, SENTINEL], 'n = 1');
  });

  it('matches a naive gather on random inputs at awkward sizes', () => {
    const seed = 0x9a7e;
    const rng = new Rng(seed);
    for (const nSrc of SIZES) {
      for (const dim of SIZES) {
        for (const n of [1, 3, 7]) {
          const src = randomF32(rng, nSrc * dim, 8);
          const idx = new Int32Array(n).map(() => rng.int(nSrc));
          const out = new Float32Array(n * dim);
          gatherRowsRef(out, src, idx, n, dim);
          const want = new Float64Array(n * dim);
          for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) want[i * dim + j] = src[idx[i]! * dim + j]!;
          expectSame(out, want, `seed=${seed} nSrc=${nSrc} dim=${dim} n=${n}`);
        }
      }
    }
  });

  it('throws on an index outside the source rows', () => {
    const src = new Float32Array(4 * 2);
    const out = new Float32Array(2);
    expect(() => gatherRowsRef(out, src, new Int32Array([4]), 1, 2)).toThrow(RangeError);
    expect(() => gatherRowsRef(out, src, new Int32Array([-1]), 1, 2)).toThrow(RangeError);
    expect(() => gatherRowsRef(out, src, new Int32Array([3]), 1, 2)).not.toThrow();
  });
});
