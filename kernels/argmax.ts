/**
 * argmax launcher (WGSL: argmax.wgsl; twin: argmax.ref.ts). One workgroup per row; greedy decoding
 * reads back only these ids.
 * Usage (needs a device, so not a doctest):
 * argmaxGpu(g, ids, logits, rows, vocabSize); // ids i32 [rows] <- first index of each row's maximum
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const MAIN: KernelSource = { name: 'argmax', version: 'v1', code: WGSL['argmax']!, bindings: ['read', 'rw'], params: [['rows', 'u32'], ['n', 'u32']] };

export const ARGMAX_VERSIONS = ['v1'] as const;

/** out[r] (i32) = the first index of the maximum of x[r, :] (f32 [rows, n]); NaN never wins, all-NaN gives 0. */
export function argmaxGpu(g: Gpu, out: GBuf, x: GBuf, rows: number, n: number): void {
  const [gx, gy] = grid(rows);
  g.dispatch(g.pipeline(MAIN, { WG }), [x, out], [rows, n], gx, gy);
}
