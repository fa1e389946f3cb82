/** rmsnorm on WebGPU against its twin, every version: awkward sizes, in place, batch invariance. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import type { GBuf } from '../../engine/gpu.js';
import { rmsnormRef } from '../../kernels/rmsnorm.ref.js';
import { RMSNORM_VERSIONS, rmsnormGpu } from '../../kernels/rmsnorm.js';
import { SENTINEL, expectClose, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// The twin sums squares in f64 and rounds once. The GPU sums in f32 (strided per thread, then an
// 8-level tree: at most (dim / 256 + 8) roundings of a positive sum, halved by the square root) and
// rounds /dim, +eps, sqrt, 1/, x * inv and w * once each. Measured worst case: 4 x 2^-24 relative
// over dims 1..16384; 4e-7 is ~6.7 x 2^-24. The abs floor only matters for outputs near 0.
const RMSNORM_TOL = { rel: 4e-7, abs: 1e-30 };

const DIMS = [1, 7, 31, 64, 67, 257, 1000];
const EPS = 1e-5;

const g = await openTestGpu('rmsnorm on WebGPU');
describe.skipIf(!g)('rmsnorm (WebGPU) vs twin', () => {
  /** Runs the kernel out of place (with a sentinel row after `rows`) and in place; checks both against the twin. */
  async function check(x: Float32Array, w: Float32Array, rows: number, dim: number, what: string): Promise<Float32Array> {
    const want = new Float32Array(rows * dim);
    rmsnormRef(want, x, w, rows, dim, EPS);
    const X = upload(g!, x);
    const W = upload(g!, w);
    const O = upload(g!, new Float32Array((rows + 1) * dim).fill(SENTINEL));
    rmsnormGpu(g!, O, X, W, rows, dim, EPS);
    const got = await downloadF32(g!, O, (rows + 1) * dim);
    expectClose(got.subarray(0, rows * dim), want, RMSNORM_TOL, what);
    expectSame(got.subarray(rows * dim), new Float32Array(dim).fill(SENTINEL), `${what}: row past rows untouched`);
    rmsnormGpu(g!, X, X, W, rows, dim, EPS);
    expectSame(await downloadF32(g!, X, rows * dim), got.subarray(0, rows * dim), `${what}: in place equals out of place`);
    return got.subarray(0, rows * dim);
  }

  for (const version of RMSNORM_VERSIONS) {
    for (const dim of DIMS) {
      it(`${version} dim=${dim}, rows 1, 3, 5; in place; each row of 5 bitwise as when alone`, async () => {
        const seed = 2000 + dim;
        const rng = new Rng(seed);
        const w = randomF32(rng, dim, 2);
        for (const rows of [1, 3]) await check(randomF32(rng, rows * dim, 3), w, rows, dim, `seed=${seed} dim=${dim} rows=${rows}`);
        const x = randomF32(rng, 5 * dim, 3);
        const batch = await check(x, w, 5, dim, `seed=${seed} dim=${dim} rows=5`);
        const W = upload(g!, w);
        for (let r = 0; r < 5; r++) {
          const O = g!.buffer(dim * 4);
          rmsnormGpu(g!, O, upload(g!, x.slice(r * dim, (r + 1) * dim)), W, 1, dim, EPS);
          expectSame(await downloadF32(g!, O, dim), batch.subarray(r * dim, (r + 1) * dim), `seed=${seed} dim=${dim}: row ${r} alone vs in the batch`);
        }
      });
    }

    it(`${version} a real model shape: dim 4096, rows 2`, async () => {
      const seed = 4096;
      const rng = new Rng(seed);
      await check(randomF32(rng, 2 * 4096, 3), randomF32(rng, 4096, 2), 2, 4096, `seed=${seed} dim=4096 rows=2`);
    });

    it(`${version} an all-zero row gives zeros (eps keeps 1/rms finite)`, async () => {
      const out = await check(new Float32Array(67), new Float32Array(67).fill(1), 1, 67, 'zero row');
      expect(out.every((v) => v === 0), 'zero row -> zeros').toBe(true);
    });

    it(`${version} a view at an aligned offset reads and writes only its rows`, async () => {
      const seed = 77;
      const rng = new Rng(seed);
      const dim = 64; // 256-byte rows: row 1 starts at an aligned offset
      const x = randomF32(rng, 3 * dim, 3);
      const w = randomF32(rng, dim, 2);
      const X = upload(g!, x);
      const view: GBuf = g!.view(X, dim * 4, dim * 4);
      rmsnormGpu(g!, view, view, upload(g!, w), 1, dim, EPS);
      const want = x.slice();
      rmsnormRef(want.subarray(dim, 2 * dim), x.subarray(dim, 2 * dim), w, 1, dim, EPS);
      const got = await downloadF32(g!, X, 3 * dim);
      expectClose(got, want, RMSNORM_TOL, `seed=${seed} view`);
      expectSame(got.subarray(0, dim), x.subarray(0, dim), `seed=${seed} row before the view untouched`);
      expectSame(got.subarray(2 * dim), x.subarray(2 * dim), `seed=${seed} row after the view untouched`);
    });
  }
});
