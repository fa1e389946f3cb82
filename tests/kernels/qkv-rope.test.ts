/** qkv-rope twin: hand-computed rotations and the [q | k | v] split, and equality with rope + kv-append applied by hand. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { kvAppendRef } from '../../kernels/kv-append.ref.js';
import { qkvRopeRef } from '../../kernels/qkv-rope.ref.js';
import { buildRopeTables, ropeRef } from '../../kernels/rope.ref.js';
import { F32_REL, expectClose, expectSame, randomF32 } from './check.js';

// Hand values are the exact rotation written with 10 significant digits (negligible); the twin
// rotates with f32 tables (2^-25 (|a| + |b|) for values of magnitude < 1) and rounds the output to
// f32 (2^-24 |out| <= 2^-24 (|a| + |b|)): within 2^-23 (|a| + |b|), a, b the input pair.
const ROT = (ab: number) => 2 * F32_REL * ab;

describe('qkv-rope twin', () => {
  it('splits one [q | k | v] row (nHeads 2, nKvHeads 1, headDim 2) and rotates q and k by 1 rad at pos 1', () => {
    const [nHeads, nKvHeads, headDim, maxSeq] = [2, 1, 2, 3];
    const { cos, sin } = buildRopeTables(headDim, 10000, null, 2); // f_0 = 1: position 1 is 1 rad
    // row = [q head 0 | q head 1 | k | v]
    const qkv = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const q = new Float32Array(4);
    const kCache = new Float32Array(2 * maxSeq * 2); // slots 2, maxSeq 3, kvDim 2
    const vCache = new Float32Array(2 * maxSeq * 2);
    qkvRopeRef(q, kCache, vCache, qkv, Int32Array.of(1), Int32Array.of(1), cos, sin, 1, nHeads, nKvHeads, headDim, maxSeq);
    // (a, b) -> (a cos 1 - b sin 1, b cos 1 + a sin 1)
    expectClose(q, [-1.142639664, 1.922075597, -1.744977022, 4.685622178], (i) => ROT(i < 2 ? 3 : 7), 'q: (1, 2) and (3, 4) rotated');
    // slot 1, pos 1 -> offset (1 * 3 + 1) * 2 = 8
    expectClose(kCache, [0, 0, 0, 0, 0, 0, 0, 0, -2.34731438, 7.449168759, 0, 0], () => ROT(11), 'K: (5, 6) rotated at [1, 1]');
    expectSame(vCache, [0, 0, 0, 0, 0, 0, 0, 0, 7, 8, 0, 0], 'V: (7, 8) copied to [1, 1]');
  });

  it('position 0 is the identity on q and k (exactly)', () => {
    const { cos, sin } = buildRopeTables(4, 10000, null, 1);
    const qkv = new Float32Array([1.5, -2, 3, 0.25, 9, 8, 7, 6, -1, -2, -3, -4]); // nHeads 1, nKvHeads 1, headDim 4
    const q = new Float32Array(4);
    const kCache = new Float32Array(4);
    const vCache = new Float32Array(4);
    qkvRopeRef(q, kCache, vCache, qkv, Int32Array.of(0), Int32Array.of(0), cos, sin, 1, 1, 1, 4, 1);
    expectSame(q, qkv.subarray(0, 4), 'q');
    expectSame(kCache, qkv.subarray(4, 8), 'K');
    expectSame(vCache, qkv.subarray(8, 12), 'V');
  });

  it('equals rope on q and k and kv-append applied by hand, for mixed slots and positions', () => {
    const seed = 0x9c7;
    const rng = new Rng(seed);
    const slots = 3;
    for (const headDim of [2, 8, 14]) {
      for (const [nHeads, nKvHeads] of [[1, 1], [4, 2], [6, 2], [4, 1]] as const) {
        for (const rows of [1, 3, 7]) {
          const maxSeq = 11;
          const { cos, sin } = buildRopeTables(headDim, 10000, null, maxSeq);
          const qDim = nHeads * headDim;
          const kvDim = nKvHeads * headDim;
          const stride = qDim + 2 * kvDim;
          const qkv = randomF32(rng, rows * stride, 3);
          // distinct (slot, pos) cells, so the expected cache does not depend on write order
          const cells = new Set<number>();
          while (cells.size < rows) cells.add(rng.int(slots * maxSeq));
          const slot = Int32Array.from(cells, (c) => Math.floor(c / maxSeq));
          const pos = Int32Array.from(cells, (c) => c % maxSeq);
          const kCache = randomF32(rng, slots * maxSeq * kvDim);
          const vCache = randomF32(rng, slots * maxSeq * kvDim);
          // by hand: split the rows, rotate q and k, append k and v
          const wantQ = new Float32Array(rows * qDim);
          const k = new Float32Array(rows * kvDim);
          const v = new Float32Array(rows * kvDim);
          for (let r = 0; r < rows; r++) {
            for (let j = 0; j < qDim; j++) wantQ[r * qDim + j] = qkv[r * stride + j]!;
            for (let j = 0; j < kvDim; j++) k[r * kvDim + j] = qkv[r * stride + qDim + j]!;
            for (let j = 0; j < kvDim; j++) v[r * kvDim + j] = qkv[r * stride + qDim + kvDim + j]!;
          }
          ropeRef(wantQ, pos, cos, sin, rows, nHeads, headDim);
          ropeRef(k, pos, cos, sin, rows, nKvHeads, headDim);
          const wantK = kCache.slice();
          const wantV = vCache.slice();
          kvAppendRef(wantK, wantV, k, v, slot, pos, rows, kvDim, maxSeq);
          const q = new Float32Array(rows * qDim);
          qkvRopeRef(q, kCache, vCache, qkv, pos, slot, cos, sin, rows, nHeads, nKvHeads, headDim, maxSeq);
          const what = `seed=${seed} headDim=${headDim} nHeads=${nHeads} nKv=${nKvHeads} rows=${rows}`;
          expectSame(q, wantQ, `${what} q`);
          expectSame(kCache, wantK, `${what} K`);
          expectSame(vCache, wantV, `${what} V`);
        }
      }
    }
  });

  it('gives the same result with a reused scratch', () => {
    const rng = new Rng(31);
    const [rows, nHeads, nKvHeads, headDim, maxSeq] = [3, 4, 2, 8, 5];
    const { cos, sin } = buildRopeTables(headDim, 10000, null, maxSeq);
    const qkv = randomF32(rng, rows * (nHeads + 2 * nKvHeads) * headDim);
    const [pos, slot] = [Int32Array.of(4, 0, 2), Int32Array.of(0, 1, 1)];
    const run = (scratch?: { k: Float32Array; v: Float32Array }) => {
      const out = { q: new Float32Array(rows * nHeads * headDim), k: new Float32Array(2 * maxSeq * nKvHeads * headDim), v: new Float32Array(2 * maxSeq * nKvHeads * headDim) };
      qkvRopeRef(out.q, out.k, out.v, qkv, pos, slot, cos, sin, rows, nHeads, nKvHeads, headDim, maxSeq, scratch);
      return out;
    };
    const a = run();
    const scratch = { k: new Float32Array(64).fill(99), v: new Float32Array(64).fill(-99) };
    run(scratch);
    const b = run(scratch);
    expectSame(b.q, a.q, 'q');
    expectSame(b.k, a.k, 'K');
    expectSame(b.v, a.v, 'V');
  });

  it('throws on a slot or position outside the cache or the table', () => {
    const { cos, sin } = buildRopeTables(2, 10000, null, 4);
    const qkv = new Float32Array(6); // nHeads 1, nKvHeads 1, headDim 2
    const call = (s: number, p: number, maxSeq = 3) => () =>
      qkvRopeRef(new Float32Array(2), new Float32Array(2 * maxSeq * 2), new Float32Array(2 * maxSeq * 2), qkv, Int32Array.of(p), Int32Array.of(s), cos, sin, 1, 1, 1, 2, maxSeq);
    expect(call(2, 0)).toThrow(RangeError); // slots 2
    expect(call(-1, 0)).toThrow(RangeError);
    expect(call(0, 3)).toThrow(RangeError); // maxSeq 3
    expect(call(0, -1)).toThrow(RangeError);
    expect(call(0, 4, 5)).toThrow(RangeError); // table of 4 positions, cache of 5
    expect(call(1, 2)).not.toThrow();
  });
});
