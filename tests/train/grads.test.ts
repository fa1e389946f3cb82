// Every backward twin in train/grads.ts against central finite differences.
//
// How the check avoids f32 noise: the twins store f32, so finite differences of the twins
// themselves would be noisy (a step of 1e-3 on f32 activations leaves ~1e-4 relative error in the
// difference quotient). Instead each op is re-implemented here in plain f64 (the obvious formula),
// evaluated at exactly the f32 inputs the twin sees; the scalar loss is L = sum(out * R) with R a
// fixed random cotangent, and dL/dx is taken by central differences with h = 1e-5 in f64
// (truncation ~h^2, rounding ~1e-16 / h: both far below 1e-6). The twin's backward, fed dOut = R,
// must match within relative error 1e-3 (max abs difference over the tensor / max abs FD value);
// in practice it is ~1e-6, limited by the twin's f32 outputs. A second assertion ties each f64
// re-implementation to the forward twin (1e-5), so the FD is of the function the engine computes.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { attentionRef } from '../../kernels/attention.ref.js';
import { embeddingRef } from '../../kernels/embedding.ref.js';
import { linearRef } from '../../kernels/linear.ref.js';
import { rmsnormRef } from '../../kernels/rmsnorm.ref.js';
import { buildRopeTables, ropeRef } from '../../kernels/rope.ref.js';
import { logSoftmaxRef } from '../../kernels/softmax.ref.js';
import { swigluGuRef, swigluRef } from '../../kernels/swiglu.ref.js';
import {
  attentionTrainBackward,
  attentionTrainForward,
  crossEntropy,
  embeddingBackward,
  linearBackward,
  rmsnormBackward,
  ropeBackward,
  swigluBackward,
  swigluGuBackward,
  targetLogprobs,
  targetLogprobsBackward,
} from '../../train/grads.js';

const TOL = 1e-3;
const FWD_TOL = 1e-5;
const H = 1e-5;
const SEED = 20240611;

function rand(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.uniform() * 2 - 1) * scale;
  return a;
}

/** Central differences of f at x (f64), every element. */
function fd(f: (x: Float64Array) => number, x0: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(x0);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = v + H;
    const up = f(x);
    x[i] = v - H;
    const dn = f(x);
    x[i] = v;
    g[i] = (up - dn) / (2 * H);
  }
  return g;
}

function relErr(a: ArrayLike<number>, n: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < n.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - n[i]!));
    m = Math.max(m, Math.abs(n[i]!));
  }
  return d / Math.max(m, 1e-12);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function expectGrad(name: string, analytic: ArrayLike<number>, numeric: ArrayLike<number>): void {
  const e = relErr(analytic, numeric);
  expect(e, `${name}: relative error ${e.toExponential(2)} (seed ${SEED})`).toBeLessThan(TOL);
}

function expectForward(name: string, twin: ArrayLike<number>, f64: ArrayLike<number>): void {
  const e = relErr(twin, f64);
  expect(e, `${name}: twin vs f64 forward ${e.toExponential(2)} (seed ${SEED})`).toBeLessThan(FWD_TOL);
}

// ---- f64 re-implementations (the obvious formulas) ----

function rmsnorm64(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, dim: number, eps: number): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i]! ** 2;
    const s = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[r * dim + i] = w[i]! * x[r * dim + i]! * s;
  }
  return out;
}

function linear64(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, rows: number, K: number, O: number): Float64Array {
  const out = new Float64Array(rows * O);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < O; o++) {
      let s = b === null ? 0 : b[o]!;
      for (let k = 0; k < K; k++) s += x[r * K + k]! * w[o * K + k]!;
      out[r * O + o] = s;
    }
  }
  return out;
}

function rope64(x: ArrayLike<number>, pos: Int32Array, cos: Float32Array, sin: Float32Array, rows: number, nHeads: number, hd: number): Float64Array {
  const out = Float64Array.from(x);
  const half = hd / 2;
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < nHeads; h++) {
      const o = (r * nHeads + h) * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[pos[r]! * half + i]!;
        const s = sin[pos[r]! * half + i]!;
        out[o + i] = x[o + i]! * c - x[o + i + half]! * s;
        out[o + i + half] = x[o + i + half]! * c + x[o + i]! * s;
      }
    }
  }
  return out;
}

function attention64(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, T: number, nH: number, nKv: number, hd: number): Float64Array {
  const out = new Float64Array(B * T * nH * hd);
  const qDim = nH * hd;
  const kvDim = nKv * hd;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const g = Math.floor(h / (nH / nKv));
      for (let t = 0; t < T; t++) {
        const s: number[] = [];
        for (let u = 0; u <= t; u++) {
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[(b * T + t) * qDim + h * hd + i]! * k[(b * T + u) * kvDim + g * hd + i]!;
          s.push(d / Math.sqrt(hd));
        }
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const z = e.reduce((a, c) => a + c, 0);
        for (let i = 0; i < hd; i++) {
          let a = 0;
          for (let u = 0; u <= t; u++) a += (e[u]! / z) * v[(b * T + u) * kvDim + g * hd + i]!;
          out[(b * T + t) * qDim + h * hd + i] = a;
        }
      }
    }
  }
  return out;
}

const silu = (g: number): number => g / (1 + Math.exp(-g));

function logp64(logits: ArrayLike<number>, targets: Int32Array, rows: number, V: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let i = 0; i < V; i++) m = Math.max(m, logits[r * V + i]!);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(logits[r * V + i]! - m);
    out[r] = logits[r * V + targets[r]!]! - m - Math.log(s);
  }
  return out;
}

describe('backward twins vs finite differences (f64 forward, h = 1e-5, rel. error < 1e-3)', () => {
  it('embedding: scatter-add, repeated ids add up', () => {
    const rng = new Rng(SEED);
    const vocab = 7, dim = 5, rows = 6;
    const table = rand(rng, vocab * dim);
    const ids = Int32Array.from([3, 0, 3, 6, 1, 3]);
    const R = rand(rng, rows * dim);
    const out = new Float32Array(rows * dim);
    embeddingRef(out, table, ids, rows, dim);
    const f = (t: ArrayLike<number>): number => {
      let s = 0;
      for (let r = 0; r < rows; r++) for (let i = 0; i < dim; i++) s += t[ids[r]! * dim + i]! * R[r * dim + i]!;
      return s;
    };
    const g = new Float32Array(vocab * dim);
    embeddingBackward(g, R, ids, rows, dim);
    expectGrad('dTable', g, fd(f, table));
  });

  it('rmsnorm: dx (accumulated) and dw', () => {
    const rng = new Rng(SEED + 1);
    const rows = 3, dim = 7, eps = 1e-5;
    const x = rand(rng, rows * dim, 2);
    const w = rand(rng, dim);
    const R = rand(rng, rows * dim);
    const out = new Float32Array(rows * dim);
    rmsnormRef(out, x, w, rows, dim, eps);
    expectForward('rmsnorm', out, rmsnorm64(x, w, rows, dim, eps));
    const base = rand(rng, rows * dim);
    const dx = Float32Array.from(base);
    const dw = new Float32Array(dim);
    rmsnormBackward(dx, dw, R, x, w, rows, dim, eps);
    for (let i = 0; i < dx.length; i++) dx[i] = dx[i]! - base[i]!; // dx accumulates onto what was there
    expectGrad('dx', dx, fd((xx) => dot(rmsnorm64(xx, w, rows, dim, eps), R), x));
    expectGrad('dw', dw, fd((ww) => dot(rmsnorm64(x, ww, rows, dim, eps), R), w));
  });

  it('linear: dx, dW, db (sizes 5 x 7 -> 11: block remainders on every loop)', () => {
    const rng = new Rng(SEED + 2);
    const rows = 5, K = 7, O = 11;
    const x = rand(rng, rows * K);
    const W = rand(rng, O * K);
    const b = rand(rng, O);
    const R = rand(rng, rows * O);
    const out = new Float32Array(rows * O);
    linearRef(out, x, W, b, rows, K, O);
    expectForward('linear', out, linear64(x, W, b, rows, K, O));
    const dx = new Float32Array(rows * K).fill(123); // overwritten
    const dW = new Float32Array(O * K);
    const db = new Float32Array(O);
    linearBackward(dx, dW, db, R, x, W, rows, K, O);
    expectGrad('dx', dx, fd((xx) => dot(linear64(xx, W, b, rows, K, O), R), x));
    expectGrad('dW', dW, fd((ww) => dot(linear64(x, ww, b, rows, K, O), R), W));
    expectGrad('db', db, fd((bb) => dot(linear64(x, W, bb, rows, K, O), R), b));
  });

  it('rope: the inverse rotation', () => {
    const rng = new Rng(SEED + 3);
    const rows = 5, nHeads = 3, hd = 6, T = 9;
    const { cos, sin } = buildRopeTables(hd, 10000, null, T);
    const pos = Int32Array.from([0, 4, 1, 8, 3]);
    const x = rand(rng, rows * nHeads * hd);
    const R = rand(rng, x.length);
    const y = Float32Array.from(x);
    ropeRef(y, pos, cos, sin, rows, nHeads, hd);
    expectForward('rope', y, rope64(x, pos, cos, sin, rows, nHeads, hd));
    const d = Float32Array.from(R);
    ropeBackward(d, pos, cos, sin, rows, nHeads, hd);
    expectGrad('dx', d, fd((xx) => dot(rope64(xx, pos, cos, sin, rows, nHeads, hd), R), x));
  });

  it('causal attention, GQA 4/2, B 2, T 5: forward equals the KV-cache kernel; dq, dk, dv', () => {
    const rng = new Rng(SEED + 4);
    const B = 2, T = 5, nH = 4, nKv = 2, hd = 6;
    const qDim = nH * hd, kvDim = nKv * hd;
    const q = rand(rng, B * T * qDim);
    const k = rand(rng, B * T * kvDim);
    const v = rand(rng, B * T * kvDim);
    const R = rand(rng, B * T * qDim);
    const out = new Float32Array(B * T * qDim);
    const probs = new Float32Array(B * nH * T * T);
    attentionTrainForward(out, probs, q, k, v, B, T, nH, nKv, hd);
    expectForward('attention', out, attention64(q, k, v, B, T, nH, nKv, hd));
    // the engine's kernel: sequence b in slot b, cache [slots, T, kvDim] = k, v as laid out here
    const ref = new Float32Array(out.length);
    const slot = Int32Array.from({ length: B * T }, (_, r) => Math.floor(r / T));
    const pos = Int32Array.from({ length: B * T }, (_, r) => r % T);
    attentionRef(ref, q, k, v, slot, pos, B * T, nH, nKv, hd, T);
    expectForward('attention vs attentionRef', out, ref);
    const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
    attentionTrainBackward(dq, dk, dv, R, probs, q, k, v, B, T, nH, nKv, hd);
    expectGrad('dq', dq, fd((qq) => dot(attention64(qq, k, v, B, T, nH, nKv, hd), R), q));
    expectGrad('dk', dk, fd((kk) => dot(attention64(q, kk, v, B, T, nH, nKv, hd), R), k));
    expectGrad('dv', dv, fd((vv) => dot(attention64(q, k, vv, B, T, nH, nKv, hd), R), v));
  });

  it('swiglu: dgate, dup (plain and fused gate|up rows)', () => {
    const rng = new Rng(SEED + 5);
    const n = 13;
    const gate = rand(rng, n, 4);
    const up = rand(rng, n);
    const R = rand(rng, n);
    const out = new Float32Array(n);
    swigluRef(out, gate, up, n);
    const f64 = (g: ArrayLike<number>, u: ArrayLike<number>): Float64Array => Float64Array.from({ length: n }, (_, i) => silu(g[i]!) * u[i]!);
    expectForward('swiglu', out, f64(gate, up));
    const dg = new Float32Array(n), du = new Float32Array(n);
    swigluBackward(dg, du, R, gate, up, n);
    expectGrad('dgate', dg, fd((g) => dot(f64(g, up), R), gate));
    expectGrad('dup', du, fd((u) => dot(f64(gate, u), R), up));

    const rows = 3, hid = 5;
    const gu = rand(rng, rows * 2 * hid, 3);
    const R2 = rand(rng, rows * hid);
    const hb = new Float32Array(rows * hid);
    swigluGuRef(hb, gu, rows, hid);
    const fGu = (a: ArrayLike<number>): Float64Array => Float64Array.from({ length: rows * hid }, (_, j) => {
      const r = Math.floor(j / hid), i = j % hid;
      return silu(a[r * 2 * hid + i]!) * a[r * 2 * hid + hid + i]!;
    });
    expectForward('swigluGu', hb, fGu(gu));
    const dgu = new Float32Array(gu.length);
    swigluGuBackward(dgu, R2, gu, rows, hid);
    expectGrad('dgu', dgu, fd((a) => dot(fGu(a), R2), gu));
  });

  it('cross-entropy with a mask (weights 0, 1, 0.5) and target log-probs', () => {
    const rng = new Rng(SEED + 6);
    const rows = 6, V = 9;
    const logits = rand(rng, rows * V, 3);
    const targets = Int32Array.from([0, 8, 3, 3, 5, 1]);
    const mask = Float32Array.from([1, 0, 1, 0.5, 1, 0]);
    const lsm = new Float32Array(rows * V);
    logSoftmaxRef(lsm, logits, rows, V);
    const logp = new Float32Array(rows);
    targetLogprobs(logp, logits, targets, rows, V);
    expectForward('targetLogprobs', logp, Float32Array.from({ length: rows }, (_, r) => lsm[r * V + targets[r]!]!));
    const ce64 = (z: ArrayLike<number>): number => {
      const lp = logp64(z, targets, rows, V);
      let s = 0, n = 0;
      for (let r = 0; r < rows; r++) {
        s -= mask[r]! * lp[r]!;
        n += mask[r]!;
      }
      return s / n;
    };
    const dl = new Float32Array(rows * V);
    const loss = crossEntropy(dl, logits, targets, mask, rows, V);
    expect(Math.abs(loss - ce64(logits))).toBeLessThan(1e-6);
    expectGrad('dlogits (CE)', dl, fd(ce64, logits));
    for (let i = V; i < 2 * V; i++) expect(dl[i]).toBe(0); // masked row: no gradient

    const R = rand(rng, rows);
    const dl2 = new Float32Array(rows * V);
    targetLogprobsBackward(dl2, R, logits, targets, rows, V);
    expectGrad('dlogits (logp)', dl2, fd((z) => dot(logp64(z, targets, rows, V), R), logits));
  });

  it('cross-entropy with an all-zero mask is 0 with zero gradient', () => {
    const dl = new Float32Array(6).fill(7);
    expect(crossEntropy(dl, new Float32Array(6), Int32Array.from([0, 1]), new Float32Array(2), 2, 3)).toBe(0);
    expect([...dl]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
