/**
 * qkv-rope launcher (WGSL: qkv-rope.wgsl; twin: qkv-rope.ref.ts). Splits the fused QKV projection
 * output [rows, qDim + 2 kvDim] = [q | k | v] in one dispatch: q is rotated into `q` [rows, qDim],
 * k is rotated and written at (slot[r], pos[r]) of `kCache`, v is copied there into `vCache`. One
 * thread per rotated q pair, per rotated k pair and per v element; the rotation is rope.wgsl's f32
 * expression, so the result equals ropeGpu + kvAppendGpu bitwise. A row whose slot or position is
 * outside the cache (or table) is skipped whole; the caller validates them (the twin throws).
 * Usage (run by tests/kernels/qkv-rope.gpu.test.ts; not a doctest, which has no GPU):
 * // qkv [rows, (nHeads + 2 nKvHeads) headDim]; q [rows, nHeads headDim]; caches [slots, maxSeq, nKvHeads headDim]
 * // pos, slot [rows] i32; cos, sin from buildRopeTables(headDim, theta, scaling, maxPos), uploaded once
 * qkvRopeGpu(g, q, kCache, vCache, qkv, pos, slot, cos, sin, rows, nHeads, nKvHeads, headDim, maxSeq);
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const MAIN: KernelSource = {
  name: 'qkv-rope',
  version: 'v1',
  code: WGSL['qkv-rope']!,
  bindings: ['rw', 'rw', 'rw', 'read', 'read', 'read', 'read', 'read'],
  params: [['rows', 'u32'], ['nHeads', 'u32'], ['nKvHeads', 'u32'], ['headDim', 'u32'], ['maxSeq', 'u32']],
};

export const QKV_ROPE_VERSIONS = ['v1'] as const;

export function qkvRopeGpu(
  g: Gpu,
  q: GBuf,
  kCache: GBuf,
  vCache: GBuf,
  qkv: GBuf,
  pos: GBuf,
  slot: GBuf,
  cos: GBuf,
  sin: GBuf,
  rows: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  maxSeq: number,
): void {
  if (headDim % 2 !== 0 || headDim <= 0) throw new Error(`qkv-rope: headDim must be even and positive, got ${headDim}`);
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  if (qkv.size < rows * (qDim + 2 * kvDim) * 4) throw new Error(`qkv-rope: qkv holds ${qkv.size} bytes, less than ${rows} rows of ${qDim + 2 * kvDim}`);
  if (q.size < rows * qDim * 4) throw new Error(`qkv-rope: q holds ${q.size} bytes, less than ${rows} rows of ${qDim}`);
  const half = headDim / 2;
  const perRow = (nHeads + nKvHeads) * half + kvDim;
  const [x, y] = grid(Math.ceil((rows * perRow) / WG));
  g.dispatch(g.pipeline(MAIN, { WG }), [q, kCache, vCache, qkv, pos, slot, cos, sin], [rows, nHeads, nKvHeads, headDim, maxSeq], x, y);
}
