/**
 * rmsnorm launcher (WGSL: rmsnorm.wgsl; twin: rmsnorm.ref.ts). One workgroup per row reduces the
 * sum of squares in a fixed order (batch-invariant); when `out` is `x` the `main_inplace` entry
 * binds it once, since WebGPU forbids a writable binding aliasing another in one dispatch.
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

/** Threads per row (a power of two). Fixed: changing it changes every row's summation order. */
export const RMSNORM_WG = 256;
const base = { name: 'rmsnorm', version: 'v1', code: WGSL['rmsnorm']!, params: [['rows', 'u32'], ['dim', 'u32'], ['eps', 'f32']] as KernelSource['params'] };
const MAIN: KernelSource = { ...base, bindings: ['rw', 'read', 'rw'] };
const INPLACE: KernelSource = { ...base, bindings: ['rw', 'read'], entry: 'main_inplace' };

export const RMSNORM_VERSIONS = ['v1'] as const;

/** out[r] = w * x[r] / rms(x[r]) for r < rows; x: [rows, dim], w: [dim]; out may be x. */
export function rmsnormGpu(g: Gpu, out: GBuf, x: GBuf, w: GBuf, rows: number, dim: number, eps: number): void {
  const [gx, gy] = grid(rows);
  if (out.key === x.key) g.dispatch(g.pipeline(INPLACE, { WG: RMSNORM_WG }), [x, w], [rows, dim, eps], gx, gy);
  else g.dispatch(g.pipeline(MAIN, { WG: RMSNORM_WG }), [x, w, out], [rows, dim, eps], gx, gy);
}
