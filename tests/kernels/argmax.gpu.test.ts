/** argmax on WebGPU against its twin: every version, awkward sizes, ties, NaN, -Infinity, batch invariance. */
import { describe, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import type { Gpu } from '../../engine/gpu.js';
import { argmaxRef } from '../../kernels/argmax.ref.js';
import { ARGMAX_VERSIONS, argmaxGpu } from '../../kernels/argmax.js';
import { expectSame, randomF32 } from './check.js';
import { downloadI32, openTestGpu, upload } from './gpu-helpers.js';

// argmax compares and never rounds: the ids must equal the twin's exactly.

const g = await openTestGpu('argmax on WebGPU');

/** The kernel's ids for x [rows, n], with a sentinel after the last row to catch stray writes. */
async function run(gpu: Gpu, x: Float32Array, rows: number, n: number): Promise<Int32Array> {
  const O = upload(gpu, new Int32Array(rows + 1).fill(-7));
  argmaxGpu(gpu, O, upload(gpu, x), rows, n);
  return downloadI32(gpu, O, rows + 1);
}

async function check(gpu: Gpu, x: Float32Array, rows: number, n: number, what: string): Promise<void> {
  const want = new Int32Array(rows + 1).fill(-7);
  argmaxRef(want, x, rows, n);
  expectSame(await run(gpu, x, rows, n), want, what);
}

describe.skipIf(!g)('argmax (WebGPU) vs twin', () => {
  for (const version of ARGMAX_VERSIONS) {
    for (const n of [1, 7, 255, 257, 1000, 4099]) {
      for (const rows of [1, 3]) {
        it(`${version} random rows=${rows} n=${n}`, async () => {
          const seed = 3000 + 10 * n + rows;
          await check(g!, randomF32(new Rng(seed), rows * n, 8), rows, n, `seed=${seed} rows=${rows} n=${n}`);
        });
      }
    }

    it(`${version} a real vocabulary: rows=2 n=32000`, async () => {
      const seed = 3032;
      await check(g!, randomF32(new Rng(seed), 2 * 32000, 12), 2, 32000, `seed=${seed} rows=2 n=32000`);
    });

    it(`${version} hand rows: ties, NaN, -Infinity, -0`, async () => {
      const cases: number[][] = [
        [1, 3, 2], [7], [5, 5, 1], [1, 5, 5], [2, 2, 2, 2, 2], [-0, 0], [0, -0],
        [NaN, 1, 2], [1, NaN, 0], [NaN, -Infinity, -3], [NaN, -Infinity], [NaN, NaN, -Infinity, -Infinity],
        [-Infinity, -Infinity, -Infinity], [NaN, NaN], [NaN], [-Infinity, -Infinity, -5], [0, Infinity, 1e30, Infinity],
      ];
      for (const c of cases) await check(g!, Float32Array.from(c), 1, c.length, `[${c.join(', ')}]`);
    });

    it(`${version} ties across threads and rows full of NaN and -Infinity`, async () => {
      const seed = 3100;
      const rng = new Rng(seed);
      for (const n of [255, 257, 4099]) {
        // values from a small pool, so ties of the maximum fall in many threads' slices
        const pool = [-Infinity, NaN, -1, 0, 0.5, 2, 3];
        const rows = 3;
        const x = Float32Array.from({ length: rows * n }, () => pool[rng.int(pool.length)]!);
        await check(g!, x, rows, n, `seed=${seed} pool n=${n}`);
        // the maximum only at two ids, the later one (258 or the last) in a lower thread's slice
        const y = randomF32(rng, n, 1);
        y[5] = 5;
        y[Math.min(n - 1, 258)] = 5;
        await check(g!, y, 1, n, `seed=${seed} two maxima n=${n}`);
        const allNaN = new Float32Array(n).fill(NaN);
        const nanAndInf = new Float32Array(n).fill(NaN);
        nanAndInf[n - 1] = -Infinity;
        await check(g!, Float32Array.from([...allNaN, ...nanAndInf, ...new Float32Array(n).fill(-Infinity)]), 3, n, `NaN/-inf rows n=${n}`);
      }
    });

    it(`${version} batch invariance: each row of a 3-row call equals the row alone`, async () => {
      const seed = 3300;
      const n = 4099;
      const x = randomF32(new Rng(seed), 3 * n, 8);
      const all = await run(g!, x, 3, n);
      for (let r = 0; r < 3; r++) {
        const one = await run(g!, x.slice(r * n, (r + 1) * n), 1, n);
        expectSame([all[r]!], [one[0]!], `seed=${seed} row ${r}`);
      }
    });
  }
});
