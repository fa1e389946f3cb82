import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { embeddingRef } from '../../kernels/embedding.ref.js';
import { SENTINEL, SIZES, expectSame, randomF32 } from './check.js';

// A row copy does no arithmetic, so every comparison here is exact (no tolerance).

describe('embedding twin', () => {
  it('copies the hand-picked rows', () => {
    // table [3 tokens, dim 2]: token t = [10(t+1), 10(t+1) + 1]
    const table = new Float32Array([10, 11, 20, 21, 30, 31]);
    const out = new Float32Array(7).fill(SENTINEL);
    embeddingRef(out, table, new Int32Array([2, 0, 2]), 3, 2);
    // ids [2, 0, 2] -> rows [30, 31], [10, 11], [30, 31]; the 7th element is past rows * dim
    expectSame(out, [30, 31, 10, 11, 30, 31, SENTINEL], 'embedding hand case');
  });

  it('matches a naive gather on random tables at awkward sizes', () => {
    const seed = 0xe3b0;
    const rng = new Rng(seed);
    for (const vocab of SIZES) {
      for (const dim of SIZES) {
        for (const rows of [1, 3, 7]) {
          const table = randomF32(rng, vocab * dim, 4);
          const ids = new Int32Array(rows).map(() => rng.int(vocab));
          const out = new Float32Array(rows * dim);
          embeddingRef(out, table, ids, rows, dim);
          const want = new Float64Array(rows * dim);
          for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) want[r * dim + j] = table[ids[r]! * dim + j]!;
          expectSame(out, want, `seed=${seed} vocab=${vocab} dim=${dim} rows=${rows}`);
        }
      }
    }
  });

  it('throws on an id outside the vocabulary', () => {
    const table = new Float32Array(3 * 2);
    const out = new Float32Array(2);
    expect(() => embeddingRef(out, table, new Int32Array([3]), 1, 2)).toThrow(RangeError);
    expect(() => embeddingRef(out, table, new Int32Array([-1]), 1, 2)).toThrow(RangeError);
    expect(() => embeddingRef(out, table, new Int32Array([2]), 1, 2)).not.toThrow();
  });
});
