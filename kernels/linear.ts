/**
 * linear launcher: out[r, o] = sum_k x[r, k] * W[o, k] (+ bias[o]) (WGSL: linear.wgsl,
 * linear.v2-tiled.wgsl, linear.v3-gemv.wgsl; twin: linear.ref.ts).
 *
 * Versions:
 * - `v1`: one thread per output, the summation order written out plainly.
 * - `v2-tiled`: a 64 x 64 register/workgroup-memory tiled GEMM (4 x 4 outputs per thread), for
 *   prefill.
 * - `v3-gemv`: 16 lanes per output split K, up to 8 rows per workgroup, for decode. Needs
 *   inDim % 4 == 0 (vec4 loads); other inDim run v1.
 *
 * All three sum each output in the SAME order (linear.wgsl's header: chunks of 16 k, chunk c in
 * slice c % 16, one fma chain per slice, slices folded in order), so they give bitwise the same
 * result for every row, whatever `rows` is and whichever version runs. That is what makes
 * LINEAR_DEFAULT = 'auto' safe: it picks v3-gemv for rows <= GEMV_MAX_ROWS (decode) and v2-tiled
 * above (prefill), and a prompt still gets the same logits alone or batched, prefilled or decoded.
 *
 * linearSwigluGpu is the same kernels with the WGSL override SWIGLU = true (STYLE point 4: a
 * variant is a constant, not a copy): x is then gu [rows, 2 * hidden] (gate | up) and each x element
 * silu(gate) * up, computed on load in one f32 expression shared by the three versions, so the
 * bitwise agreement above holds for it too. (The MLP's down projection without a swiglu pass.)
 *
 * W is stored f32 or f16 (`w.f16`, needs shader-f16); accumulation is f32 always. A weight too
 * large for one binding comes as `w.parts` (row blocks): one dispatch per part writes output
 * columns [row0, row0 + rows). Limits: x (rows * inDim * 4 bytes; gu rows * 2 * hidden * 4), out
 * (rows * outDim * 4) and bias are bound whole, so each must fit g.maxBinding (call on row blocks
 * otherwise); `out` must not alias `x` (or `gu`); rows * outDim < 2^32 (v1's thread index) and ceil(rows / 8) <= 65535 (v3's z).
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

export const LINEAR_VERSIONS = ['v1', 'v2-tiled', 'v3-gemv'] as const;
export type LinearVersion = (typeof LINEAR_VERSIONS)[number];

/** Batches of at most this many rows run v3-gemv under 'auto' (its rows per workgroup). */
export const GEMV_MAX_ROWS = 8;

/**
 * 'auto': v3-gemv for rows <= GEMV_MAX_ROWS, v2-tiled above; every version gives the same bits, so
 * the switch is a speed choice only. (lavapipe, 1024 x 1024: v2-tiled computes a whole 64-row tile,
 * ~50x slower than v3-gemv at rows 1; at rows 64 the two are within noise, v1 about half as fast.)
 */
export const LINEAR_DEFAULT: LinearVersion | 'auto' = 'auto';

const PARAMS: KernelSource['params'] = [['rows', 'u32'], ['inDim', 'u32'], ['outDim', 'u32'], ['col0', 'u32'], ['outStride', 'u32'], ['hasBias', 'u32']];
const BINDINGS: KernelSource['bindings'] = ['read', 'read', 'read', 'rw'];
const source = (version: LinearVersion, stem: string): KernelSource => ({ name: 'linear', version, code: WGSL[stem]!, bindings: BINDINGS, params: PARAMS });
const SOURCES: Record<LinearVersion, KernelSource> = {
  v1: source('v1', 'linear'),
  'v2-tiled': source('v2-tiled', 'linear.v2-tiled'),
  'v3-gemv': source('v3-gemv', 'linear.v3-gemv'),
};
const V1_WG = 64;
const TILE = { WGX: 16, WGY: 16 }; // v2: 64 x 64 tiles
const GEMV = { WG: 256, lanes: 16, rows: GEMV_MAX_ROWS }; // lanes = SLICES, rows = RB in the WGSL

/** A 16-byte stand-in for an absent bias, one per device (hasBias = 0 keeps it unread). */
const dummies = new WeakMap<Gpu, GBuf>();

/**
 * Records out = x W^T (+ bias) on the GPU. `w` is [outDim, inDim] (Hugging Face layout), f32 or
 * f16 (`w.f16`), whole or split into `w.parts`; `bias` is [outDim] f32 or null.
 *
 * Example (run by tests/kernels/linear.gpu.test.ts; not an at-example tag, since the doctest
 * scope has no Gpu `g`):
 * // 2 rows, inDim 3, outDim 2: W = [[1, 0, -1], [2, 1, 0]], b = [0.5, -1]
 * const x = g.buffer(24), w = g.buffer(24), b = g.buffer(8), y = g.buffer(16);
 * g.write(x, new Float32Array([1, 2, 3, 4, 5, 6]));
 * g.write(w, new Float32Array([1, 0, -1, 2, 1, 0]));
 * g.write(b, new Float32Array([0.5, -1]));
 * linearGpu(g, y, x, w, b, 2, 3, 2);
 * // new Float32Array(await g.read(y, 0, 16)) is [-1.5, 3, -1.5, 12]
 */
export function linearGpu(
  g: Gpu,
  out: GBuf,
  x: GBuf,
  w: GBuf,
  bias: GBuf | null,
  rows: number,
  inDim: number,
  outDim: number,
  version: LinearVersion | 'auto' = LINEAR_DEFAULT,
): void {
  record('linearGpu', g, out, x, w, bias, rows, inDim, outDim, version, false);
}

/**
 * Records the MLP's down projection fed straight from the fused gate/up projection:
 * out[r, o] = sum_k silu(gu[r, k]) * gu[r, hidden + k] * W[o, k], silu(g) = g / (1 + exp(-g)).
 * `gu` is [rows, 2 * hidden] f32 (gate half, then up half), `w` is [outDim, hidden] as in
 * linearGpu (f32 or f16, whole or `w.parts`), no bias. The same kernels with the override
 * SWIGLU = true: each x element is computed on load, in the same f32 expression in every version,
 * and summed in the same order, so versions agree bitwise and a row's result does not depend on
 * the batch; version selection is linearGpu's. Twin: linearSwigluRef.
 */
export function linearSwigluGpu(
  g: Gpu,
  out: GBuf,
  gu: GBuf,
  w: GBuf,
  rows: number,
  hidden: number,
  outDim: number,
  version: LinearVersion | 'auto' = LINEAR_DEFAULT,
): void {
  record('linearSwigluGpu', g, out, gu, w, null, rows, hidden, outDim, version, true);
}

/** linearGpu and linearSwigluGpu: `swiglu` sets the kernels' SWIGLU override (x is then gu). */
function record(
  fn: string,
  g: Gpu,
  out: GBuf,
  x: GBuf,
  w: GBuf,
  bias: GBuf | null,
  rows: number,
  inDim: number,
  outDim: number,
  version: LinearVersion | 'auto',
  swiglu: boolean,
): void {
  if (rows === 0 || outDim === 0) return;
  const wBytes = w.f16 === true ? 2 : 4;
  const parts = w.parts ?? [{ buf: w, row0: 0, rows: outDim }];
  checkSizes(fn, g, out, x, bias, parts, rows, inDim, outDim, wBytes, swiglu);
  let v: LinearVersion = version === 'auto' ? (rows <= GEMV_MAX_ROWS ? 'v3-gemv' : 'v2-tiled') : version;
  if (v === 'v3-gemv' && inDim % 4 !== 0) v = 'v1';
  const elem = w.f16 === true ? 'f16' : 'f32';
  // only set when on, so the plain pipelines keep their cache keys
  const variant: Record<string, number> = swiglu ? { SWIGLU: 1 } : {};
  let b = bias;
  if (b === null) {
    b = dummies.get(g) ?? g.buffer(16, 'linear: no bias');
    dummies.set(g, b);
  }
  const hasBias = bias === null ? 0 : 1;
  for (const part of parts) {
    const params = [rows, inDim, part.rows, part.row0, outDim, hasBias];
    const bufs = [x, part.buf, b, out];
    if (v === 'v1') {
      const [gx, gy] = grid(Math.ceil((rows * part.rows) / V1_WG));
      g.dispatch(g.pipeline(SOURCES.v1, { WG: V1_WG, ...variant }, elem), bufs, params, gx, gy);
    } else if (v === 'v2-tiled') {
      const [gx, gy] = grid(Math.ceil(part.rows / (4 * TILE.WGX)));
      g.dispatch(g.pipeline(SOURCES[v], { ...TILE, ...variant }, elem), bufs, params, gx, gy, Math.ceil(rows / (4 * TILE.WGY)));
    } else {
      const [gx, gy] = grid(Math.ceil(part.rows / (GEMV.WG / GEMV.lanes)));
      g.dispatch(g.pipeline(SOURCES[v], { WG: GEMV.WG, ...variant }, elem), bufs, params, gx, gy, Math.ceil(rows / GEMV.rows));
    }
  }
}

/**
 * Throws, naming the argument, when a buffer is smaller than the shapes say, parts leave gaps, or a
 * binding exceeds the device's limit (with what to do about it).
 */
function checkSizes(
  fn: string,
  g: Gpu,
  out: GBuf,
  x: GBuf,
  bias: GBuf | null,
  parts: { buf: GBuf; row0: number; rows: number }[],
  rows: number,
  inDim: number,
  outDim: number,
  wBytes: number,
  swiglu: boolean,
): void {
  const dims = swiglu ? `rows ${rows}, hidden ${inDim}, outDim ${outDim}` : `rows ${rows}, inDim ${inDim}, outDim ${outDim}`;
  const need = (what: string, b: GBuf, bytes: number): void => {
    if (b.size < bytes) throw new Error(`${fn}: ${what} has ${b.size} bytes but the shapes (${dims}) need ${bytes}`);
    if (b.size > g.maxBinding) {
      const fix = what.startsWith('w') ? 'split the weight into w.parts' : 'pass a view of the rows used, or call on blocks of rows';
      throw new Error(`${fn}: ${what} binds ${b.size} bytes, over the device's ${g.maxBinding}-byte storage binding limit; ${fix}`);
    }
  };
  if (swiglu) need('gu', x, rows * 2 * inDim * 4);
  else need('x', x, rows * inDim * 4);
  need('out', out, rows * outDim * 4);
  if (bias !== null) need('bias', bias, outDim * 4);
  let next = 0;
  for (const p of parts) {
    if (p.row0 !== next) throw new Error(`${fn}: w.parts must cover rows 0..${outDim} in order; a part starts at row ${p.row0}, expected ${next}`);
    need(`w part at row ${p.row0}`, p.buf, p.rows * inDim * wBytes);
    next += p.rows;
  }
  if (next !== outDim) throw new Error(`${fn}: w.parts cover ${next} rows but outDim is ${outDim}`);
}
