/**
 * gather-rows launcher (WGSL: gather-rows.wgsl; twin: backend.ts gatherRowsRef). One thread per
 * output element; the forward pass uses it to pick each sequence's last row before the LM head.
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const SRC: KernelSource = {
  name: 'gather-rows',
  version: 'v1',
  code: WGSL['gather-rows']!,
  bindings: ['read', 'read', 'rw'],
  params: [['n', 'u32'], ['dim', 'u32'], ['srcRows', 'u32']],
};

export const GATHER_ROWS_VERSIONS = ['v1'] as const;

/** out[i] = src[idx[i]] for i < n; src: [srcRows, dim], idx: [n] i32, out: [n, dim]. */
export function gatherRowsGpu(g: Gpu, out: GBuf, src: GBuf, idx: GBuf, n: number, dim: number): void {
  const [gx, gy] = grid(Math.ceil((n * dim) / WG));
  g.dispatch(g.pipeline(SRC, { WG }), [src, idx, out], [n, dim, Math.floor(src.size / (dim * 4))], gx, gy);
}
