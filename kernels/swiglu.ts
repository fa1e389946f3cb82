/**
 * swiglu launcher (WGSL: swiglu.wgsl; twin: swiglu.ref.ts). One thread per element; when `out`
 * is `gate` (the forward pass computes in place) the `main_inplace` entry binds it once, since
 * WebGPU forbids a writable binding aliasing another in one dispatch.
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const base = { name: 'swiglu', version: 'v1', code: WGSL['swiglu']!, params: [['n', 'u32'], ['hidden', 'u32']] as KernelSource['params'] };
const MAIN: KernelSource = { ...base, bindings: ['rw', 'read', 'rw'] };
const INPLACE: KernelSource = { ...base, bindings: ['rw', 'read'], entry: 'main_inplace' };
// main_gu binds its output at 1 and the fused gate/up rows at 2
const GU: KernelSource = { ...base, bindings: ['rw', 'read'], entry: 'main_gu' };

export const SWIGLU_VERSIONS = ['v1'] as const;

export function swigluGpu(g: Gpu, out: GBuf, gate: GBuf, up: GBuf, n: number): void {
  const [x, y] = grid(Math.ceil(n / WG));
  if (out.key === gate.key) g.dispatch(g.pipeline(INPLACE, { WG }), [gate, up], [n, 0], x, y);
  else g.dispatch(g.pipeline(MAIN, { WG }), [gate, up, out], [n, 0], x, y);
}

/** out[r, i] = silu(gu[r, i]) * gu[r, hidden + i]: SwiGLU on a fused gate/up projection (twin: swigluGuRef). */
export function swigluGuGpu(g: Gpu, out: GBuf, gu: GBuf, rows: number, hidden: number): void {
  const n = rows * hidden;
  const [x, y] = grid(Math.ceil(n / WG));
  g.dispatch(g.pipeline(GU, { WG }), [out, gu], [n, hidden], x, y);
}
