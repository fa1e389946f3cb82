/** gather-rows on WebGPU against its twin (backend.ts gatherRowsRef), every version, awkward sizes. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { gatherRowsRef } from '../../kernels/backend.js';
import { GATHER_ROWS_VERSIONS, gatherRowsGpu } from '../../kernels/gather-rows.js';
import { SENTINEL, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// A row copy does no arithmetic: every comparison is bitwise.

const DIMS = [1, 7, 31, 64, 67, 257, 1000];

const g = await openTestGpu('gather-rows on WebGPU');
describe.skipIf(!g)('gather-rows (WebGPU) vs twin', () => {
  async function check(src: Float32Array, idx: Int32Array, n: number, dim: number, what: string): Promise<void> {
    const want = new Float32Array(n * dim);
    gatherRowsRef(want, src, idx, n, dim);
    const O = upload(g!, new Float32Array((n + 1) * dim).fill(SENTINEL));
    gatherRowsGpu(g!, O, upload(g!, src), upload(g!, idx), n, dim);
    expectSame(await downloadF32(g!, O, (n + 1) * dim), [...want, ...new Float32Array(dim).fill(SENTINEL)], what);
  }

  for (const version of GATHER_ROWS_VERSIONS) {
    it(`${version} dims ${DIMS.join(', ')}, n 1, 3, 5 from 7 rows (repeats, first and last rows)`, async () => {
      for (const dim of DIMS) {
        const seed = 9000 + dim;
        const rng = new Rng(seed);
        const src = randomF32(rng, 7 * dim, 4);
        for (const n of [1, 3, 5]) {
          const idx = Int32Array.from({ length: n }, (_, i) => (i === 0 ? 6 : i === 1 ? 0 : rng.int(7)));
          await check(src, idx, n, dim, `seed=${seed} dim=${dim} n=${n} idx=${idx.join(',')}`);
        }
        await check(src, Int32Array.of(3, 3, 3), 3, dim, `seed=${seed} dim=${dim} repeated row`);
      }
    });

    it(`${version} a real model shape: the last rows of 2 sequences, dim 4096`, async () => {
      const seed = 9100;
      const src = randomF32(new Rng(seed), 9 * 4096, 4);
      await check(src, Int32Array.of(4, 8), 2, 4096, `seed=${seed}`);
    });

    it(`${version} an index outside the source leaves its row unwritten (the host rejects it; never read out of bounds)`, async () => {
      const seed = 9200;
      const dim = 7;
      const src = randomF32(new Rng(seed), 3 * dim, 4);
      const O = upload(g!, new Float32Array(3 * dim).fill(SENTINEL));
      gatherRowsGpu(g!, O, upload(g!, src), upload(g!, Int32Array.of(-1, 1, 3)), 3, dim);
      const got = await downloadF32(g!, O, 3 * dim);
      expect(Array.from(got.subarray(dim, 2 * dim)), `seed=${seed} row 1`).toEqual(Array.from(src.subarray(dim, 2 * dim)));
      for (const r of [0, 2]) expect(Array.from(got.subarray(r * dim, (r + 1) * dim)), `seed=${seed} row ${r} unwritten`).toEqual(new Array(dim).fill(SENTINEL));
    });
  }
});
