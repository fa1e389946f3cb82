/** swiglu on WebGPU against its twin, every version, awkward sizes, out-of-place and in place. */
import { describe, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { swigluGuRef, swigluRef } from '../../kernels/swiglu.ref.js';
import { SWIGLU_VERSIONS, swigluGpu, swigluGuGpu } from '../../kernels/swiglu.js';
import { expectClose, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// GPU exp differs from the host's by a few ulps; silu(g) * up then rounds once more.
const TOL = { rel: 4e-6, abs: 1e-7 };

const g = await openTestGpu('swiglu on WebGPU');
describe.skipIf(!g)('swiglu (WebGPU) vs twin', () => {
  for (const version of SWIGLU_VERSIONS) {
    for (const n of [1, 7, 255, 257, 1031, 172 * 5]) {
      it(`${version} n=${n}`, async () => {
        const seed = 1000 + n;
        const rng = new Rng(seed);
        const gate = randomF32(rng, n, 8);
        const up = randomF32(rng, n, 2);
        const want = new Float32Array(n);
        swigluRef(want, gate, up, n);
        const G = upload(g!, gate);
        const U = upload(g!, up);
        const O = g!.buffer(n * 4);
        swigluGpu(g!, O, G, U, n);
        expectClose(await downloadF32(g!, O, n), want, TOL, `swiglu seed=${seed} n=${n}`);
        swigluGpu(g!, G, G, U, n);
        expectClose(await downloadF32(g!, G, n), want, TOL, `swiglu in place seed=${seed} n=${n}`);
      });
    }
  }
});

describe.skipIf(!g)('swiglu on fused gate/up rows (WebGPU) vs twin', () => {
  for (const [rows, hidden] of [[1, 1], [3, 7], [5, 172], [2, 2816]] as const) {
    it(`rows=${rows} hidden=${hidden}`, async () => {
      const seed = 77 + rows * hidden;
      const rng = new Rng(seed);
      const gu = randomF32(rng, rows * 2 * hidden, 6);
      const want = new Float32Array(rows * hidden);
      swigluGuRef(want, gu, rows, hidden);
      const out = g!.buffer(rows * hidden * 4);
      swigluGuGpu(g!, out, upload(g!, gu), rows, hidden);
      expectClose(await downloadF32(g!, out, rows * hidden), want, TOL, `swigluGu seed=${seed}`);
    });
  }
});
