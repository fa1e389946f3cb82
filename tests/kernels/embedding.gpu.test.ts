/**
 * embedding on WebGPU against its twin, every version: f32 and f16 tables, whole and split into
 * row-block parts (separate buffers), awkward sizes, ids outside the vocabulary skipped.
 */
import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from '../../engine/dtype.js';
import type { GBuf, Gpu } from '../../engine/gpu.js';
import { Rng } from '../../engine/rng.js';
import { embeddingRef } from '../../kernels/embedding.ref.js';
import { EMBEDDING_VERSIONS, embeddingGpu } from '../../kernels/embedding.js';
import { SENTINEL, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// A row copy does no arithmetic and an f16 -> f32 widening is exact, so every comparison is
// bitwise (an f16 table is compared with the twin on its f16-rounded values).

const DIMS = [1, 7, 31, 64, 67, 257, 1000];

/** The table rounded to f16 (as f32 values, for the twin) and its f16 bits (for the GPU). */
function toF16(table: Float32Array): { values: Float32Array; bits: Uint16Array } {
  const bits = new Uint16Array(table.length);
  f32ToF16(table, bits);
  const values = new Float32Array(table.length);
  f16ToF32(bits, values);
  return { values, bits };
}

/** Uploads rows [row0, row0 + rows) of a table as its own buffer (f16 bits or f32 values). */
function uploadRows(g: Gpu, t: Float32Array | Uint16Array, row0: number, rows: number, dim: number): GBuf {
  const part = t.slice(row0 * dim, (row0 + rows) * dim);
  const b = g.buffer(part.byteLength);
  g.write(b, part);
  return t instanceof Uint16Array ? { ...b, f16: true } : b;
}

/** A table of `vocab` rows split into parts of the given sizes, each its own buffer. */
function splitTable(g: Gpu, t: Float32Array | Uint16Array, sizes: number[], dim: number): GBuf {
  let row0 = 0;
  const parts = sizes.map((rows) => {
    const p = { buf: uploadRows(g, t, row0, rows, dim), row0, rows };
    row0 += rows;
    return p;
  });
  return { ...parts[0]!.buf, parts, key: `split(${parts.map((p) => p.buf.key).join(',')})` };
}

const g = await openTestGpu('embedding on WebGPU');
describe.skipIf(!g)('embedding (WebGPU) vs twin', () => {
  /** Runs the kernel with a sentinel row after `rows` and checks it against the twin on `values`. */
  async function check(table: GBuf, values: Float32Array, ids: Int32Array, rows: number, dim: number, what: string): Promise<void> {
    const want = new Float32Array(rows * dim);
    embeddingRef(want, values, ids, rows, dim);
    const O = upload(g!, new Float32Array((rows + 1) * dim).fill(SENTINEL));
    embeddingGpu(g!, O, table, upload(g!, ids), rows, dim);
    const got = await downloadF32(g!, O, (rows + 1) * dim);
    expectSame(got, [...want, ...new Float32Array(dim).fill(SENTINEL)], what);
  }

  const f16Reason = g && !g.hasF16 ? 'this adapter lacks shader-f16' : null;

  for (const version of EMBEDDING_VERSIONS) {
    for (const f16 of [false, true]) {
      const kind = f16 ? 'f16' : 'f32';
      it.skipIf(f16 && f16Reason !== null)(`${version} ${kind} table, vocab 13, dims ${DIMS.join(', ')}, rows 1, 3, 5 (first and last ids)`, async () => {
        const vocab = 13;
        for (const dim of DIMS) {
          const seed = 8000 + dim + (f16 ? 1 : 0);
          const rng = new Rng(seed);
          const t = randomF32(rng, vocab * dim, 4);
          const { values, bits } = f16 ? toF16(t) : { values: t, bits: null };
          const table = uploadRows(g!, bits ?? t, 0, vocab, dim);
          for (const rows of [1, 3, 5]) {
            const ids = Int32Array.from({ length: rows }, (_, r) => (r === 0 ? vocab - 1 : r === 1 ? 0 : rng.int(vocab)));
            await check(table, values, ids, rows, dim, `${kind} seed=${seed} dim=${dim} rows=${rows} ids=${ids.join(',')}`);
          }
        }
      });

      it.skipIf(f16 && f16Reason !== null)(`${version} ${kind} table split into parts of 64 + 36 rows (vocab 100), and of 1 + 98 + 1`, async () => {
        const vocab = 100;
        for (const dim of [1, 7, 67, 257]) {
          const seed = 8100 + dim + (f16 ? 1 : 0);
          const rng = new Rng(seed);
          const t = randomF32(rng, vocab * dim, 4);
          const { values, bits } = f16 ? toF16(t) : { values: t, bits: null };
          const ids = Int32Array.of(63, 64, 0, 99, rng.int(vocab), rng.int(vocab), 64, 63);
          for (const sizes of [[64, 36], [1, 98, 1]]) {
            const table = splitTable(g!, bits ?? t, sizes, dim);
            await check(table, values, ids, ids.length, dim, `${kind} seed=${seed} dim=${dim} parts=${sizes.join('+')} ids=${ids.join(',')}`);
          }
        }
      });
    }

    it(`${version} a real model shape: vocab 50, dim 4096, rows 2; f32 and (with shader-f16) f16`, async () => {
      const seed = 8200;
      const rng = new Rng(seed);
      const vocab = 50;
      const dim = 4096;
      const t = randomF32(rng, vocab * dim, 0.1);
      const ids = Int32Array.of(49, 7);
      await check(uploadRows(g!, t, 0, vocab, dim), t, ids, 2, dim, `f32 seed=${seed}`);
      if (g!.hasF16) {
        const { values, bits } = toF16(t);
        await check(splitTable(g!, bits, [30, 20], dim), values, ids, 2, dim, `f16 parts seed=${seed}`);
      }
    });

    it(`${version} ids outside the vocabulary leave their row unwritten (the host rejects them; the kernel never reads out of bounds)`, async () => {
      const seed = 8300;
      const rng = new Rng(seed);
      const vocab = 5;
      const dim = 7;
      const t = randomF32(rng, vocab * dim, 4);
      for (const table of [uploadRows(g!, t, 0, vocab, dim), splitTable(g!, t, [3, 2], dim)]) {
        const O = upload(g!, new Float32Array(4 * dim).fill(SENTINEL));
        embeddingGpu(g!, O, table, upload(g!, Int32Array.of(-1, 2, 5, 1 << 30)), 4, dim);
        const got = await downloadF32(g!, O, 4 * dim);
        const row = (r: number) => Array.from(got.subarray(r * dim, (r + 1) * dim));
        expect(row(1), `seed=${seed} in-range id 2`).toEqual(Array.from(t.subarray(2 * dim, 3 * dim)));
        for (const r of [0, 2, 3]) expect(row(r), `seed=${seed} row ${r} (id out of range) unwritten`).toEqual(new Array(dim).fill(SENTINEL));
      }
    });
  }
});
