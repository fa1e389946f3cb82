/**
 * linear on WebGPU against its twin: every version and 'auto', awkward sizes, with and without
 * bias, f32 and f16 weights, weights split into parts; then the bitwise claims: a row's result
 * does not depend on the batch, and all versions agree (which is what makes 'auto' safe). The
 * same for the SwiGLU prologue variant (linearSwigluGpu vs linearSwigluRef).
 */
import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from '../../engine/dtype.js';
import type { GBuf, Gpu } from '../../engine/gpu.js';
import { Rng } from '../../engine/rng.js';
import { GEMV_MAX_ROWS, LINEAR_DEFAULT, LINEAR_VERSIONS, linearGpu, linearSwigluGpu, type LinearVersion } from '../../kernels/linear.js';
import { linearRef, linearSwigluRef } from '../../kernels/linear.ref.js';
import { swigluRef } from '../../kernels/swiglu.ref.js';
import { SENTINEL, expectClose, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

type Version = LinearVersion | 'auto';
const VERSIONS: Version[] = [...LINEAR_VERSIONS, 'auto'];

const ROWS = [1, 2, 3, 5, 17, 65] as const;
const IN_DIMS = [1, 7, 64, 96, 173] as const;
const OUT_DIMS = [1, 3, 5, 33, 100] as const;

/**
 * The error bound. The kernels sum each output as a tree of f32 operations: one fma chain per
 * slice (at most 16 * ceil(ceil(inDim / 16) / 16) steps: 16-element chunks dealt to 16 slices),
 * then 16 adds folding the slices, then the bias: depth d = 16 ceil(ceil(inDim / 16) / 16) + 17.
 * Each term thus meets at most d roundings (d + 1 if fma is not fused, which WGSL allows), so
 * |gpu - exact| <= gamma_{d+1} M with M = sum_k |x w| + |b| and gamma_n = n u / (1 - n u),
 * u = 2^-24 (Higham, recursive summation). The twin sums in f64 and rounds once:
 * |twin - exact| <= u M (+ ~inDim 2^-53 M). Together: |gpu - twin| <= (d + 3) u M. This bounds
 * every input, cancellation included; a flat 2^-22 M would not, once chains exceed 4 roundings.
 */
function tolerance(x: Float32Array, w: Float32Array, bias: Float32Array | null, rows: number, inDim: number, outDim: number): (i: number) => number {
  const d = 16 * Math.ceil(Math.ceil(inDim / 16) / 16) + 17;
  const t = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let m = bias === null ? 0 : Math.abs(bias[o]!);
      for (let k = 0; k < inDim; k++) m += Math.abs(x[r * inDim + k]! * w[o * inDim + k]!);
      t[r * outDim + o] = (d + 3) * 2 ** -24 * m;
    }
  }
  return (i) => t[i]!;
}

/** Weights as the GPU stores them (f16 bits or f32) and as the twin sees them (f16-rounded for f16). */
function uploadWeight(g: Gpu, w: Float32Array, f16: boolean): { buf: GBuf; values: Float32Array } {
  if (!f16) return { buf: upload(g, w), values: w };
  const bits = new Uint16Array(w.length);
  f32ToF16(w, bits);
  const values = new Float32Array(w.length);
  f16ToF32(bits, values);
  const buf = g.buffer(bits.byteLength);
  g.write(buf, bits);
  return { buf: { ...buf, f16: true }, values };
}

interface Case {
  seed: number;
  rows: number;
  inDim: number;
  outDim: number;
  f16: boolean;
  bias: boolean;
}

const label = (c: Case): string => `seed=${c.seed} rows=${c.rows} inDim=${c.inDim} outDim=${c.outDim} ${c.f16 ? 'f16' : 'f32'} ${c.bias ? 'bias' : 'no bias'}`;

/** Random inputs of a case; the weight scale keeps f16 values normal. */
function inputs(c: Case): { x: Float32Array; w: Float32Array; b: Float32Array | null } {
  const rng = new Rng(c.seed);
  const x = randomF32(rng, c.rows * c.inDim, 2);
  const w = randomF32(rng, c.outDim * c.inDim, 0.5);
  return { x, w, b: c.bias ? randomF32(rng, c.outDim, 1) : null };
}

/** Runs one version on the GPU (out pre-filled with a sentinel, so unwritten outputs show). */
async function runGpu(g: Gpu, v: Version, x: Float32Array, W: GBuf, b: Float32Array | null, rows: number, inDim: number, outDim: number): Promise<Float32Array> {
  const out = upload(g, new Float32Array(rows * outDim).fill(SENTINEL));
  linearGpu(g, out, upload(g, x), W, b === null ? null : upload(g, b), rows, inDim, outDim, v);
  return downloadF32(g, out, rows * outDim);
}

/** Checks one version against the twin on a case; returns the GPU output. */
async function checkCase(g: Gpu, v: Version, c: Case, split?: (g: Gpu, w: GBuf) => GBuf): Promise<Float32Array> {
  const { x, w, b } = inputs(c);
  const W = uploadWeight(g, w, c.f16);
  const got = await runGpu(g, v, x, split ? split(g, W.buf) : W.buf, b, c.rows, c.inDim, c.outDim);
  const want = new Float32Array(c.rows * c.outDim);
  linearRef(want, x, W.values, b, c.rows, c.inDim, c.outDim);
  expectClose(got, want, tolerance(x, W.values, b, c.rows, c.inDim, c.outDim), `linear ${v} ${label(c)}`);
  return got;
}

/** Every (inDim, outDim) pair once, with rows cycling through ROWS, so each value is covered. */
const GRID: { rows: number; inDim: number; outDim: number }[] = IN_DIMS.flatMap((inDim, a) =>
  OUT_DIMS.map((outDim, b) => ({ rows: ROWS[(a * OUT_DIMS.length + b) % ROWS.length]!, inDim, outDim })),
);
/** inDim % 4 == 0 but not % 16: v3-gemv's vec4 tail of a chunk; 520 deals 33 chunks to 16 lanes. */
const VEC4_TAILS = [
  { rows: 2, inDim: 4, outDim: 17 },
  { rows: 9, inDim: 100, outDim: 5 },
  { rows: 1, inDim: 520, outDim: 40 },
];
/** stories260K (dim 64, hidden 172) at decode and prefill, and a 1024 x 1024 decode. */
const MODEL = [
  { rows: 1, inDim: 64, outDim: 172 },
  { rows: 9, inDim: 64, outDim: 172 },
  { rows: 1, inDim: 1024, outDim: 1024 },
];

const g = await openTestGpu('linear on WebGPU');
const noF16 = !g?.hasF16;
describe.skipIf(!g)('linear (WebGPU) vs twin', () => {
  for (const v of VERSIONS) {
    for (const f16 of [false, true]) {
      const dtype = f16 ? (noF16 ? 'f16 (skipped: the adapter lacks shader-f16)' : 'f16') : 'f32';
      it.skipIf(f16 && noF16)(`${v} ${dtype}: awkward sizes, with and without bias`, async () => {
        let i = 0;
        for (const s of [...GRID, ...VEC4_TAILS]) {
          for (const bias of [false, true]) await checkCase(g!, v, { seed: 100 + i++, ...s, f16, bias });
        }
      });
      it.skipIf(f16 && noF16)(`${v} ${dtype}: model shapes`, async () => {
        let i = 0;
        for (const s of MODEL) await checkCase(g!, v, { seed: 200 + i, ...s, f16, bias: i++ % 2 === 1 });
      });
      it.skipIf(f16 && noF16)(`${v} ${dtype}: split weights give the unsplit bits`, async () => {
        // outDim 100 as views 64 + 36 of one buffer (offsets stay 256-byte aligned), then as
        // separate buffers 37 + 63 (inDim 36: a view could not start at row 37)
        const asViews = (g: Gpu, w: GBuf): GBuf => {
          const bytes = (f16 ? 2 : 4) * 96;
          const part = (row0: number, rows: number) => ({ buf: { ...g.view(w, row0 * bytes, rows * bytes), f16 }, row0, rows });
          return { ...w, parts: [part(0, 64), part(64, 36)] };
        };
        const asBuffers = (w: Float32Array) => (g: Gpu, whole: GBuf): GBuf => {
          const part = (row0: number, rows: number) => ({ buf: uploadWeight(g, w.subarray(row0 * 36, (row0 + rows) * 36), f16).buf, row0, rows });
          return { ...whole, parts: [part(0, 37), part(37, 63)] };
        };
        for (const rows of [3, 17]) {
          const c1: Case = { seed: 300 + rows, rows, inDim: 96, outDim: 100, f16, bias: true };
          expectSame(await checkCase(g!, v, c1, asViews), await checkCase(g!, v, c1), `split into views: ${v} ${label(c1)}`);
          const c2: Case = { seed: 400 + rows, rows, inDim: 36, outDim: 100, f16, bias: rows === 3 };
          expectSame(await checkCase(g!, v, c2, asBuffers(inputs(c2).w)), await checkCase(g!, v, c2), `split into buffers: ${v} ${label(c2)}`);
        }
      });
    }
  }
});

describe.skipIf(!g)('linear (WebGPU) bitwise: batch invariance and agreement between versions', () => {
  /** Each row of a batch computed alone, concatenated. */
  async function rowByRow(v: Version, x: Float32Array, W: GBuf, b: Float32Array | null, rows: number, inDim: number, outDim: number): Promise<Float32Array> {
    const y = new Float32Array(rows * outDim);
    for (let r = 0; r < rows; r++) y.set(await runGpu(g!, v, x.subarray(r * inDim, (r + 1) * inDim), W, b, 1, inDim, outDim), r * outDim);
    return y;
  }

  for (const v of VERSIONS) {
    // 5 rows stay under 'auto''s GEMV limit; 17 cross it (v2-tiled batched, v3-gemv alone)
    it(`${v}: each row of a 5- and a 17-row batch equals that row alone`, async () => {
      for (const c of [
        { seed: 500, rows: 5, inDim: 96, outDim: 33, f16: false, bias: true },
        { seed: 501, rows: 17, inDim: 173, outDim: 5, f16: false, bias: false },
        { seed: 502, rows: 17, inDim: 64, outDim: 172, f16: !noF16, bias: true },
      ]) {
        const { x, w, b } = inputs(c);
        const W = uploadWeight(g!, w, c.f16).buf;
        const batched = await runGpu(g!, v, x, W, b, c.rows, c.inDim, c.outDim);
        expectSame(await rowByRow(v, x, W, b, c.rows, c.inDim, c.outDim), batched, `batch invariance ${v} ${label(c)}`);
      }
    });
  }

  it('every version gives the bits of v1 (so auto may switch versions with rows)', async () => {
    expect(GEMV_MAX_ROWS).toBeLessThan(17);
    let i = 0;
    for (const s of [...GRID.filter((_, j) => j % 3 === 0), ...VEC4_TAILS, ...MODEL]) {
      const c: Case = { seed: 600 + i, ...s, f16: i % 2 === 1 && !noF16, bias: i++ % 3 !== 0 };
      const { x, w, b } = inputs(c);
      const W = uploadWeight(g!, w, c.f16).buf;
      const want = await runGpu(g!, 'v1', x, W, b, c.rows, c.inDim, c.outDim);
      for (const v of VERSIONS) expectSame(await runGpu(g!, v, x, W, b, c.rows, c.inDim, c.outDim), want, `${v} vs v1 ${label(c)}`);
    }
  });

  it('rejects short buffers, gapped parts and over-limit bindings, naming the argument', () => {
    const x = g!.buffer(4 * 8), w = g!.buffer(4 * 8), y = g!.buffer(4 * 4);
    expect(() => linearGpu(g!, y, x, w, null, 3, 4, 2)).toThrow(/x has 32 bytes .* need 48/);
    const gapped = { ...w, parts: [{ buf: w, row0: 0, rows: 1 }, { buf: w, row0: 2, rows: 1 }] };
    expect(() => linearGpu(g!, y, x, gapped, null, 1, 4, 3)).toThrow(/a part starts at row 2, expected 1/);
    const huge = { ...w, size: g!.maxBinding + 16 };
    expect(() => linearGpu(g!, y, x, huge, null, 1, 4, 2)).toThrow(/w part at row 0 binds .* split the weight into w.parts/);
  });

  it('the linearGpu TSDoc example', async () => {
    expect(LINEAR_DEFAULT).toBe('auto');
    const x = g!.buffer(24), w = g!.buffer(24), b = g!.buffer(8), y = g!.buffer(16);
    g!.write(x, new Float32Array([1, 2, 3, 4, 5, 6]));
    g!.write(w, new Float32Array([1, 0, -1, 2, 1, 0]));
    g!.write(b, new Float32Array([0.5, -1]));
    linearGpu(g!, y, x, w, b, 2, 3, 2);
    expectSame(new Float32Array(await g!.read(y, 0, 16)), [-1.5, 3, -1.5, 12], 'linearGpu example');
  });
});

// ---- the SwiGLU prologue (linearSwigluGpu: the SWIGLU override of the same kernels) ----

/**
 * The bound for linearSwigluGpu vs linearSwigluRef: the linear bound above, with x the twin's
 * x_k = fl(silu(g_k) u_k) (M = sum_k |x_k w_k|), plus what the GPU's own x_k may differ from it.
 * The GPU computes g / (1 + exp(-g)) * u in f32. WGSL allows exp (3 + 2|g|) ULP and division 2.5
 * ULP, and one ULP is at most 2 u relative (u = 2^-24), so in units of u: exp 6 + 4|g| (through
 * 1 + e scaled by e / (1 + e) <= 1), the add 1, the division 5, the multiply 1, and the twin's own
 * rounding of x_k to f32 1: |x_gpu - x_twin| <= (14 + 4|g_k|) u |x_k| (to first order). That error
 * enters the sum as w_k times it, so add sum_k (14 + 4|g_k|) u |x_k w_k|. (A flat ~4 u is not
 * enough: lavapipe's exp is off by up to ~6 u of x_k for |g| < 4 and ~18 u at g = -19.6; the spec
 * bound holds on any conforming device. Either way it is small next to the (d + 3) u M term.)
 */
function swigluTolerance(gu: Float32Array, w: Float32Array, rows: number, hidden: number, outDim: number): (i: number) => number {
  const x = new Float32Array(rows * hidden);
  for (let r = 0; r < rows; r++) {
    const g0 = r * 2 * hidden;
    swigluRef(x.subarray(r * hidden, (r + 1) * hidden), gu.subarray(g0, g0 + hidden), gu.subarray(g0 + hidden, g0 + 2 * hidden), hidden);
  }
  const d = 16 * Math.ceil(Math.ceil(hidden / 16) / 16) + 17;
  const t = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let m = 0;
      let e = 0;
      for (let k = 0; k < hidden; k++) {
        const a = Math.abs(x[r * hidden + k]! * w[o * hidden + k]!);
        m += a;
        e += (14 + 4 * Math.abs(gu[r * 2 * hidden + k]!)) * a;
      }
      t[r * outDim + o] = ((d + 3) * m + e) * 2 ** -24;
    }
  }
  return (i) => t[i]!;
}

interface SwCase {
  seed: number;
  rows: number;
  hidden: number;
  outDim: number;
  f16: boolean;
}

const swLabel = (c: SwCase): string => `seed=${c.seed} rows=${c.rows} hidden=${c.hidden} outDim=${c.outDim} ${c.f16 ? 'f16' : 'f32'}`;

/** gu [rows, 2 hidden]: gates over [-8, 8) (silu's curved part and both tails), ups in [-2, 2). */
function swInputs(c: SwCase): { gu: Float32Array; w: Float32Array } {
  const rng = new Rng(c.seed);
  const gu = new Float32Array(c.rows * 2 * c.hidden);
  for (let r = 0; r < c.rows; r++) {
    gu.set(randomF32(rng, c.hidden, 8), r * 2 * c.hidden);
    gu.set(randomF32(rng, c.hidden, 2), (r * 2 + 1) * c.hidden);
  }
  return { gu, w: randomF32(rng, c.outDim * c.hidden, 0.5) };
}

async function runSwiglu(g: Gpu, v: Version, gu: Float32Array, W: GBuf, rows: number, hidden: number, outDim: number): Promise<Float32Array> {
  const out = upload(g, new Float32Array(rows * outDim).fill(SENTINEL));
  linearSwigluGpu(g, out, upload(g, gu), W, rows, hidden, outDim, v);
  return downloadF32(g, out, rows * outDim);
}

/**
 * Runs every version and 'auto' on a case: each close to the twin and bitwise equal to v1 (so
 * 'auto' may switch versions with rows here too). `split` turns the uploaded weight into parts.
 */
async function checkSwiglu(g: Gpu, c: SwCase, split?: (g: Gpu, w: GBuf, values: Float32Array) => GBuf): Promise<Float32Array> {
  const { gu, w } = swInputs(c);
  const W = uploadWeight(g, w, c.f16);
  const buf = split ? split(g, W.buf, w) : W.buf;
  const want = new Float32Array(c.rows * c.outDim);
  linearSwigluRef(want, gu, W.values, c.rows, c.hidden, c.outDim);
  const tol = swigluTolerance(gu, W.values, c.rows, c.hidden, c.outDim);
  let v1: Float32Array | null = null;
  for (const v of VERSIONS) {
    const got = await runSwiglu(g, v, gu, buf, c.rows, c.hidden, c.outDim);
    expectClose(got, want, tol, `linearSwiglu ${v} ${swLabel(c)}${split ? ' split' : ''}`);
    if (v1 === null) v1 = got;
    else expectSame(got, v1, `linearSwiglu ${v} vs v1 ${swLabel(c)}${split ? ' split' : ''}`);
  }
  return v1!;
}

const SW_ROWS = [1, 3, 9] as const; // 9 > GEMV_MAX_ROWS: 'auto' runs v2-tiled, v3 two row blocks
const SW_HIDDEN = [1, 7, 64, 172] as const; // 172 % 4 == 0 but not % 16: v3's vec4 chunk tail
const SW_OUT = [1, 5, 64] as const;

describe.skipIf(!g)('linearSwiglu (WebGPU): the SWIGLU variant of every version vs twin, and bitwise', () => {
  for (const f16 of [false, true]) {
    const dtype = f16 ? (noF16 ? 'f16 (skipped: the adapter lacks shader-f16)' : 'f16') : 'f32';
    it.skipIf(f16 && noF16)(`${dtype}: every version and auto on awkward sizes, and all give v1's bits`, async () => {
      expect(GEMV_MAX_ROWS).toBeLessThan(9);
      let i = 0;
      for (const rows of SW_ROWS) {
        for (const hidden of SW_HIDDEN) {
          for (const outDim of SW_OUT) await checkSwiglu(g!, { seed: 700 + i++, rows, hidden, outDim, f16 });
        }
      }
    });
    it.skipIf(f16 && noF16)(`${dtype}: a model shape (rows 1, hidden 2816, outDim 1024)`, async () => {
      await checkSwiglu(g!, { seed: 800, rows: 1, hidden: 2816, outDim: 1024, f16 });
    });
    it.skipIf(f16 && noF16)(`${dtype}: split weights give the unsplit bits`, async () => {
      // as above: views 64 + 36 of one buffer (hidden 96 keeps offsets 256-byte aligned), then
      // separate buffers 37 + 63 (hidden 36)
      const asViews = (g: Gpu, w: GBuf): GBuf => {
        const bytes = (f16 ? 2 : 4) * 96;
        const part = (row0: number, rows: number) => ({ buf: { ...g.view(w, row0 * bytes, rows * bytes), f16 }, row0, rows });
        return { ...w, parts: [part(0, 64), part(64, 36)] };
      };
      const asBuffers = (g: Gpu, whole: GBuf, w: Float32Array): GBuf => {
        const part = (row0: number, rows: number) => ({ buf: uploadWeight(g, w.subarray(row0 * 36, (row0 + rows) * 36), f16).buf, row0, rows });
        return { ...whole, parts: [part(0, 37), part(37, 63)] };
      };
      const c1: SwCase = { seed: 900, rows: 3, hidden: 96, outDim: 100, f16 };
      expectSame(await checkSwiglu(g!, c1, asViews), await checkSwiglu(g!, c1), `split into views: ${swLabel(c1)}`);
      const c2: SwCase = { seed: 901, rows: 9, hidden: 36, outDim: 100, f16 };
      expectSame(await checkSwiglu(g!, c2, asBuffers), await checkSwiglu(g!, c2), `split into buffers: ${swLabel(c2)}`);
    });
  }

  for (const v of VERSIONS) {
    // 5 rows stay under 'auto''s GEMV limit; 9 cross it (v2-tiled batched, v3-gemv alone)
    it(`${v}: each row of a 5- and a 9-row batch equals that row alone`, async () => {
      for (const c of [
        { seed: 950, rows: 5, hidden: 172, outDim: 64, f16: false },
        { seed: 951, rows: 9, hidden: 7, outDim: 5, f16: !noF16 },
      ]) {
        const { gu, w } = swInputs(c);
        const W = uploadWeight(g!, w, c.f16).buf;
        const batched = await runSwiglu(g!, v, gu, W, c.rows, c.hidden, c.outDim);
        const alone = new Float32Array(c.rows * c.outDim);
        for (let r = 0; r < c.rows; r++) {
          const row = gu.subarray(r * 2 * c.hidden, (r + 1) * 2 * c.hidden);
          alone.set(await runSwiglu(g!, v, row, W, 1, c.hidden, c.outDim), r * c.outDim);
        }
        expectSame(alone, batched, `batch invariance ${v} ${swLabel(c)}`);
      }
    });
  }

  it('rejects a short gu, naming it and the shapes', () => {
    const gu = g!.buffer(4 * 8), w = g!.buffer(4 * 8), y = g!.buffer(4 * 4);
    expect(() => linearSwigluGpu(g!, y, gu, w, 1, 8, 1)).toThrow(/linearSwigluGpu: gu has 32 bytes but the shapes \(rows 1, hidden 8, outDim 1\) need 64/);
  });
});
