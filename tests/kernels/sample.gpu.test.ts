/**
 * Sampling on WebGPU against its twin (sample.ref.ts, whose header is the contract): temperature 0
 * is argmax, the twin's hand cases, random rows at several temperatures and topP, batch invariance.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import type { Gpu } from '../../engine/gpu.js';
import { argmaxRef } from '../../kernels/argmax.ref.js';
import { sampleRef } from '../../kernels/sample.ref.js';
import { SAMPLE_VERSIONS, sampleGpu } from '../../kernels/sample.js';
import { expectSame, randomF32 } from './check.js';
import { downloadI32, openTestGpu, upload } from './gpu-helpers.js';

// Ids are compared exactly. The kernel accumulates in f32 and the twin in f64, and each e_i is an
// f32 exp within a few ulps, so the kernel's masses sit within ~1e-6 (relative) of the twin's; a
// case is used only where that cannot change the token:
// - the nucleus: topP is more than TAU_MARGIN away from both the mass above tau and the mass at or
//   above it, and tau's nearest distinct probabilities are more than TIE_MARGIN (relative) away;
// - the draw: u is more than U_MARGIN away from every cumulative boundary of the nucleus.
const TAU_MARGIN = 1e-5;
const TIE_MARGIN = 1e-5;
const U_MARGIN = 1e-4;

const LOG_P = [Math.log(0.5), Math.log(0.3), Math.log(0.2)]; // logits of the distribution [0.5, 0.3, 0.2]

const g = await openTestGpu('sample on WebGPU');

/** The kernel's ids for logits [rows, n] with per-row settings; a sentinel after the last row catches stray writes. */
async function run(gpu: Gpu, logits: Float32Array, n: number, t: number[], topP: number[], u: number[]): Promise<Int32Array> {
  const rows = t.length;
  const O = upload(gpu, new Int32Array(rows + 1).fill(-7));
  sampleGpu(gpu, O, upload(gpu, logits), rows, n, upload(gpu, Float32Array.from(t)), upload(gpu, Float32Array.from(topP)), upload(gpu, Float32Array.from(u)));
  return downloadI32(gpu, O, rows + 1);
}

function twin(logits: Float32Array, n: number, t: number[], topP: number[], u: number[]): Int32Array {
  const out = new Int32Array(t.length + 1).fill(-7);
  sampleRef(out, logits, t.length, n, Float32Array.from(t), Float32Array.from(topP), Float32Array.from(u));
  return out;
}

/** One logits row repeated for each u. */
function repeat(row: ArrayLike<number>, times: number): Float32Array {
  const out = new Float32Array(times * row.length);
  for (let r = 0; r < times; r++) out.set(Float32Array.from(row), r * row.length);
  return out;
}

/**
 * The twin's nucleus and id-order boundaries in f64 (the same steps as sample.ref.ts): `clear` when
 * f32 rounding cannot move the nucleus; `bounds` are the cumulative masses / nucleus mass, ascending.
 */
function contract(x: Float32Array, t: number, topP: number): { clear: boolean; bounds: Float64Array } {
  const n = x.length;
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  const p = Float64Array.from(x, (v) => Math.exp((v - m) / t));
  const z = p.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i++) p[i]! /= z;
  let tau = 0;
  let clear = true;
  if (topP < 1) {
    const sorted = Float64Array.from(p).sort().reverse();
    let acc = 0;
    for (const q of sorted) {
      acc += q;
      tau = q;
      if (acc >= topP) break;
    }
    let above = 0;
    let atOrAbove = 0;
    let below = 0;
    let next = Infinity;
    for (const q of p) {
      if (q > tau) { above += q; next = Math.min(next, q); }
      if (q >= tau) atOrAbove += q;
      else below = Math.max(below, q);
    }
    clear = topP - above > TAU_MARGIN && atOrAbove - topP > TAU_MARGIN && tau - below > TIE_MARGIN * tau && next - tau > TIE_MARGIN * tau;
  }
  let mass = 0;
  for (const q of p) if (q >= tau) mass += q;
  const bounds: number[] = [];
  let cum = 0;
  for (const q of p) if (q >= tau) bounds.push((cum += q) / mass);
  return { clear, bounds: Float64Array.from(bounds) };
}

/** Whether u is more than U_MARGIN from every boundary (bounds ascending). */
function safeU(u: number, bounds: Float64Array): boolean {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return (lo === bounds.length || bounds[lo]! - u > U_MARGIN) && (lo === 0 || u - bounds[lo - 1]! > U_MARGIN);
}

describe.skipIf(!g)('sample (WebGPU) vs twin', () => {
  for (const version of SAMPLE_VERSIONS) {
    it(`${version} temperature 0 is argmax (ties, NaN, -Infinity), whatever topP and u`, async () => {
      const seed = 4000;
      const rng = new Rng(seed);
      for (const n of [1, 7, 257, 4099]) {
        const rows = 3;
        const pool = [-Infinity, NaN, -1, 0, 0.5, 2, 3];
        const x = randomF32(rng, rows * n, 5);
        for (let i = n; i < 2 * n; i++) x[i] = pool[rng.int(pool.length)]!; // row 1: ties, NaN, -inf
        const want = new Int32Array(rows + 1).fill(-7);
        argmaxRef(want, x, rows, n);
        const got = await run(g!, x, n, [0, 0, 0], [1, 0.9, 0.3], [rng.uniform(), rng.uniform(), 0.999]);
        expectSame(got, want, `seed=${seed} n=${n}`);
      }
    });

    it(`${version} the twin's hand cases (tests/kernels/sample.test.ts)`, async () => {
      const cases: { logits: number[]; t: number; topP: number; u: number[]; want: number[]; why: string }[] = [
        { logits: [0, 3, 1, 2], t: 1, topP: 0.5, u: [0], want: [1], why: 'u = 0, nucleus {1}' },
        { logits: [0, 3, 1, 2], t: 1, topP: 0.9, u: [0], want: [1], why: 'u = 0, nucleus {1, 2, 3}' },
        { logits: [0, 3, 1, 2], t: 1, topP: 0.999, u: [0], want: [0], why: 'u = 0, every token' },
        { logits: [0, 3, 1, 2], t: 1, topP: 1, u: [0, 0.5, 0.7, 0.9], want: [0, 1, 2, 3], why: 'id order' },
        { logits: [0, 3, 1, 2], t: 1, topP: 0.85, u: [0, 0.5, 0.8], want: [1, 1, 3], why: 'nucleus {1, 3}' },
        { logits: [Math.log(0.4), Math.log(0.3), Math.log(0.3)], t: 1, topP: 0.5, u: [0.95], want: [2], why: 'ties at tau are in' },
        { logits: LOG_P, t: 1, topP: 1, u: [0, 0.49, 0.51, 0.79, 0.81, 0.999], want: [0, 0, 1, 1, 2, 2], why: '[0.5, 0.3, 0.2]' },
        { logits: LOG_P, t: 1, topP: 0.6, u: [0.7, 0.6, 0.999, 0], want: [1, 0, 1, 0], why: 'topP 0.6: nucleus {0, 1}' },
        { logits: LOG_P, t: 2, topP: 1, u: [0.41, 0.42, 0.73, 0.74], want: [0, 1, 1, 2], why: 'T = 2 flattens' },
        { logits: LOG_P, t: 1, topP: 1, u: [0.42, 0.74], want: [0, 1], why: 'T = 1 for comparison' },
        // the largest u below 1: u * mass may round up to the mass in f32; the last nucleus token, as the twin
        { logits: LOG_P, t: 1, topP: 1, u: [1 - 2 ** -24], want: [2], why: 'u just below 1' },
        { logits: LOG_P, t: 1, topP: 0.6, u: [1 - 2 ** -24], want: [1], why: 'u just below 1, topP 0.6' },
      ];
      for (const c of cases) {
        const rows = c.u.length;
        const n = c.logits.length;
        const x = repeat(c.logits, rows);
        const t = c.u.map(() => c.t);
        const topP = c.u.map(() => c.topP);
        const what = `${c.why}: logits [${c.logits.map((v) => v.toFixed(3))}] T=${c.t} topP=${c.topP} u=[${c.u}]`;
        expectSame(twin(x, n, t, topP, c.u), [...c.want, -7], `twin ${what}`);
        expectSame(await run(g!, x, n, t, topP, c.u), [...c.want, -7], what);
      }
    });

    it(`${version} a tiny topP (1e-6) picks the argmax, whatever u`, async () => {
      const seed = 4100;
      const rng = new Rng(seed);
      for (const n of [1, 7, 255, 257, 1000]) {
        const row = randomF32(rng, n, 3);
        const want = new Int32Array(1);
        argmaxRef(want, row, 1, n);
        const us = [0, 0.25, 0.5, 0.999999, rng.uniform()];
        const got = await run(g!, repeat(row, us.length), n, us.map(() => 1), us.map(() => 1e-6), us);
        expectSame(got, [...us.map(() => want[0]!), -7], `seed=${seed} n=${n}`);
      }
    });

    for (const n of [1, 7, 255, 257, 1000, 4099, 32000]) {
      it(`${version} random rows n=${n}, T in {0.5, 1, 2}, topP in {0.3, 0.9, 1}, u away from boundaries`, async () => {
        const seed = 4200 + n;
        const rng = new Rng(seed);
        // A trained model's distribution is peaked: wider logits at larger n keep a few hundred
        // tokens within a few temperatures of the max. Uniform logits over 32000 ids would give
        // cumulative steps of ~3e-5, finer than the margins that f32 masses can promise.
        const scale = 8 * Math.max(1, n / 1000);
        const rowsX: Float32Array[] = [];
        const t: number[] = [];
        const topP: number[] = [];
        const u: number[] = [];
        for (const temp of [0.5, 1, 2]) {
          for (const p of [0.3, 0.9, 1]) {
            let tries = 0;
            let row: Float32Array;
            let c: ReturnType<typeof contract>;
            do {
              row = randomF32(rng, n, scale);
              c = contract(row, Math.fround(temp), Math.fround(p));
              tries++;
            } while (!c.clear && tries < 50);
            expect(c.clear, `seed=${seed} n=${n} T=${temp} topP=${p}: no clear nucleus in 50 draws`).toBe(true);
            const us: number[] = [];
            for (let k = 0; k < 200 && us.length < 3; k++) {
              const v = rng.uniform();
              if (safeU(v, c.bounds)) us.push(v);
            }
            expect(us.length, `seed=${seed} n=${n} T=${temp} topP=${p}: no u away from boundaries`).toBeGreaterThan(0);
            for (const v of us) {
              rowsX.push(row);
              t.push(temp);
              topP.push(p);
              u.push(v);
            }
          }
        }
        const rows = t.length;
        const x = new Float32Array(rows * n);
        rowsX.forEach((row, r) => x.set(row, r * n));
        const want = twin(x, n, t, topP, u);
        const got = await run(g!, x, n, t, topP, u);
        for (let r = 0; r < rows; r++) {
          expect(got[r], `seed=${seed} n=${n} row ${r}: T=${t[r]} topP=${topP[r]} u=${u[r]}`).toBe(want[r]);
        }
        expect(got[rows], 'sentinel after the last row').toBe(-7);
      });
    }

    it(`${version} batch invariance: each row of a 3-row call equals the row alone`, async () => {
      const seed = 4300;
      const rng = new Rng(seed);
      const n = 4099;
      const x = randomF32(rng, 3 * n, 40);
      const t = [0.7, 0, 1.5];
      const topP = [0.9, 1, 0.5];
      const u = [rng.uniform(), rng.uniform(), rng.uniform()];
      const all = await run(g!, x, n, t, topP, u);
      for (let r = 0; r < 3; r++) {
        const one = await run(g!, x.slice(r * n, (r + 1) * n), n, [t[r]!], [topP[r]!], [u[r]!]);
        expect(all[r], `seed=${seed} row ${r}`).toBe(one[0]);
      }
    });
  }
});
