/**
 * sample launcher (WGSL: sample.wgsl; twin: sample.ref.ts, whose header is the contract).
 * Temperature + top-p sampling on the GPU without a sort: one workgroup per row finds the nucleus
 * threshold by a binary search over probability bit patterns and draws by an id-order prefix sum.
 * Per-row temperature, topP and u are device buffers, so one dispatch serves a batch of requests
 * with different settings; only the ids are written.
 * Usage (needs a device, so not a doctest):
 * sampleGpu(g, ids, logits, rows, vocabSize, temperature, topP, u); // ids i32 [rows]
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const MAIN: KernelSource = {
  name: 'sample',
  version: 'v1',
  code: WGSL['sample']!,
  bindings: ['read', 'read', 'read', 'read', 'rw'],
  params: [['rows', 'u32'], ['n', 'u32']],
};

export const SAMPLE_VERSIONS = ['v1'] as const;

/**
 * out[r] (i32) = the token drawn from logits[r, :] (f32 [rows, n]) at temperature[r], topP[r] and
 * u[r] in [0, 1) (each f32 [rows]); temperature <= 0 gives the argmax.
 */
export function sampleGpu(g: Gpu, out: GBuf, logits: GBuf, rows: number, n: number, temperature: GBuf, topP: GBuf, u: GBuf): void {
  const [gx, gy] = grid(rows);
  g.dispatch(g.pipeline(MAIN, { WG }), [logits, temperature, topP, u, out], [rows, n], gx, gy);
}
