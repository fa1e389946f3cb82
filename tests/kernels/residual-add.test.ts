import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { residualAddRef, residualSteerRef, steerAddRef, type SteerArgs } from '../../kernels/residual-add.ref.js';
import { DECIMAL, F32_REL, ROWS, SIZES, expectClose, expectSame, randomF32 } from './check.js';

// x + branch is one f32 rounding (exact against Math.fround). The steered value s + a*V is a second
// rounding of an f64 sum: within 2^-24 of |s| + |a V| each, so F32_REL * (|s| + |a V|) per element.
// With preserveNorm the row is rescaled by an f64 ratio and rounded again: its norm is within a few
// 2^-24 of the target, so PN_REL = 4 * 2^-24 (= 2 F32_REL) relative to the pre-steer norm.
const PN_REL = 2 * F32_REL;

interface Plan {
  vectors: Float32Array; // [nVec, nSites, dim]
  nSites: number;
  site: number;
  alpha: number[]; // [rows, nSites]
  vec: number[];
  from: number[];
  pos: number[];
  preserveNorm: boolean;
}

const args = (p: Plan): SteerArgs => ({
  vectors: p.vectors,
  nSites: p.nSites,
  site: p.site,
  alpha: Float32Array.from(p.alpha),
  vec: Int32Array.from(p.vec),
  from: Int32Array.from(p.from),
  pos: Int32Array.from(p.pos),
  preserveNorm: p.preserveNorm,
});

/** The fused twin on copies; returns the new x. */
function fused(x: Float32Array, branch: Float32Array, rows: number, dim: number, plan: Plan | null): Float32Array {
  const y = x.slice();
  residualSteerRef(y, branch, rows, dim, plan === null ? null : args(plan));
  return y;
}

/** Naive f64: s = x + b; steered rows get s + a V, rescaled to |s| with preserveNorm. */
function naiveSteer(x: Float32Array, branch: Float32Array, rows: number, dim: number, p: Plan): { y: Float64Array; sNorm: number[] } {
  const y = new Float64Array(rows * dim);
  const sNorm: number[] = [];
  for (let r = 0; r < rows; r++) {
    const s = Array.from({ length: dim }, (_, i) => x[r * dim + i]! + branch[r * dim + i]!);
    const a = p.alpha[r * p.nSites + p.site]!;
    const steered = a !== 0 && p.pos[r]! >= p.from[r]!;
    const v = (i: number) => p.vectors[(p.vec[r]! * p.nSites + p.site) * dim + i]!;
    const row = s.map((si, i) => (steered ? si + Math.fround(a) * v(i) : si));
    const n0 = Math.hypot(...s);
    const n1 = Math.hypot(...row);
    const k = steered && p.preserveNorm && n1 > 0 ? n0 / n1 : 1;
    row.forEach((v, i) => (y[r * dim + i] = v * k));
    sNorm.push(n0);
  }
  return { y, sNorm };
}

const norm = (a: ArrayLike<number>) => Math.hypot(...Array.from(a));

describe('residual-add twin', () => {
  it('plain add, hand-computed and random (one f32 rounding)', () => {
    // [1, 2] + [0.5, -2] = [1.5, 0]
    const x = new Float32Array([1, 2]);
    residualAddRef(x, new Float32Array([0.5, -2]), 1, 2);
    expectSame(x, [1.5, 0], 'hand');
    const seed = 0xadd;
    const rng = new Rng(seed);
    for (const rows of ROWS) {
      for (const dim of SIZES) {
        const a = randomF32(rng, rows * dim, 10);
        const b = randomF32(rng, rows * dim, 0.01);
        const want = Array.from(a, (v, i) => Math.fround(v + b[i]!));
        expectSame(fused(a, b, rows, dim, null), want, `seed=${seed} rows=${rows} dim=${dim}`);
      }
    }
  });

  it('steers with alpha per row and per site and a vector index per row (hand-computed)', () => {
    // dim 2, nSites 2, nVec 3: V[v][s] = [100v + 10s, 100v + 10s + 1]; this write is site 1
    const vectors = new Float32Array([0, 1, 10, 11, 100, 101, 110, 111, 200, 201, 210, 211]);
    // alpha [rows 3, nSites 2]: the site-0 column (9) must not be read
    const plan: Plan = { vectors, nSites: 2, site: 1, alpha: [9, 0.5, 9, 2, 9, -1], vec: [2, 0, 1], from: [0, 0, 0], pos: [5, 5, 5], preserveNorm: false };
    const x = new Float32Array([1, 1, 2, 2, 3, 3]);
    const branch = new Float32Array([0, 0, 0, 0, 0, 0]);
    // row 0: [1, 1] + 0.5 * V[2][1] = [1 + 0.5*210, 1 + 0.5*211] = [106, 106.5]
    // row 1: [2, 2] + 2 * V[0][1]   = [2 + 2*10, 2 + 2*11]        = [22, 24]
    // row 2: [3, 3] - 1 * V[1][1]   = [3 - 110, 3 - 111]          = [-107, -108]
    expectSame(fused(x, branch, 3, 2, plan), [106, 106.5, 22, 24, -107, -108], 'site 1');
    // the same rows at site 0 read alpha 9 and V[v][0]: row 0 = [1 + 9*200, 1 + 9*201] = [1801, 1810]
    const y = fused(x, branch, 3, 2, { ...plan, site: 0 });
    expectSame(y.subarray(0, 2), [1801, 1810], 'site 0');
  });

  it('`from` skips rows whose position is below it', () => {
    // pos [0, 1, 2, 3], from 2: rows 0 and 1 get the plain add, rows 2 and 3 are steered by +1 * [1]
    const plan: Plan = { vectors: new Float32Array([1]), nSites: 1, site: 0, alpha: [1, 1, 1, 1], vec: [0, 0, 0, 0], from: [2, 2, 2, 2], pos: [0, 1, 2, 3], preserveNorm: false };
    expectSame(fused(new Float32Array([10, 20, 30, 40]), new Float32Array(4), 4, 1, plan), [10, 20, 31, 41], 'from');
  });

  it('alpha 0 leaves the row bit-identical to the plain add', () => {
    const seed = 0xa10;
    const rng = new Rng(seed);
    const dim = 13;
    const x = randomF32(rng, 3 * dim, 5);
    const b = randomF32(rng, 3 * dim, 5);
    const vectors = randomF32(rng, 3 * 2 * dim, 50);
    for (const preserveNorm of [false, true]) {
      const plan: Plan = { vectors, nSites: 2, site: 1, alpha: [7, 0, 7, -0, 7, 0], vec: [0, 1, 2], from: [0, 0, 0], pos: [0, 4, 9], preserveNorm };
      expectSame(fused(x, b, 3, dim, plan), fused(x, b, 3, dim, null), `seed=${seed} preserveNorm=${preserveNorm}`);
    }
  });

  it('preserveNorm keeps each steered row at the norm of x + branch', () => {
    // hand: x = [3, 4] (norm 5), V = [0, 5], alpha 1 -> [3, 9] (norm sqrt 90 = 9.4868330)
    // rescaled by 5 / 9.4868330 = 0.52704628 -> [1.5811388, 4.7434165]
    const hand: Plan = { vectors: new Float32Array([0, 5]), nSites: 1, site: 0, alpha: [1], vec: [0], from: [0], pos: [0], preserveNorm: true };
    expectClose(fused(new Float32Array([3, 4]), new Float32Array(2), 1, 2, hand), [1.5811388, 4.7434165], DECIMAL, 'hand');
    const seed = 0x9e5e;
    const rng = new Rng(seed);
    for (const dim of SIZES) {
      const rows = 5;
      const x = randomF32(rng, rows * dim, 3);
      const b = randomF32(rng, rows * dim, 1);
      const plan: Plan = { vectors: randomF32(rng, 3 * 2 * dim, 4), nSites: 2, site: 1, alpha: Array.from({ length: 10 }, () => 8 * rng.uniform() - 4), vec: [0, 1, 2, 1, 0], from: [0, 0, 0, 0, 0], pos: [0, 1, 2, 3, 4], preserveNorm: true };
      const plain = fused(x, b, rows, dim, null);
      const got = fused(x, b, rows, dim, plan);
      const gotNorms = Array.from({ length: rows }, (_, r) => norm(got.subarray(r * dim, (r + 1) * dim)));
      const wantNorms = Array.from({ length: rows }, (_, r) => norm(plain.subarray(r * dim, (r + 1) * dim)));
      expectClose(gotNorms, wantNorms, { rel: PN_REL }, `seed=${seed} dim=${dim} row norms`);
    }
  });

  it('is linear in alpha: result(alpha) - result(0) = alpha * V within one f32 rounding', () => {
    const seed = 0x1135;
    const rng = new Rng(seed);
    for (const dim of SIZES) {
      const x = randomF32(rng, dim, 2);
      const b = randomF32(rng, dim, 2);
      const vectors = randomF32(rng, 3 * 2 * dim, 1);
      const base = fused(x, b, 1, dim, null);
      for (const alpha of [1, -0.5, 3.25, 16]) {
        const plan: Plan = { vectors, nSites: 2, site: 1, alpha: [0, alpha], vec: [2], from: [0], pos: [0], preserveNorm: false };
        const got = fused(x, b, 1, dim, plan);
        const diff = Array.from(got, (v, i) => v - base[i]!);
        const want = Array.from({ length: dim }, (_, i) => alpha * vectors[(2 * 2 + 1) * dim + i]!);
        // |got - (base + a V)| <= 2^-24 |got|
        expectClose(diff, want, (i) => F32_REL * Math.abs(got[i]!), `seed=${seed} dim=${dim} alpha=${alpha}`);
      }
    }
  });

  it('matches a naive f64 steer on random batches at awkward sizes', () => {
    const seed = 0x57ee;
    const rng = new Rng(seed);
    for (const rows of ROWS) {
      for (const dim of SIZES) {
        for (const preserveNorm of [false, true]) {
          const nSites = 2;
          const x = randomF32(rng, rows * dim, 3);
          const b = randomF32(rng, rows * dim, 1);
          const alpha = Array.from({ length: rows * nSites }, () => (rng.uniform() < 0.25 ? 0 : Math.fround(10 * rng.uniform() - 5)));
          const plan: Plan = {
            vectors: randomF32(rng, 3 * nSites * dim, 2),
            nSites,
            site: rng.int(nSites),
            alpha,
            vec: Array.from({ length: rows }, () => rng.int(3)),
            from: Array.from({ length: rows }, () => rng.int(4)),
            pos: Array.from({ length: rows }, () => rng.int(6)),
            preserveNorm,
          };
          const got = fused(x, b, rows, dim, plan);
          const { y, sNorm } = naiveSteer(x, b, rows, dim, plan);
          const what = `seed=${seed} rows=${rows} dim=${dim} preserveNorm=${preserveNorm} plan=${JSON.stringify({ ...plan, vectors: undefined })}`;
          const tol = (i: number) => {
            const r = Math.floor(i / dim);
            if (preserveNorm) return PN_REL * sNorm[r]!;
            const s = x[i]! + b[i]!;
            return F32_REL * (Math.abs(s) + Math.abs(y[i]! - s)); // |s| + |a V|
          };
          expectClose(got, y, tol, what);
        }
      }
    }
  });

  it('the fused twin equals residual add followed by steer add, bit for bit', () => {
    const seed = 0xf05e;
    const rng = new Rng(seed);
    for (const preserveNorm of [false, true]) {
      const rows = 5;
      const dim = 31;
      const x = randomF32(rng, rows * dim, 3);
      const b = randomF32(rng, rows * dim, 3);
      const plan: Plan = { vectors: randomF32(rng, 3 * 2 * dim, 2), nSites: 2, site: 1, alpha: [1, 2, 0, -3, 5, 0.5, 1, 0, 2, 7], vec: [0, 2, 1, 1, 2], from: [0, 3, 0, 0, 9], pos: [4, 2, 0, 1, 9], preserveNorm };
      const unfused = x.slice();
      residualAddRef(unfused, b, rows, dim);
      steerAddRef(unfused, rows, dim, args(plan));
      expectSame(fused(x, b, rows, dim, plan), unfused, `seed=${seed} preserveNorm=${preserveNorm}`);
    }
  });

  it('throws when a steered row selects a vector that is not loaded', () => {
    // nVec = vectors.length / (nSites * dim) = 6 / (1 * 2) = 3: indices 0..2
    const plan = (vec: number): Plan => ({ vectors: new Float32Array(6), nSites: 1, site: 0, alpha: [1], vec: [vec], from: [0], pos: [0], preserveNorm: false });
    const x = new Float32Array(2);
    const b = new Float32Array(2);
    expect(() => fused(x, b, 1, 2, plan(3))).toThrow(RangeError);
    expect(() => fused(x, b, 1, 2, plan(-1))).toThrow(RangeError);
    expect(() => fused(x, b, 1, 2, plan(2))).not.toThrow();
  });
});
