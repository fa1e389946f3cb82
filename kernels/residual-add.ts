/**
 * residual-add launcher (WGSL: residual-add.wgsl; twins: residual-add.ref.ts residualSteerRef and,
 * with `norm`, residualSteerNormRef). One dispatch does the residual write, the steering add when
 * `steer` is given (so steering costs no extra dispatch; without it, 16-byte dummies fill the
 * steering bindings and Params.steer = 0) and, with `norm`, the next RMSNorm (entry `main_norm`).
 *
 * `main_norm` with its 9 storage bindings needs maxStorageBuffersPerShaderStage >= 9 (lavapipe: 16;
 * browsers report 8 or 10); below that the norm runs as a second dispatch of rmsnorm.wgsl, whose
 * summation order is the same, so the result is bitwise identical.
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import type { SteerBufs } from './backend.js';
import { RMSNORM_WG, rmsnormGpu } from './rmsnorm.js';
import { WGSL } from './wgsl.gen.js';

const params: KernelSource['params'] = [
  ['rows', 'u32'], ['dim', 'u32'], ['steer', 'u32'], ['nSites', 'u32'], ['site', 'u32'], ['nVec', 'u32'], ['preserveNorm', 'u32'], ['eps', 'f32'],
];
const base = { name: 'residual-add', version: 'v1', code: WGSL['residual-add']!, params };
// x, branch, vectors, alpha, vec, from, pos (+ norm w, norm out)
const MAIN: KernelSource = { ...base, bindings: ['rw', 'read', 'read', 'read', 'read', 'read', 'read'] };
const NORM: KernelSource = { ...base, bindings: [...MAIN.bindings, 'read', 'rw'], entry: 'main_norm' };
// The same workgroup size as rmsnorm: the fused norm then sums in rmsnorm's order.
const WG = RMSNORM_WG;

export const RESIDUAL_ADD_VERSIONS = ['v1'] as const;

const dummies = new WeakMap<Gpu, GBuf>();

/**
 * x[r] += branch[r] (+ the steering add of `steer`) for r < rows; with `norm`, also
 * norm.out[r] = rmsnorm(x[r]) * norm.w. x, branch, norm.out: [rows, dim]; norm.out must not be x.
 */
export function residualAddGpu(
  g: Gpu,
  x: GBuf,
  branch: GBuf,
  rows: number,
  dim: number,
  steer: SteerBufs<GBuf, GBuf> | null,
  norm: { w: GBuf; out: GBuf; eps: number } | null = null,
): void {
  if (norm && norm.out.key === x.key) throw new Error('residualAddGpu: norm.out must be another buffer than x (x keeps the un-normed sum)');
  let dummy = dummies.get(g);
  if (!dummy) dummies.set(g, (dummy = g.buffer(16, 'residual-add dummy')));
  const s = steer ?? { vectors: dummy, nSites: 1, site: 0, alpha: dummy, vec: dummy, from: dummy, pos: dummy, preserveNorm: false };
  const nVec = steer ? Math.floor(steer.vectors.size / (4 * steer.nSites * dim)) : 0;
  const bufs = [x, branch, s.vectors, s.alpha, s.vec, s.from, s.pos];
  const p = [rows, dim, steer ? 1 : 0, s.nSites, s.site, nVec, s.preserveNorm ? 1 : 0, norm?.eps ?? 0];
  const [gx, gy] = grid(rows);
  if (norm && g.handle.limits.maxStorageBuffersPerShaderStage >= NORM.bindings.length) {
    g.dispatch(g.pipeline(NORM, { WG }), [...bufs, norm.w, norm.out], p, gx, gy);
    return;
  }
  g.dispatch(g.pipeline(MAIN, { WG }), bufs, p, gx, gy);
  if (norm) rmsnormGpu(g, norm.out, x, norm.w, rows, dim, norm.eps);
}
