/**
 * attention on WebGPU against its twin, every version: awkward head sizes and GQA groups, rows of
 * several slots and positions in one call, real model shapes, causality (NaN beyond a row's
 * position must not matter) and batch invariance (a row of a batch is bitwise the row alone).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { openGpu } from '../../engine/device.js';
import { Gpu } from '../../engine/gpu.js';
import { attentionRef } from '../../kernels/attention.ref.js';
import { ATTENTION_VERSIONS, SCRATCH_CAP, attentionGpu, type AttentionVersion } from '../../kernels/attention.js';
import { expectClose, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// The twin accumulates scores, softmax and the weighted V sum in f64; the GPU does it in f32 with
// an exp that differs from the host's by a few ulps, over up to ~300 positions and 128-long dot
// products. The output is a convex combination of V rows, so its error scales with max |V| (not
// |out|, which can cancel to near zero): 1e-5 * max |V| (~170 f32 ulps of max |V|). The largest
// error seen on lavapipe is 3e-7 * max |V|; the margin is for GPUs whose exp uses WGSL's full
// allowance (3 + 2|x| ulps: ~1.4e-6 relative at |x| = 10, the spread of the scores here).
const attTol = (vCache: Float32Array) => {
  let m = 0;
  for (const v of vCache) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return () => 1e-5 * m;
};

interface Case {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  maxSeq: number;
  slot: number[];
  pos: number[];
}

interface Inputs {
  q: Float32Array;
  kCache: Float32Array;
  vCache: Float32Array;
}

/**
 * Random q and caches; every cache cell that no row may read (beyond the largest position of its
 * slot, and unused slots) is NaN, so a kernel reading past a row's causal horizon fails loudly.
 */
function inputs(rng: Rng, c: Case): Inputs {
  const kvDim = c.nKvHeads * c.headDim;
  const slots = Math.max(...c.slot) + 2;
  const q = randomF32(rng, c.pos.length * c.nHeads * c.headDim, 2);
  const kCache = randomF32(rng, slots * c.maxSeq * kvDim, 1.5);
  const vCache = randomF32(rng, slots * c.maxSeq * kvDim, 2);
  const last = new Array<number>(slots).fill(-1);
  c.slot.forEach((s, r) => (last[s] = Math.max(last[s]!, c.pos[r]!)));
  for (let s = 0; s < slots; s++) {
    kCache.fill(NaN, (s * c.maxSeq + last[s]! + 1) * kvDim, (s + 1) * c.maxSeq * kvDim);
    vCache.fill(NaN, (s * c.maxSeq + last[s]! + 1) * kvDim, (s + 1) * c.maxSeq * kvDim);
  }
  return { q, kCache, vCache };
}

async function runGpu(g: Gpu, c: Case, x: Inputs, version: AttentionVersion): Promise<Float32Array> {
  const rows = c.pos.length;
  const out = g.buffer(rows * c.nHeads * c.headDim * 4);
  const [Q, K, V] = [upload(g, x.q), upload(g, x.kCache), upload(g, x.vCache)];
  const [S, P] = [upload(g, Int32Array.from(c.slot)), upload(g, Int32Array.from(c.pos))];
  attentionGpu(g, out, Q, K, V, S, P, rows, c.nHeads, c.nKvHeads, c.headDim, c.maxSeq, version);
  const got = await downloadF32(g, out, rows * c.nHeads * c.headDim);
  for (const b of [out, Q, K, V, S, P]) b.buffer.destroy();
  return got;
}

function runRef(c: Case, x: Inputs): Float32Array {
  const rows = c.pos.length;
  const out = new Float32Array(rows * c.nHeads * c.headDim);
  attentionRef(out, x.q, x.kCache, x.vCache, Int32Array.from(c.slot), Int32Array.from(c.pos), rows, c.nHeads, c.nKvHeads, c.headDim, c.maxSeq);
  return out;
}

const describeCase = (c: Case) => `heads ${c.nHeads}/${c.nKvHeads} headDim ${c.headDim} maxSeq ${c.maxSeq} slot [${c.slot}] pos [${c.pos}]`;

async function expectMatchesTwin(g: Gpu, c: Case, seed: number, version: AttentionVersion): Promise<void> {
  const x = inputs(new Rng(seed), c);
  expectClose(await runGpu(g, c, x, version), runRef(c, x), attTol(x.vCache), `attention ${version} seed=${seed} ${describeCase(c)}`);
}

/** `rows` rows of random slots (0..2) and positions below maxSeq; row 0 is the longest possible. */
function randomRows(rng: Rng, rows: number, maxSeq: number): { slot: number[]; pos: number[] } {
  const slot = Array.from({ length: rows }, () => rng.int(3));
  const pos = Array.from({ length: rows }, (_, r) => (r === 0 ? maxSeq - 1 : rng.int(maxSeq)));
  return { slot, pos };
}

const HEADS = [[1, 1], [4, 2], [6, 2], [4, 1], [8, 4]] as const;

const g = await openTestGpu('attention on WebGPU');
describe.skipIf(!g)('attention (WebGPU) vs twin', () => {
  for (const version of ATTENTION_VERSIONS) {
    describe(version, () => {
      HEADS.forEach(([nHeads, nKvHeads], hi) => {
        it(`heads ${nHeads}/${nKvHeads}, headDim 2, 8, 14, 64, 128, rows 1, 3, 7 of several slots`, async () => {
          for (const [di, headDim] of [2, 8, 14, 64, 128].entries()) {
            const seed = 9000 + hi * 10 + di;
            const rng = new Rng(seed);
            const rows = [1, 3, 7][(hi + di) % 3]!;
            const maxSeq = [299, 67, 130, 1, 300][(hi + di) % 5]!;
            await expectMatchesTwin(g!, { nHeads, nKvHeads, headDim, maxSeq, ...randomRows(rng, rows, maxSeq) }, seed, version);
          }
        });
      });

      it('prefill of one sequence plus decode rows of two others (stories260k: 8/4 heads x 8)', async () => {
        const seed = 9100;
        const pos = [...Array.from({ length: 70 }, (_, t) => t), 150, 299];
        const slot = [...Array.from({ length: 70 }, () => 1), 0, 2];
        await expectMatchesTwin(g!, { nHeads: 8, nKvHeads: 4, headDim: 8, maxSeq: 300, slot, pos }, seed, version);
      });

      it('Llama-like shape: 32/8 heads x 128, one row at length 200', async () => {
        await expectMatchesTwin(g!, { nHeads: 32, nKvHeads: 8, headDim: 128, maxSeq: 256, slot: [0], pos: [199] }, 9200, version);
      });

      it('a GQA group wider than one v2 workgroup (24/2 heads) and MHA (5/5), odd headDim', async () => {
        await expectMatchesTwin(g!, { nHeads: 24, nKvHeads: 2, headDim: 10, maxSeq: 131, slot: [0, 1], pos: [130, 64] }, 9300, version);
        await expectMatchesTwin(g!, { nHeads: 5, nKvHeads: 5, headDim: 13, maxSeq: 131, slot: [1, 0], pos: [0, 129] }, 9301, version);
      });

      it('a batch whose v2 partials exceed the scratch cap (SCRATCH_CAP) runs in row blocks', async () => {
        // maxSeq 32768 -> 512 chunks of 64 -> 8 heads * 512 * (256 + 2) * 4 = 4.2 MB per row: 15 rows per 64 MiB block
        const seed = 9500;
        expect(17 * 8 * 512 * 258 * 4, 'this batch no longer exceeds SCRATCH_CAP: enlarge it').toBeGreaterThan(SCRATCH_CAP);
        const rng = new Rng(seed);
        const pos = Array.from({ length: 17 }, () => rng.int(150));
        await expectMatchesTwin(g!, { nHeads: 8, nKvHeads: 1, headDim: 256, maxSeq: 32768, slot: pos.map(() => 0), pos }, seed, version);
      });

      it('is causal and batch-invariant: each row of a batch is bitwise that row alone with NaN past its position', async () => {
        const seed = 9400;
        const rng = new Rng(seed);
        const c: Case = { nHeads: 6, nKvHeads: 2, headDim: 14, maxSeq: 200, slot: [0, 0, 0, 1, 2, 0, 1], pos: [0, 63, 64, 199, 5, 130, 128] };
        const x = inputs(rng, c);
        const batch = await runGpu(g!, c, x, version);
        const w = c.nHeads * c.headDim;
        const kvDim = c.nKvHeads * c.headDim;
        for (let r = 0; r < c.pos.length; r++) {
          const s = c.slot[r]!;
          const kCache = x.kCache.slice();
          const vCache = x.vCache.slice();
          kCache.fill(NaN, (s * c.maxSeq + c.pos[r]! + 1) * kvDim, (s + 1) * c.maxSeq * kvDim);
          vCache.fill(NaN, (s * c.maxSeq + c.pos[r]! + 1) * kvDim, (s + 1) * c.maxSeq * kvDim);
          const alone = { ...c, slot: [s], pos: [c.pos[r]!] };
          const got = await runGpu(g!, alone, { q: x.q.slice(r * w, (r + 1) * w), kCache, vCache }, version);
          expectSame(got, batch.subarray(r * w, (r + 1) * w), `attention ${version} seed=${seed} row ${r} (slot ${s}, pos ${c.pos[r]}) alone vs in a batch of ${c.pos.length}`);
        }
      });
    });
  }

  it('v2-splitk: growing the scratch between two recorded calls keeps the first call correct', async () => {
    // a fresh device has no scratch yet: the second call needs a larger one while the first is
    // still recorded and unsubmitted
    const h = await openGpu({ allowSoftware: true });
    const g2 = new Gpu(h!);
    try {
      const seed = 9600;
      const rng = new Rng(seed);
      const cases: Case[] = [
        { nHeads: 4, nKvHeads: 2, headDim: 8, maxSeq: 70, slot: [0], pos: [69] },
        { nHeads: 4, nKvHeads: 2, headDim: 64, maxSeq: 300, slot: [0, 1, 2], pos: [299, 7, 100] },
      ];
      // upload everything first: a write submits what is recorded, which would hide the growth
      const outs = cases.map((c) => {
        const x = inputs(rng, c);
        const out = g2.buffer(c.pos.length * c.nHeads * c.headDim * 4);
        const bufs = [out, upload(g2, x.q), upload(g2, x.kCache), upload(g2, x.vCache), upload(g2, Int32Array.from(c.slot)), upload(g2, Int32Array.from(c.pos))] as const;
        return { c, x, out, bufs };
      });
      for (const { c, bufs } of outs) attentionGpu(g2, ...bufs, c.pos.length, c.nHeads, c.nKvHeads, c.headDim, c.maxSeq, 'v2-splitk');
      for (const [i, { c, x, out }] of outs.entries()) {
        const got = await downloadF32(g2, out, c.pos.length * c.nHeads * c.headDim);
        expectClose(got, runRef(c, x), attTol(x.vCache), `attention v2-splitk seed=${seed} call ${i} ${describeCase(c)}`);
      }
    } finally {
      g2.destroy();
    }
  });
});
