/**
 * kv-append launcher (WGSL: kv-append.wgsl; twin: kv-append.ref.ts). Writes each row's k and v
 * at (slot[r], pos[r]) of the caches, one thread per element; rows of different sequences and
 * positions share one dispatch. A slot or position outside the cache skips its row (the twin
 * throws instead).
 * Usage (run by tests/kernels/kv-append.gpu.test.ts; not a doctest, which has no GPU):
 * // caches [slots, maxSeq, kvDim]; k, v [rows, kvDim]; slot, pos [rows] i32
 * kvAppendGpu(g, kCache, vCache, k, v, slot, pos, rows, kvDim, maxSeq);
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const MAIN: KernelSource = {
  name: 'kv-append',
  version: 'v1',
  code: WGSL['kv-append']!,
  bindings: ['rw', 'rw', 'read', 'read', 'read', 'read'],
  params: [['rows', 'u32'], ['kvDim', 'u32'], ['maxSeq', 'u32']],
};

export const KV_APPEND_VERSIONS = ['v1'] as const;

export function kvAppendGpu(
  g: Gpu,
  kCache: GBuf,
  vCache: GBuf,
  k: GBuf,
  v: GBuf,
  slot: GBuf,
  pos: GBuf,
  rows: number,
  kvDim: number,
  maxSeq: number,
): void {
  const [x, y] = grid(Math.ceil((rows * kvDim) / WG));
  g.dispatch(g.pipeline(MAIN, { WG }), [kCache, vCache, k, v, slot, pos], [rows, kvDim, maxSeq], x, y);
}
