/**
 * log-softmax launcher (WGSL: softmax.wgsl; twin: softmax.ref.ts logSoftmaxRef). One workgroup per
 * row with a fixed-order tree reduction, so a row's log-probabilities are bitwise the same alone or
 * in a batch. When `out` is `x` the `main_inplace` entry binds it once, since WebGPU forbids a
 * writable binding aliasing another in one dispatch.
 * Usage (needs a device, so not a doctest):
 * logSoftmaxGpu(g, logits, logits, rows, vocabSize); // logits [rows, vocabSize] -> log-probabilities, in place
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const base = { name: 'softmax', version: 'v1', code: WGSL['softmax']!, params: [['rows', 'u32'], ['n', 'u32']] as KernelSource['params'] };
const MAIN: KernelSource = { ...base, bindings: ['rw', 'rw'] };
const INPLACE: KernelSource = { ...base, bindings: ['rw'], entry: 'main_inplace' };

export const SOFTMAX_VERSIONS = ['v1'] as const;

/** out[r, :] = log_softmax(x[r, :]) for x, out f32 [rows, n]; in place when out is x. */
export function logSoftmaxGpu(g: Gpu, out: GBuf, x: GBuf, rows: number, n: number): void {
  const [gx, gy] = grid(rows);
  if (out.key === x.key) g.dispatch(g.pipeline(INPLACE, { WG }), [x], [rows, n], gx, gy);
  else g.dispatch(g.pipeline(MAIN, { WG }), [x, out], [rows, n], gx, gy);
}
