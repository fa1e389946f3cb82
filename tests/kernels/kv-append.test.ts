import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { kvAppendRef } from '../../kernels/kv-append.ref.js';
import { expectSame, randomF32 } from './check.js';

// A cache write is a copy: every comparison here is exact (no tolerance).

describe('kv-append twin', () => {
  it('writes one row at [slot, pos] and nothing else', () => {
    // caches [slots 2, maxSeq 3, kvDim 2]; slot 1, pos 2 -> offset (1 * 3 + 2) * 2 = 10
    const kCache = new Float32Array(12);
    const vCache = new Float32Array(12);
    kvAppendRef(kCache, vCache, new Float32Array([1, 2]), new Float32Array([3, 4]), new Int32Array([1]), new Int32Array([2]), 1, 2, 3);
    expectSame(kCache, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2], 'K');
    expectSame(vCache, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4], 'V');
  });

  it('a batch of rows of different slots and positions equals a naive scatter', () => {
    const seed = 0xca5e;
    const rng = new Rng(seed);
    for (const kvDim of [1, 3, 7, 13]) {
      for (const maxSeq of [1, 7, 31]) {
        const slots = 3;
        for (const rows of [1, 3, 5]) {
          const kCache = randomF32(rng, slots * maxSeq * kvDim);
          const vCache = randomF32(rng, slots * maxSeq * kvDim);
          const k = randomF32(rng, (rows + 1) * kvDim); // one spare row beyond `rows`
          const v = randomF32(rng, (rows + 1) * kvDim);
          // distinct (slot, pos) pairs, so the expected cache does not depend on write order
          const cells = new Set<number>();
          while (cells.size < Math.min(rows, slots * maxSeq)) cells.add(rng.int(slots * maxSeq));
          const list = [...cells];
          const n = list.length;
          const slot = Int32Array.from(list, (c) => Math.floor(c / maxSeq));
          const pos = Int32Array.from(list, (c) => c % maxSeq);
          const wantK = kCache.slice();
          const wantV = vCache.slice();
          for (let r = 0; r < n; r++) {
            for (let j = 0; j < kvDim; j++) {
              wantK[(slot[r]! * maxSeq + pos[r]!) * kvDim + j] = k[r * kvDim + j]!;
              wantV[(slot[r]! * maxSeq + pos[r]!) * kvDim + j] = v[r * kvDim + j]!;
            }
          }
          kvAppendRef(kCache, vCache, k, v, slot, pos, n, kvDim, maxSeq);
          const what = `seed=${seed} kvDim=${kvDim} maxSeq=${maxSeq} rows=${n}`;
          expectSame(kCache, wantK, `${what} K`);
          expectSame(vCache, wantV, `${what} V`);
        }
      }
    }
  });

  it('throws on a slot or position outside the cache', () => {
    // caches [slots 2, maxSeq 3, kvDim 1]
    const kc = new Float32Array(6);
    const vc = new Float32Array(6);
    const one = new Float32Array(1);
    const call = (s: number, p: number) => () => kvAppendRef(kc, vc, one, one, new Int32Array([s]), new Int32Array([p]), 1, 1, 3);
    expect(call(2, 0)).toThrow(RangeError);
    expect(call(-1, 0)).toThrow(RangeError);
    expect(call(0, 3)).toThrow(RangeError);
    expect(call(0, -1)).toThrow(RangeError);
    expect(call(1, 2)).not.toThrow();
  });
});
