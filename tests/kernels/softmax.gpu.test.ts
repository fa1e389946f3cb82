/** log-softmax on WebGPU against its twin: every version, awkward sizes, large values, in place, batch invariance. */
import { describe, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import type { GBuf, Gpu } from '../../engine/gpu.js';
import { logSoftmaxRef } from '../../kernels/softmax.ref.js';
import { SOFTMAX_VERSIONS, logSoftmaxGpu } from '../../kernels/softmax.js';
import { expectClose, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// The twin sums in f64 and rounds once. The kernel sums n f32 exps (each within a few ulps, as
// Vulkan allows) in a stride-then-tree order, so log(S) carries S's relative error (~1e-7) as an
// absolute error; (x - m) is exact near the max and rounded once elsewhere, and subtracting log(S)
// rounds again. Lavapipe shows 1 ulp (1.2e-7 relative) up to n = 128256; 1e-6 relative plus 1e-6
// absolute (for outputs near 0, a dominant token's) leaves ~8x room for other drivers' exp and log.
const TOL = { rel: 1e-6, abs: 1e-6 };

const g = await openTestGpu('log-softmax on WebGPU');

/** Runs the kernel out of place and in place on x [rows, n]; checks both against the twin. */
async function check(gpu: Gpu, x: Float32Array, rows: number, n: number, what: string): Promise<Float32Array> {
  const want = new Float32Array(rows * n);
  logSoftmaxRef(want, x, rows, n);
  const X = upload(gpu, x);
  const O = gpu.buffer(rows * n * 4);
  logSoftmaxGpu(gpu, O, X, rows, n);
  const got = await downloadF32(gpu, O, rows * n);
  expectClose(got, want, TOL, what);
  logSoftmaxGpu(gpu, X, X, rows, n);
  expectSame(await downloadF32(gpu, X, rows * n), got, `${what} in place`);
  return got;
}

async function runRows(gpu: Gpu, x: Float32Array, rows: number, n: number): Promise<Float32Array> {
  const X: GBuf = upload(gpu, x);
  const O = gpu.buffer(rows * n * 4);
  logSoftmaxGpu(gpu, O, X, rows, n);
  return downloadF32(gpu, O, rows * n);
}

describe.skipIf(!g)('log-softmax (WebGPU) vs twin', () => {
  for (const version of SOFTMAX_VERSIONS) {
    for (const n of [1, 7, 255, 257, 1000, 4099]) {
      for (const rows of [1, 3]) {
        it(`${version} random rows=${rows} n=${n}`, async () => {
          const seed = 2000 + 10 * n + rows;
          await check(g!, randomF32(new Rng(seed), rows * n, 8), rows, n, `seed=${seed} rows=${rows} n=${n}`);
        });
      }
    }

    it(`${version} a real vocabulary: rows=2 n=32000`, async () => {
      const seed = 2032;
      await check(g!, randomF32(new Rng(seed), 2 * 32000, 12), 2, 32000, `seed=${seed} rows=2 n=32000`);
    });

    it(`${version} large values stay finite: +-1e4, 88, -Infinity`, async () => {
      const seed = 2099;
      const rng = new Rng(seed);
      for (const n of [2, 7, 257]) {
        const rows = 3;
        const x = new Float32Array(rows * n);
        for (let i = 0; i < n; i++) {
          x[i] = rng.uniform() < 0.5 ? 1e4 : -1e4; // row 0: +-1e4 (exp(-2e4) underflows to 0)
          x[n + i] = 88 + (2 * rng.uniform() - 1); // row 1: around 88, where exp itself overflows f32
          x[2 * n + i] = 1e4 - 10 * rng.uniform(); // row 2: near 1e4, where ulp(1e4) ~ 1e-3
        }
        x[2 * n + n - 1] = -Infinity; // a masked logit: log-probability -Infinity, the rest unchanged
        const got = await check(g!, x, rows, n, `seed=${seed} large n=${n}`);
        for (let i = 0; i < rows * n - 1; i++) if (!Number.isFinite(got[i])) throw new Error(`seed=${seed} n=${n}: [${i}] = ${got[i]} is not finite`);
      }
    });

    it(`${version} all-equal rows are -log(n)`, async () => {
      for (const n of [1, 7, 257, 4099]) {
        for (const c of [0, -3.5, 1e4, -1e4]) {
          await check(g!, new Float32Array(n).fill(c), 1, n, `all-equal n=${n} c=${c}`);
        }
      }
    });

    it(`${version} batch invariance: each row of a 3-row call equals the row alone, bitwise`, async () => {
      const seed = 2300;
      const n = 4099;
      const x = randomF32(new Rng(seed), 3 * n, 8);
      const all = await runRows(g!, x, 3, n);
      for (let r = 0; r < 3; r++) {
        const one = await runRows(g!, x.slice(r * n, (r + 1) * n), 1, n);
        expectSame(all.subarray(r * n, (r + 1) * n), one, `seed=${seed} row ${r}`);
      }
    });
  }
});
