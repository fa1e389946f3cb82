/** kv-append on WebGPU against its twin: rows of several slots and positions in one call, exact. */
import { describe, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { kvAppendRef } from '../../kernels/kv-append.ref.js';
import { KV_APPEND_VERSIONS, kvAppendGpu } from '../../kernels/kv-append.js';
import { expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// A cache write is a copy: every comparison is bitwise (no tolerance).

/** Distinct (slot, pos) cells, so the expected cache does not depend on the order of writes. */
function cells(rng: Rng, rows: number, slots: number, maxSeq: number): { slot: Int32Array; pos: Int32Array } {
  const used = new Set<number>();
  const slot = new Int32Array(rows);
  const pos = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let c: number;
    do c = rng.int(slots * maxSeq);
    while (used.has(c));
    used.add(c);
    slot[r] = Math.floor(c / maxSeq);
    pos[r] = c % maxSeq;
  }
  return { slot, pos };
}

const g = await openTestGpu('kv-append on WebGPU');
describe.skipIf(!g)('kv-append (WebGPU) vs twin', () => {
  for (const version of KV_APPEND_VERSIONS) {
    for (const [kvDim, maxSeq, rows] of [[2, 1, 1], [8, 37, 3], [14 * 2, 301, 7], [64, 13, 7], [128 * 2, 300, 3], [8 * 4, 256, 1]] as const) {
      it(`${version} kvDim=${kvDim} maxSeq=${maxSeq} rows=${rows}`, async () => {
        const seed = 5000 + kvDim + maxSeq + rows;
        const rng = new Rng(seed);
        const slots = 3;
        const kCache = randomF32(rng, slots * maxSeq * kvDim);
        const vCache = randomF32(rng, slots * maxSeq * kvDim);
        const k = randomF32(rng, rows * kvDim);
        const v = randomF32(rng, rows * kvDim);
        const { slot, pos } = cells(rng, rows, slots, maxSeq);
        const KC = upload(g!, kCache);
        const VC = upload(g!, vCache);
        kvAppendGpu(g!, KC, VC, upload(g!, k), upload(g!, v), upload(g!, slot), upload(g!, pos), rows, kvDim, maxSeq);
        kvAppendRef(kCache, vCache, k, v, slot, pos, rows, kvDim, maxSeq);
        const what = `kv-append seed=${seed} slot=${slot.join(',')} pos=${pos.join(',')}`;
        expectSame(await downloadF32(g!, KC, kCache.length), kCache, `${what}: K cache`);
        expectSame(await downloadF32(g!, VC, vCache.length), vCache, `${what}: V cache`);
      });
    }
  }

  it('rows whose slot or position is outside the cache write nothing (the twin would throw)', async () => {
    const seed = 5555;
    const rng = new Rng(seed);
    const [slots, maxSeq, kvDim, rows] = [2, 5, 3, 4];
    const kCache = randomF32(rng, slots * maxSeq * kvDim);
    const vCache = randomF32(rng, slots * maxSeq * kvDim);
    const k = randomF32(rng, rows * kvDim);
    const v = randomF32(rng, rows * kvDim);
    const slot = Int32Array.from([1, 2, -1, 0]);
    const pos = Int32Array.from([4, 0, 0, 5]);
    const KC = upload(g!, kCache);
    const VC = upload(g!, vCache);
    kvAppendGpu(g!, KC, VC, upload(g!, k), upload(g!, v), upload(g!, slot), upload(g!, pos), rows, kvDim, maxSeq);
    kvAppendRef(kCache, vCache, k, v, slot, pos, 1, kvDim, maxSeq); // only row 0 is in range
    expectSame(await downloadF32(g!, KC, kCache.length), kCache, `kv-append seed=${seed}: K cache`);
    expectSame(await downloadF32(g!, VC, vCache.length), vCache, `kv-append seed=${seed}: V cache`);
  });
});
