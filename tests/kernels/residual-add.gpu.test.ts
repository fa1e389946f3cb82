/**
 * residual-add on WebGPU against its twins (residualSteerRef, residualSteerNormRef), every version:
 * the plain add bitwise, the steering add (per-row vector and alpha, a second site, `from`), norm
 * preservation, the fused RMSNorm (and its two-dispatch fallback), and batch invariance.
 */
import { describe, expect, it } from 'vitest';
import { Gpu, type GBuf } from '../../engine/gpu.js';
import { Rng } from '../../engine/rng.js';
import type { SteerBufs } from '../../kernels/backend.js';
import { residualAddRef, residualSteerNormRef, residualSteerRef, type SteerArgs } from '../../kernels/residual-add.ref.js';
import { RESIDUAL_ADD_VERSIONS, residualAddGpu } from '../../kernels/residual-add.js';
import { rmsnormGpu } from '../../kernels/rmsnorm.js';
import { F32_REL, SENTINEL, expectClose, expectSame, randomF32 } from './check.js';
import { downloadF32, openTestGpu, upload } from './gpu-helpers.js';

// x + branch rounds once on both sides: bitwise. A steered element s + a v: the twin rounds the
// f64 sum once, the GPU rounds a v and then the sum (or fuses them): within 3 x 2^-24 of
// |s| + |a v|; STEER = 2 F32_REL (4 x 2^-24) of that.
const STEER = 2 * F32_REL;
// preserveNorm: the GPU's scale sqrt(|s|^2 / |t|^2) comes from two f32 workgroup sums (rmsnorm's
// order) instead of f64 ones: the steered row's norm and every element carry that relative error
// (measured: norms within 1.2e-7 relative, dims 7..16384); 1e-6 covers the worst-case f32 sum
// bound up to dim 4096.
const PN_REL = 1e-6;
// The fused norm's own error is rmsnorm's (see rmsnorm.gpu.test.ts: ~4 x 2^-24 measured). Its
// input x differs from the twin's on steered rows by the bounds above, which reach the output
// through x[i] (times w inv) and through the row's rms (at most the same again): 2 w inv xtol.
const RMSNORM_REL = 4e-7;
const EPS = 1e-5;

const DIMS = [1, 7, 31, 64, 67, 257, 1000];
const N_SITES = 2;
const SITE = 1;
const N_VEC = 3;

/**
 * A 5-row-periodic plan at site 1 of 2, with 3 stacked vectors: row r % 5 = 0, 2, 4 steered
 * (alpha of both signs, vectors 2 - r % 3), 1 has alpha 0, 3 is before its `from`. Site 0's alpha
 * is 9 on every row, so reading the wrong site would show.
 */
function makePlan(rng: Rng, rows: number, dim: number, preserveNorm: boolean): SteerArgs {
  const alpha = new Float32Array(rows * N_SITES);
  const pos = new Int32Array(rows);
  const from = new Int32Array(rows);
  const vec = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const k = r % 5;
    alpha[r * N_SITES] = 9;
    alpha[r * N_SITES + SITE] = k === 1 ? 0 : (1 + 3 * rng.uniform()) * (k === 2 ? -1 : 1);
    pos[r] = 10 + r;
    from[r] = k === 3 ? pos[r]! + 1 : pos[r]! - (r % 2); // from = pos still steers
    vec[r] = 2 - (r % 3);
  }
  return { vectors: randomF32(rng, N_VEC * N_SITES * dim, 1), nSites: N_SITES, site: SITE, alpha, vec, from, pos, preserveNorm };
}

const steered = (p: SteerArgs, r: number): boolean => p.alpha[r * p.nSites + p.site] !== 0 && p.pos[r]! >= p.from[r]!;

function uploadSteer(gpu: Gpu, p: SteerArgs): SteerBufs<GBuf, GBuf> {
  const { vectors, alpha, vec, from, pos } = p;
  return { ...p, vectors: upload(gpu, vectors), alpha: upload(gpu, alpha), vec: upload(gpu, vec), from: upload(gpu, from), pos: upload(gpu, pos) };
}

/** One kernel call on fresh buffers (x with a sentinel row after `rows`); returns x, and norm out when normW is given. */
async function runGpu(gpu: Gpu, x: Float32Array, branch: Float32Array, rows: number, dim: number, p: SteerArgs | null, normW?: Float32Array) {
  const X = upload(gpu, Float32Array.from([...x, ...new Float32Array(dim).fill(SENTINEL)]));
  const N = normW ? { w: upload(gpu, normW), out: upload(gpu, new Float32Array((rows + 1) * dim).fill(SENTINEL)), eps: EPS } : null;
  residualAddGpu(gpu, X, upload(gpu, branch), rows, dim, p && uploadSteer(gpu, p), N);
  const xs = await downloadF32(gpu, X, (rows + 1) * dim);
  expectSame(xs.subarray(rows * dim), new Float32Array(dim).fill(SENTINEL), 'x: row past rows untouched');
  let out: Float32Array | null = null;
  if (N) {
    const o = await downloadF32(gpu, N.out, (rows + 1) * dim);
    expectSame(o.subarray(rows * dim), new Float32Array(dim).fill(SENTINEL), 'norm out: row past rows untouched');
    out = o.subarray(0, rows * dim);
  }
  return { x: xs.subarray(0, rows * dim), out, X };
}

/** Per-element tolerance of x against the twin: 0 on unsteered rows (bitwise), the bounds above on steered ones. */
function xTolerance(s: Float32Array, want: Float32Array, rows: number, dim: number, p: SteerArgs): Float64Array {
  const tol = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    if (!steered(p, r)) continue;
    const a = p.alpha[r * p.nSites + p.site]!;
    const vo = (p.vec[r]! * p.nSites + p.site) * dim;
    let n0 = 0;
    let n1 = 0;
    for (let i = 0; i < dim; i++) {
      n0 += s[r * dim + i]! ** 2;
      n1 += (s[r * dim + i]! + a * p.vectors[vo + i]!) ** 2;
    }
    const k = p.preserveNorm && n1 > 0 ? Math.sqrt(n0 / n1) : 1;
    for (let i = 0; i < dim; i++) {
      const j = r * dim + i;
      tol[j] = k * STEER * (Math.abs(s[j]!) + Math.abs(a * p.vectors[vo + i]!)) + (p.preserveNorm ? PN_REL * Math.abs(want[j]!) : 0);
    }
  }
  return tol;
}

const rowNorm = (a: Float32Array, r: number, dim: number): number => Math.hypot(...a.subarray(r * dim, (r + 1) * dim));

const g = await openTestGpu('residual-add on WebGPU');
describe.skipIf(!g)('residual-add (WebGPU) vs twin', () => {
  for (const version of RESIDUAL_ADD_VERSIONS) {
    it(`${version} plain add is bitwise the twin's (dims ${DIMS.join(', ')}; rows 1, 3, 5)`, async () => {
      for (const dim of DIMS) {
        for (const rows of [1, 3, 5]) {
          const seed = 3000 + dim * 10 + rows;
          const rng = new Rng(seed);
          const x = randomF32(rng, rows * dim, 10);
          const b = randomF32(rng, rows * dim, 1);
          const want = x.slice();
          residualAddRef(want, b, rows, dim);
          expectSame((await runGpu(g!, x, b, rows, dim, null)).x, want, `seed=${seed} dim=${dim} rows=${rows}`);
        }
      }
    });

    for (const preserveNorm of [false, true]) {
      it(`${version} steering${preserveNorm ? ' with preserveNorm' : ''}: vector and alpha per row, site 1 of 2, from skips, alpha 0 rows bitwise the plain add`, async () => {
        for (const dim of DIMS) {
          const rows = 5;
          const seed = 4000 + dim + (preserveNorm ? 1 : 0);
          const rng = new Rng(seed);
          const x = randomF32(rng, rows * dim, 10);
          const b = randomF32(rng, rows * dim, 1);
          const p = makePlan(rng, rows, dim, preserveNorm);
          const s = x.slice();
          residualAddRef(s, b, rows, dim);
          const want = x.slice();
          residualSteerRef(want, b, rows, dim, p);
          const got = (await runGpu(g!, x, b, rows, dim, p)).x;
          const tol = xTolerance(s, want, rows, dim, p);
          const what = `seed=${seed} dim=${dim}`;
          expectClose(got, want, (i) => tol[i]!, what);
          for (const r of [1, 3]) expectSame(got.subarray(r * dim, (r + 1) * dim), s.subarray(r * dim, (r + 1) * dim), `${what}: unsteered row ${r} is the plain add`);
          for (const r of [0, 2, 4]) {
            if (dim > 1) expect(got.subarray(r * dim, (r + 1) * dim), `${what}: row ${r} is steered`).not.toEqual(s.subarray(r * dim, (r + 1) * dim));
            if (preserveNorm) {
              const n0 = rowNorm(s, r, dim);
              expect(Math.abs(rowNorm(got, r, dim) - n0), `${what}: row ${r} keeps its pre-steer norm ${n0}`).toBeLessThanOrEqual(PN_REL * n0);
            }
          }
        }
      });
    }

    it(`${version} fused RMSNorm: without steering, with steering + preserveNorm; equals the unfused GPU composition and the 8-binding fallback`, async () => {
      // A Gpu over the same device that reports 8 storage buffers per stage: the launcher falls back to two dispatches.
      const g8 = new Gpu({ ...g!.handle, limits: { ...g!.handle.limits, maxStorageBuffersPerShaderStage: 8 } });
      for (const dim of DIMS) {
        for (const preserveNorm of [null, false, true]) {
          const rows = 5;
          const seed = 5000 + dim * 3 + (preserveNorm === null ? 0 : preserveNorm ? 2 : 1);
          const rng = new Rng(seed);
          const x = randomF32(rng, rows * dim, 10);
          const b = randomF32(rng, rows * dim, 1);
          const w = randomF32(rng, dim, 2);
          const p = preserveNorm === null ? null : makePlan(rng, rows, dim, preserveNorm);
          const wantX = x.slice();
          const wantOut = new Float32Array(rows * dim);
          residualSteerNormRef(wantX, b, rows, dim, p, w, wantOut, EPS);
          const d0 = g!.dispatches;
          const got = await runGpu(g!, x, b, rows, dim, p, w);
          const what = `seed=${seed} dim=${dim} steer=${p ? `preserveNorm=${preserveNorm}` : 'off'}`;
          expect(g!.dispatches - d0, `${what}: one dispatch, steering and norm included`).toBe(1);
          const s = x.slice();
          residualAddRef(s, b, rows, dim);
          const xtol = p ? xTolerance(s, wantX, rows, dim, p) : new Float64Array(rows * dim);
          expectClose(got.x, wantX, (i) => xtol[i]!, `${what}: x`);
          const inv = Array.from({ length: rows }, (_, r) => 1 / Math.sqrt(rowNorm(wantX, r, dim) ** 2 / dim + EPS));
          const otol = (i: number) => RMSNORM_REL * Math.abs(wantOut[i]!) + 2 * Math.abs(w[i % dim]!) * inv[Math.floor(i / dim)]! * xtol[i]! + 1e-30;
          expectClose(got.out!, wantOut, otol, `${what}: norm out`);
          // the same kernel order as rmsnorm.wgsl: bitwise the two-dispatch composition on the GPU's own x
          const O = g!.buffer(rows * dim * 4);
          rmsnormGpu(g!, O, got.X, upload(g!, w), rows, dim, EPS);
          expectSame(got.out!, await downloadF32(g!, O, rows * dim), `${what}: fused vs residual-add then rmsnorm`);
          const d8 = g8.dispatches;
          const fb = await runGpu(g8, x, b, rows, dim, p, w);
          expect(g8.dispatches - d8, `${what}: the fallback is two dispatches`).toBe(2);
          expectSame(fb.x, got.x, `${what}: 8-binding fallback x`);
          expectSame(fb.out!, got.out!, `${what}: 8-binding fallback norm out`);
        }
      }
    });

    it(`${version} batch invariance: each row of a 5-row call (steering, preserveNorm, norm) is bitwise the row alone`, async () => {
      for (const dim of [67, 1000]) {
        const rows = 5;
        const seed = 6000 + dim;
        const rng = new Rng(seed);
        const x = randomF32(rng, rows * dim, 10);
        const b = randomF32(rng, rows * dim, 1);
        const w = randomF32(rng, dim, 2);
        const p = makePlan(rng, rows, dim, true);
        const batch = await runGpu(g!, x, b, rows, dim, p, w);
        for (let r = 0; r < rows; r++) {
          const row = (a: Float32Array) => a.slice(r * dim, (r + 1) * dim);
          const pr: SteerArgs = { ...p, alpha: p.alpha.slice(r * N_SITES, (r + 1) * N_SITES), vec: p.vec.slice(r, r + 1), from: p.from.slice(r, r + 1), pos: p.pos.slice(r, r + 1) };
          const alone = await runGpu(g!, row(x), row(b), 1, dim, pr, w);
          expectSame(alone.x, row(batch.x), `seed=${seed} dim=${dim}: x row ${r} alone vs in the batch`);
          expectSame(alone.out!, row(batch.out!), `seed=${seed} dim=${dim}: norm out row ${r} alone vs in the batch`);
        }
      }
    });

    it(`${version} a real model shape: dim 4096, rows 2 (row 0 steered with preserveNorm, row 1 alpha 0), fused norm`, async () => {
      const rows = 2;
      const dim = 4096;
      const seed = 7000;
      const rng = new Rng(seed);
      const x = randomF32(rng, rows * dim, 10);
      const b = randomF32(rng, rows * dim, 1);
      const w = randomF32(rng, dim, 2);
      const p = makePlan(rng, rows, dim, true);
      const wantX = x.slice();
      const wantOut = new Float32Array(rows * dim);
      residualSteerNormRef(wantX, b, rows, dim, p, w, wantOut, EPS);
      const s = x.slice();
      residualAddRef(s, b, rows, dim);
      const got = await runGpu(g!, x, b, rows, dim, p, w);
      const xtol = xTolerance(s, wantX, rows, dim, p);
      expectClose(got.x, wantX, (i) => xtol[i]!, `seed=${seed} x`);
      expectSame(got.x.subarray(dim), s.subarray(dim), `seed=${seed} row 1 (alpha 0) is the plain add`);
      expect(Math.abs(rowNorm(got.x, 0, dim) - rowNorm(s, 0, dim)), `seed=${seed} row 0 keeps its norm`).toBeLessThanOrEqual(PN_REL * rowNorm(s, 0, dim));
      const inv = [0, 1].map((r) => 1 / Math.sqrt(rowNorm(wantX, r, dim) ** 2 / dim + EPS));
      expectClose(got.out!, wantOut, (i) => RMSNORM_REL * Math.abs(wantOut[i]!) + 2 * Math.abs(w[i % dim]!) * inv[Math.floor(i / dim)]! * xtol[i]! + 1e-30, `seed=${seed} norm out`);
    });
  }
});
