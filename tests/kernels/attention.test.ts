import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { attentionRef, attentionScratch } from '../../kernels/attention.ref.js';
import { kvAppendRef } from '../../kernels/kv-append.ref.js';
import { DECIMAL, F32_REL, expectClose, expectSame, randomF32 } from './check.js';

// Scores, softmax and the weighted sum of V accumulate in f64; the output is a convex combination
// of V rows rounded once to f32. Its error is about 2^-24 of max |V| (not of |out|, which can
// cancel to near zero), so the bound is F32_REL * max |V| over the cache.
const attTol = (vCache: Float32Array) => {
  const m = vCache.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  return () => F32_REL * m;
};

interface Shape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  maxSeq: number;
}

/** Naive f64 causal GQA attention: head h reads KV head floor(h / (nHeads / nKvHeads)). */
function naiveAttention(q: Float32Array, kc: Float32Array, vc: Float32Array, slot: Int32Array, pos: Int32Array, rows: number, s: Shape): Float64Array {
  const { nHeads, nKvHeads, headDim: d, maxSeq } = s;
  const kvDim = nKvHeads * d;
  const out = new Float64Array(rows * nHeads * d);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor((h * nKvHeads) / nHeads);
      const at = (t: number, i: number) => (slot[r]! * maxSeq + t) * kvDim + g * d + i;
      const scores: number[] = [];
      for (let t = 0; t <= pos[r]!; t++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += q[(r * nHeads + h) * d + i]! * kc[at(t, i)]!;
        scores.push(dot / Math.sqrt(d));
      }
      const m = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < d; i++) {
        let acc = 0;
        for (let t = 0; t < e.length; t++) acc += e[t]! * vc[at(t, i)]!;
        out[(r * nHeads + h) * d + i] = acc / z;
      }
    }
  }
  return out;
}

function run(q: Float32Array, kc: Float32Array, vc: Float32Array, slot: number[], pos: number[], s: Shape): Float32Array {
  const rows = slot.length;
  const out = new Float32Array(rows * s.nHeads * s.headDim);
  attentionRef(out, q, kc, vc, Int32Array.from(slot), Int32Array.from(pos), rows, s.nHeads, s.nKvHeads, s.headDim, s.maxSeq);
  return out;
}

describe('attention twin (with kv-append filling the cache)', () => {
  it('a single position returns its V row exactly', () => {
    // one score, softmax = exp(0) / exp(0) = 1, out = 1 * V / 1 = V
    const s: Shape = { nHeads: 1, nKvHeads: 1, headDim: 3, maxSeq: 4 };
    const kc = new Float32Array(4 * 3);
    const vc = new Float32Array(4 * 3);
    kvAppendRef(kc, vc, new Float32Array([0.3, -2, 5]), new Float32Array([7, -0.25, 1e-3]), new Int32Array([0]), new Int32Array([0]), 1, 3, 4);
    const out = run(new Float32Array([1, 2, 3]), kc, vc, [0], [0], s);
    expectSame(out, vc.subarray(0, 3), 'pos 0');
  });

  it('two positions, hand-computed', () => {
    // headDim 2, q = [1, 1]; K0 = [0, 0], K1 = [1, 1]; V0 = [1, 0], V1 = [0, 10]
    // s0 = 0 / sqrt 2 = 0, s1 = (1 + 1) / sqrt 2 = sqrt 2 = 1.4142136
    // weights = [1, e^1.4142136] / (1 + 4.1132504) = [0.19557032, 0.80442968]
    // out = 0.19557032 * [1, 0] + 0.80442968 * [0, 10] = [0.19557032, 8.0442968]
    const s: Shape = { nHeads: 1, nKvHeads: 1, headDim: 2, maxSeq: 2 };
    const kc = new Float32Array([0, 0, 1, 1]);
    const vc = new Float32Array([1, 0, 0, 10]);
    expectClose(run(new Float32Array([1, 1]), kc, vc, [0], [1], s), [0.19557032, 8.0442968], DECIMAL, 'two positions');
  });

  it('GQA: heads 0,1 read KV head 0 and heads 2,3 read KV head 1; multi-query shares one head', () => {
    // one position, so each head's output is exactly the V row of the KV head it reads
    const headDim = 2;
    const v = new Float32Array([10, 11, 20, 21]); // KV head 0 = [10, 11], KV head 1 = [20, 21]
    const k = new Float32Array([1, 2, 3, 4]);
    const q = new Float32Array([1, 0, 0, 1, -1, 0, 0, -1]);
    const gqa: Shape = { nHeads: 4, nKvHeads: 2, headDim, maxSeq: 1 };
    expectSame(run(q, k, v, [0], [0], gqa), [10, 11, 10, 11, 20, 21, 20, 21], 'nHeads 4, nKvHeads 2');
    const mq: Shape = { nHeads: 4, nKvHeads: 1, headDim, maxSeq: 1 };
    expectSame(run(q, k.subarray(0, 2), v.subarray(0, 2), [0], [0], mq), [10, 11, 10, 11, 10, 11, 10, 11], 'nKvHeads 1');
  });

  it('is causal: a row at position p ignores cache entries beyond p, even garbage', () => {
    const seed = 0xca05;
    const rng = new Rng(seed);
    const s: Shape = { nHeads: 2, nKvHeads: 1, headDim: 7, maxSeq: 13 };
    const kvDim = 7;
    const kc = randomF32(rng, 13 * kvDim);
    const vc = randomF32(rng, 13 * kvDim);
    const q = randomF32(rng, 2 * 7);
    for (const p of [0, 4, 11]) {
      const clean = run(q, kc, vc, [0], [p], s);
      const kd = kc.slice();
      const vd = vc.slice();
      kd.fill(NaN, (p + 1) * kvDim);
      vd.fill(1e30, (p + 1) * kvDim);
      kd[(p + 1) * kvDim] = Infinity;
      expectSame(run(q, kd, vd, [0], [p], s), clean, `seed=${seed} p=${p}`);
      expect(clean.every(Number.isFinite)).toBe(true);
    }
  });

  it('two slots do not mix', () => {
    const seed = 0x5107;
    const rng = new Rng(seed);
    const s: Shape = { nHeads: 3, nKvHeads: 3, headDim: 3, maxSeq: 7 };
    const cell = 7 * 9; // one slot's cache
    const kc = randomF32(rng, 2 * cell);
    const vc = randomF32(rng, 2 * cell);
    const q = randomF32(rng, 9);
    for (const slot of [0, 1]) {
      const other = 1 - slot;
      const kd = kc.slice();
      const vd = vc.slice();
      kd.fill(NaN, other * cell, (other + 1) * cell);
      vd.fill(NaN, other * cell, (other + 1) * cell);
      const want = naiveAttention(q, kc, vc, Int32Array.of(slot), Int32Array.of(6), 1, s);
      const got = run(q, kd, vd, [slot], [6], s);
      expectClose(got, want, attTol(vc), `seed=${seed} slot ${slot} with the other slot NaN`);
    }
  });

  it('rows of different slots and positions in one call equal each row computed alone, bit for bit', () => {
    const seed = 0xb0a7;
    const rng = new Rng(seed);
    const s: Shape = { nHeads: 4, nKvHeads: 2, headDim: 13, maxSeq: 31 };
    const kvDim = 2 * 13;
    const kc = randomF32(rng, 3 * 31 * kvDim);
    const vc = randomF32(rng, 3 * 31 * kvDim);
    const slot = [2, 0, 0, 1, 2];
    const pos = [30, 0, 17, 5, 6];
    const q = randomF32(rng, 5 * 4 * 13);
    const all = run(q, kc, vc, slot, pos, s);
    const width = 4 * 13;
    for (let r = 0; r < 5; r++) {
      const alone = run(q.subarray(r * width, (r + 1) * width), kc, vc, [slot[r]!], [pos[r]!], s);
      expectSame(all.subarray(r * width, (r + 1) * width), alone, `seed=${seed} row ${r} (slot ${slot[r]}, pos ${pos[r]})`);
    }
  });

  it('large scores do not overflow', () => {
    // q . k / sqrt(d) up to 100 * 100 * 7 / sqrt 7 = 26458: exp would overflow without the max
    const seed = 0xb16;
    const rng = new Rng(seed);
    const s: Shape = { nHeads: 1, nKvHeads: 1, headDim: 7, maxSeq: 3 };
    const q = new Float32Array(7).fill(100);
    const kc = new Float32Array(3 * 7);
    kc.fill(100, 0, 7); // position 0: score 26458
    kc.fill(-100, 7, 14); // position 1: score -26458
    kc.fill(99.99, 14, 21); // position 2: score 26455, 2.6 below the max
    const vc = randomF32(rng, 3 * 7, 5);
    const got = run(q, kc, vc, [0], [2], s);
    expect(got.every(Number.isFinite), `seed=${seed} finite`).toBe(true);
    expectClose(got, naiveAttention(q, kc, vc, Int32Array.of(0), Int32Array.of(2), 1, s), attTol(vc), `seed=${seed} large scores`);
  });

  it('matches a naive f64 attention on random caches, GQA layouts and awkward sizes', () => {
    const seed = 0xa77e;
    const rng = new Rng(seed);
    const layouts: [number, number][] = [[1, 1], [3, 3], [4, 2], [6, 3], [7, 1]];
    for (const [nHeads, nKvHeads] of layouts) {
      for (const headDim of [1, 3, 7, 13]) {
        for (const maxSeq of [1, 7, 31]) {
          const s: Shape = { nHeads, nKvHeads, headDim, maxSeq };
          const slots = 2;
          const kvDim = nKvHeads * headDim;
          const kc = new Float32Array(slots * maxSeq * kvDim);
          const vc = new Float32Array(slots * maxSeq * kvDim);
          // fill every slot through kv-append, one prefill call per slot
          for (let sl = 0; sl < slots; sl++) {
            const positions = Int32Array.from({ length: maxSeq }, (_, t) => t);
            kvAppendRef(kc, vc, randomF32(rng, maxSeq * kvDim, 2), randomF32(rng, maxSeq * kvDim, 3), new Int32Array(maxSeq).fill(sl), positions, maxSeq, kvDim, maxSeq);
          }
          const rows = 3;
          const slot = Int32Array.from({ length: rows }, () => rng.int(slots));
          const pos = Int32Array.from({ length: rows }, () => rng.int(maxSeq));
          const q = randomF32(rng, rows * nHeads * headDim, 2);
          const out = new Float32Array(rows * nHeads * headDim);
          attentionRef(out, q, kc, vc, slot, pos, rows, nHeads, nKvHeads, headDim, maxSeq, attentionScratch(maxSeq, headDim));
          const what = `seed=${seed} nHeads=${nHeads} nKvHeads=${nKvHeads} headDim=${headDim} maxSeq=${maxSeq} slot=${slot.join(',')} pos=${pos.join(',')}`;
          expectClose(out, naiveAttention(q, kc, vc, slot, pos, rows, s), attTol(vc), what);
        }
      }
    }
  });
});
