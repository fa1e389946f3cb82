/**
 * rope launcher (WGSL: rope.wgsl; twin and host tables: rope.ref.ts). Rotates `x` in place, one
 * thread per (row, head, i < headDim/2) pair. The cos/sin tables are built once at load with
 * `buildRopeTables` (f64, rounded once to f32) and uploaded; a position beyond the table leaves its
 * row unchanged (the twin throws instead).
 * Usage (run by tests/kernels/rope.gpu.test.ts; not a doctest, which has no GPU):
 * const { cos, sin } = buildRopeTables(headDim, 10000, null, maxPos);
 * const C = g.buffer(cos.byteLength); g.write(C, cos); // likewise S from sin
 * ropeGpu(g, q, pos, C, S, rows, nHeads, headDim); // q [rows, nHeads, headDim], pos [rows] i32
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const MAIN: KernelSource = {
  name: 'rope',
  version: 'v1',
  code: WGSL['rope']!,
  bindings: ['rw', 'read', 'read', 'read'],
  params: [['rows', 'u32'], ['nHeads', 'u32'], ['headDim', 'u32']],
};

export const ROPE_VERSIONS = ['v1'] as const;

export function ropeGpu(g: Gpu, x: GBuf, pos: GBuf, cos: GBuf, sin: GBuf, rows: number, nHeads: number, headDim: number): void {
  if (headDim % 2 !== 0) throw new Error(`rope: headDim must be even, got ${headDim}`);
  const [gx, gy] = grid(Math.ceil((rows * nHeads * headDim) / 2 / WG));
  g.dispatch(g.pipeline(MAIN, { WG }), [x, pos, cos, sin], [rows, nHeads, headDim], gx, gy);
}
