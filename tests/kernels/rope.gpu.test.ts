/** rope on WebGPU against its twin: awkward head sizes, mixed positions, llama3 tables, out-of-table rows. */
import { describe, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { buildRopeTables, ropeRef } from '../../kernels/rope.ref.js';
import { ROPE_VERSIONS, ropeGpu } from '../../kernels/rope.js';
import { expectClose, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// The twin rotates in f64 and rounds once; the GPU rounds a*c and b*s (or fuses one into an FMA)
// and then the difference: within about 2^-23 * (|a| + |b|) of the twin (|cos|, |sin| <= 1),
// where a, b are the input pair. 2^-22 leaves a factor of 2.
const pairTol = (x: Float32Array, headDim: number) => (i: number) => {
  const half = headDim / 2;
  const j = i % headDim;
  const o = i - j + (j % half);
  return 2 ** -22 * (Math.abs(x[o]!) + Math.abs(x[o + half]!));
};

const MAX_POS = 301;
const LLAMA3 = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 };

const g = await openTestGpu('rope on WebGPU');
describe.skipIf(!g)('rope (WebGPU) vs twin', () => {
  for (const version of ROPE_VERSIONS) {
    for (const headDim of [2, 8, 14, 64, 128]) {
      for (const nHeads of [1, 4, 6]) {
        const rows = [1, 3, 7][(headDim + nHeads) % 3]!;
        it(`${version} headDim=${headDim} nHeads=${nHeads} rows=${rows}`, async () => {
          const seed = 7000 + headDim * 10 + nHeads;
          const rng = new Rng(seed);
          const tables = buildRopeTables(headDim, 10000, headDim === 64 ? LLAMA3 : null, MAX_POS);
          const x = randomF32(rng, rows * nHeads * headDim, 3);
          const pos = Int32Array.from({ length: rows }, (_, r) => (r === 0 ? MAX_POS - 1 : rng.int(MAX_POS)));
          const want = x.slice();
          ropeRef(want, pos, tables.cos, tables.sin, rows, nHeads, headDim);
          const X = upload(g!, x);
          ropeGpu(g!, X, upload(g!, pos), upload(g!, tables.cos), upload(g!, tables.sin), rows, nHeads, headDim);
          const got = await downloadF32(g!, X, x.length);
          expectClose(got, want, pairTol(x, headDim), `rope seed=${seed} headDim=${headDim} nHeads=${nHeads} rows=${rows} pos=${pos.join(',')}`);
        });
      }
    }
  }

  it('a row whose position is outside the table is left unchanged (the twin would throw)', async () => {
    const seed = 7777;
    const rng = new Rng(seed);
    const [rows, nHeads, headDim] = [3, 2, 8];
    const tables = buildRopeTables(headDim, 10000, null, 10);
    const x = randomF32(rng, rows * nHeads * headDim);
    const pos = Int32Array.from([4, 10, -1]);
    const X = upload(g!, x);
    ropeGpu(g!, X, upload(g!, pos), upload(g!, tables.cos), upload(g!, tables.sin), rows, nHeads, headDim);
    const got = await downloadF32(g!, X, x.length);
    const want = x.slice(0, nHeads * headDim);
    ropeRef(want, pos, tables.cos, tables.sin, 1, nHeads, headDim);
    expectClose(got.subarray(0, nHeads * headDim), want, pairTol(x, headDim), `rope seed=${seed} row 0`);
    expectSame(got.subarray(nHeads * headDim), x.subarray(nHeads * headDim), `rope seed=${seed} rows 1-2 (pos 10, -1) unchanged`);
  });
});
