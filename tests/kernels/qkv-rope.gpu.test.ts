/**
 * qkv-rope on WebGPU: against its twin on awkward sizes (mixed slots and positions in one call),
 * bitwise against the unfused rope + kv-append GPU kernels, batch invariance, skipped rows.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import type { GBuf, Gpu } from '../../engine/gpu.js';
import { kvAppendGpu } from '../../kernels/kv-append.js';
import { qkvRopeRef } from '../../kernels/qkv-rope.ref.js';
import { QKV_ROPE_VERSIONS, qkvRopeGpu } from '../../kernels/qkv-rope.js';
import { buildRopeTables } from '../../kernels/rope.ref.js';
import { ropeGpu } from '../../kernels/rope.js';
import { SENTINEL, expectClose, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// As for rope: the twin rotates in f64 and rounds once; the GPU rounds a*c and b*s (or fuses one
// into an FMA) and then the sum: within about 2^-23 (|a| + |b|) of the twin, a, b the input pair.
// 2^-22 leaves a factor of 2. v is a copy: exact.
const PAIR_REL = 2 ** -22;
const SLOTS = 3;
const MAX_SEQ = 97;
const LLAMA3 = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 };

interface Case {
  rows: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  maxSeq: number;
  qkv: Float32Array;
  pos: Int32Array;
  slot: Int32Array;
  kCache: Float32Array;
  vCache: Float32Array;
  cos: Float32Array;
  sin: Float32Array;
}

/** Random inputs; rows get distinct (slot, pos) cells, row 0 the last position of the last slot. */
function makeCase(rng: Rng, rows: number, nHeads: number, nKvHeads: number, headDim: number, maxSeq = MAX_SEQ): Case {
  const kvDim = nKvHeads * headDim;
  const { cos, sin } = buildRopeTables(headDim, 10000, headDim === 64 ? LLAMA3 : null, maxSeq);
  const cells = new Set<number>([SLOTS * maxSeq - 1]);
  while (cells.size < rows) cells.add(rng.int(SLOTS * maxSeq));
  return {
    rows,
    nHeads,
    nKvHeads,
    headDim,
    maxSeq,
    qkv: randomF32(rng, rows * (nHeads + 2 * nKvHeads) * headDim, 3),
    slot: Int32Array.from(cells, (c) => Math.floor(c / maxSeq)),
    pos: Int32Array.from(cells, (c) => c % maxSeq),
    kCache: randomF32(rng, SLOTS * maxSeq * kvDim),
    vCache: randomF32(rng, SLOTS * maxSeq * kvDim),
    cos,
    sin,
  };
}

interface Out {
  q: Float32Array;
  kCache: Float32Array;
  vCache: Float32Array;
}

/** The fused kernel; q gets a spare sentinel row to catch writes beyond `rows`. */
async function runFused(g: Gpu, c: Case): Promise<Out & { spare: Float32Array }> {
  const qDim = c.nHeads * c.headDim;
  const Q = upload(g, new Float32Array((c.rows + 1) * qDim).fill(SENTINEL));
  const K = upload(g, c.kCache);
  const V = upload(g, c.vCache);
  qkvRopeGpu(g, Q, K, V, upload(g, c.qkv), upload(g, c.pos), upload(g, c.slot), upload(g, c.cos), upload(g, c.sin), c.rows, c.nHeads, c.nKvHeads, c.headDim, c.maxSeq);
  const q = await downloadF32(g, Q, (c.rows + 1) * qDim);
  return { q: q.slice(0, c.rows * qDim), spare: q.slice(c.rows * qDim), kCache: await downloadF32(g, K, c.kCache.length), vCache: await downloadF32(g, V, c.vCache.length) };
}

/** The unfused path: split on the host, ropeGpu on q and on k, kvAppendGpu. */
async function runUnfused(g: Gpu, c: Case): Promise<Out> {
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const stride = qDim + 2 * kvDim;
  const [q, k, v] = [new Float32Array(c.rows * qDim), new Float32Array(c.rows * kvDim), new Float32Array(c.rows * kvDim)];
  for (let r = 0; r < c.rows; r++) {
    q.set(c.qkv.subarray(r * stride, r * stride + qDim), r * qDim);
    k.set(c.qkv.subarray(r * stride + qDim, r * stride + qDim + kvDim), r * kvDim);
    v.set(c.qkv.subarray(r * stride + qDim + kvDim, (r + 1) * stride), r * kvDim);
  }
  const [Q, Kx, Vx, KC, VC, P, S] = [upload(g, q), upload(g, k), upload(g, v), upload(g, c.kCache), upload(g, c.vCache), upload(g, c.pos), upload(g, c.slot)];
  const [C, Sn] = [upload(g, c.cos), upload(g, c.sin)];
  ropeGpu(g, Q, P, C, Sn, c.rows, c.nHeads, c.headDim);
  ropeGpu(g, Kx, P, C, Sn, c.rows, c.nKvHeads, c.headDim);
  kvAppendGpu(g, KC, VC, Kx, Vx, S, P, c.rows, kvDim, c.maxSeq);
  return { q: await downloadF32(g, Q, q.length), kCache: await downloadF32(g, KC, c.kCache.length), vCache: await downloadF32(g, VC, c.vCache.length) };
}

function runTwin(c: Case): Out {
  const out = { q: new Float32Array(c.rows * c.nHeads * c.headDim), kCache: c.kCache.slice(), vCache: c.vCache.slice() };
  qkvRopeRef(out.q, out.kCache, out.vCache, c.qkv, c.pos, c.slot, c.cos, c.sin, c.rows, c.nHeads, c.nKvHeads, c.headDim, c.maxSeq);
  return out;
}

/** Per-element tolerances PAIR_REL (|a| + |b|) for q and for the K cache (0 for cells not written). */
function tolerances(c: Case): { q: Float64Array; k: Float64Array } {
  const { rows, nHeads, nKvHeads, headDim, maxSeq } = c;
  const [half, qDim, kvDim] = [headDim / 2, nHeads * headDim, nKvHeads * headDim];
  const stride = qDim + 2 * kvDim;
  const q = new Float64Array(rows * qDim);
  const k = new Float64Array(c.kCache.length);
  const pair = (dst: Float64Array, d: number, s: number) => {
    for (let i = 0; i < half; i++) {
      const t = PAIR_REL * (Math.abs(c.qkv[s + i]!) + Math.abs(c.qkv[s + i + half]!));
      dst[d + i] = t;
      dst[d + i + half] = t;
    }
  };
  for (let r = 0; r < rows; r++) {
    const cell = (c.slot[r]! * maxSeq + c.pos[r]!) * kvDim;
    for (let h = 0; h < nHeads; h++) pair(q, r * qDim + h * headDim, r * stride + h * headDim);
    for (let h = 0; h < nKvHeads; h++) pair(k, cell + h * headDim, r * stride + qDim + h * headDim);
  }
  return { q, k };
}

async function checkVsTwin(g: Gpu, c: Case, what: string): Promise<void> {
  const got = await runFused(g, c);
  const want = runTwin(c);
  const tol = tolerances(c);
  const where = `${what} pos=${c.pos.join(',')} slot=${c.slot.join(',')}`;
  expectClose(got.q, want.q, (i) => tol.q[i]!, `${where} q`);
  expectSame(got.spare, new Float32Array(got.spare.length).fill(SENTINEL), `${where} q spare row untouched`);
  expectClose(got.kCache, want.kCache, (i) => tol.k[i]!, `${where} K cache`);
  expectSame(got.vCache, want.vCache, `${where} V cache`);
}

const g = await openTestGpu('qkv-rope on WebGPU');
describe.skipIf(!g)('qkv-rope (WebGPU)', () => {
  const HEADS = [[1, 1], [4, 2], [6, 2], [4, 1], [8, 4]] as const;
  for (const version of QKV_ROPE_VERSIONS) {
    for (const headDim of [2, 8, 14, 64, 128]) {
      HEADS.forEach(([nHeads, nKvHeads], hi) => {
        const rows = [1, 3, 7][(headDim + hi) % 3]!;
        it(`${version} vs twin: headDim=${headDim} nHeads=${nHeads} nKv=${nKvHeads} rows=${rows}`, async () => {
          const seed = 9100 + headDim * 10 + hi;
          await checkVsTwin(g!, makeCase(new Rng(seed), rows, nHeads, nKvHeads, headDim), `seed=${seed}`);
        });
      });
    }
  }

  it('vs twin: a real shape (32 heads, 8 KV heads, headDim 128, 7 rows)', async () => {
    const seed = 9999;
    await checkVsTwin(g!, makeCase(new Rng(seed), 7, 32, 8, 128, 61), `seed=${seed}`);
  });

  for (const [rows, nHeads, nKvHeads, headDim] of [[7, 4, 2, 14], [3, 6, 2, 2], [5, 8, 4, 64], [3, 32, 8, 128]] as const) {
    it(`equals ropeGpu + kvAppendGpu bitwise: rows=${rows} nHeads=${nHeads} nKv=${nKvHeads} headDim=${headDim}`, async () => {
      const seed = 9500 + rows * 100 + headDim;
      const c = makeCase(new Rng(seed), rows, nHeads, nKvHeads, headDim);
      const [fused, unfused] = [await runFused(g!, c), await runUnfused(g!, c)];
      const what = `seed=${seed} pos=${c.pos.join(',')} slot=${c.slot.join(',')}`;
      expectSame(fused.q, unfused.q, `${what} q`);
      expectSame(fused.kCache, unfused.kCache, `${what} K cache`);
      expectSame(fused.vCache, unfused.vCache, `${what} V cache`);
    });
  }

  it('batch invariance: 7 rows in one call equal each row alone, bitwise', async () => {
    const seed = 9321;
    const c = makeCase(new Rng(seed), 7, 6, 2, 14);
    const stride = (c.nHeads + 2 * c.nKvHeads) * c.headDim;
    const qDim = c.nHeads * c.headDim;
    const all = await runFused(g!, c);
    const one: Out = { q: new Float32Array(c.rows * qDim), kCache: c.kCache.slice(), vCache: c.vCache.slice() };
    for (let r = 0; r < c.rows; r++) {
      const single = { ...c, rows: 1, qkv: c.qkv.slice(r * stride, (r + 1) * stride), pos: c.pos.slice(r, r + 1), slot: c.slot.slice(r, r + 1), kCache: one.kCache, vCache: one.vCache };
      const got = await runFused(g!, single);
      one.q.set(got.q, r * qDim);
      one.kCache = got.kCache;
      one.vCache = got.vCache;
    }
    expectSame(all.q, one.q, `seed=${seed} q`);
    expectSame(all.kCache, one.kCache, `seed=${seed} K cache`);
    expectSame(all.vCache, one.vCache, `seed=${seed} V cache`);
  });

  it('skips whole rows whose slot or position is outside the cache or table (the twin would throw)', async () => {
    const seed = 9777;
    const rng = new Rng(seed);
    // headDim 8: a table of 10 positions is 40 floats, no padding; the cache holds 12 positions
    const [nHeads, nKvHeads, headDim, maxSeq, maxPos] = [2, 1, 8, 12, 10];
    const { cos, sin } = buildRopeTables(headDim, 10000, null, maxPos);
    const [qDim, kvDim] = [nHeads * headDim, nKvHeads * headDim];
    const c: Case = {
      rows: 6,
      nHeads,
      nKvHeads,
      headDim,
      maxSeq,
      qkv: randomF32(rng, 6 * (qDim + 2 * kvDim)),
      // row 0 valid; then slot -1, slot 3 (= SLOTS), pos -1, pos 12 (= maxSeq), pos 11 (in the cache, not the table)
      slot: Int32Array.of(1, -1, SLOTS, 0, 0, 2),
      pos: Int32Array.of(4, 0, 0, -1, maxSeq, 11),
      kCache: randomF32(rng, SLOTS * maxSeq * kvDim),
      vCache: randomF32(rng, SLOTS * maxSeq * kvDim),
      cos,
      sin,
    };
    const got = await runFused(g!, c);
    const want = runTwin({ ...c, rows: 1 });
    const tol = tolerances({ ...c, rows: 1 });
    expectClose(got.q.subarray(0, qDim), want.q, (i) => tol.q[i]!, `seed=${seed} q row 0`);
    expectSame(got.q.subarray(qDim), new Float32Array(5 * qDim).fill(SENTINEL), `seed=${seed} q rows 1-5 untouched`);
    expectClose(got.kCache, want.kCache, (i) => tol.k[i]!, `seed=${seed} K cache: only row 0's cell written`);
    expectSame(got.vCache, want.vCache, `seed=${seed} V cache: only row 0's cell written`);
  });

  it('rejects an odd headDim and an undersized qkv on the host', () => {
    const b: GBuf = g!.buffer(1024);
    expect(() => qkvRopeGpu(g!, b, b, b, b, b, b, b, b, 1, 1, 1, 3, 4)).toThrow(/headDim/);
    expect(() => qkvRopeGpu(g!, b, b, b, b, b, b, b, b, 100, 1, 1, 2, 4)).toThrow(/qkv holds/);
  });
});
