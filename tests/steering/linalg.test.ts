import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { svdSpectrum } from '../../steering/linalg.js';

/**
 * Oracle: one-sided Jacobi SVD (Hestenes) on the columns of X (n x d), naive and slow. Rotating
 * column pairs until all are orthogonal leaves X V = U S; the column norms are the singular values
 * and V's columns the right vectors. Needs n >= d, so callers pass X^T when d > n (same values;
 * the right vectors of X are then the left vectors of X^T, which we do not need from it there).
 */
function jacobiSvd(X: number[][]): { s: number[]; V: number[][] } {
  const n = X.length;
  const d = X[0]!.length;
  const A = X.map((r) => [...r]);
  const V = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        let a = 0, b = 0, g = 0;
        for (let i = 0; i < n; i++) {
          a += A[i]![p]! ** 2;
          b += A[i]![q]! ** 2;
          g += A[i]![p]! * A[i]![q]!;
        }
        if (Math.abs(g) <= 1e-15 * Math.sqrt(a * b)) continue;
        off = Math.max(off, Math.abs(g) / Math.sqrt(a * b));
        const zeta = (b - a) / (2 * g);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const M of [A, V]) {
          for (const row of M) {
            const x = row[p]!, y = row[q]!;
            row[p] = c * x - s * y;
            row[q] = s * x + c * y;
          }
        }
      }
    }
    if (off < 1e-15) break;
  }
  const norms = Array.from({ length: d }, (_, j) => Math.sqrt(A.reduce((acc, r) => acc + r[j]! ** 2, 0)));
  const order = norms.map((_, j) => j).sort((x, y) => norms[y]! - norms[x]!);
  return { s: order.map((j) => norms[j]!), V: order.map((j) => V.map((r) => r[j]!)) };
}

/** A standard normal draw (Box-Muller). */
function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.uniform())) * Math.cos(2 * Math.PI * rng.uniform());
}

function randomMatrix(rng: Rng, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => normal(rng)));
}

const flat = (X: number[][]) => Float64Array.from(X.flat());
const transpose = (X: number[][]) => X[0]!.map((_, j) => X.map((r) => r[j]!));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/**
 * Tolerance on squared singular values, relative to s_1^2: 1e-11. The eigensolver works on X^T X
 * (or X X^T), whose eigenvalues carry absolute error ~ eps * s_1^2, so a singular value that is
 * exactly 0 comes back as up to ~sqrt(eps) * s_1; comparing squares states the real guarantee.
 */
const TOL = 1e-11;
const close = (s: number, o: number, s1: number) => Math.abs(s * s - o * o) <= TOL * s1 * s1;

describe('svdSpectrum against a one-sided Jacobi SVD', () => {
  const shapes: [number, number][] = [[1, 1], [1, 5], [5, 1], [2, 2], [3, 7], [7, 3], [13, 13], [17, 40], [40, 17], [70, 9], [9, 70], [131, 67]];
  for (const [n, d] of shapes) {
    for (const centre of [false, true]) {
      it(`n=${n} d=${d} centre=${centre}`, () => {
        const rng = new Rng(n * 1000 + d + (centre ? 7 : 0));
        const X = randomMatrix(rng, n, d).map((r, i) => r.map((x, j) => x + (centre ? 0.5 * (j % 3) + 0.01 * i : 0)));
        const Xc = centre ? X.map((r) => r.map((x, j) => x - X.reduce((a, q) => a + q[j]!, 0) / n)) : X;
        const oracle = n >= d ? jacobiSvd(Xc) : jacobiSvd(transpose(Xc));
        const k = Math.min(n, d);
        const want = Math.min(k, 3);
        const r = svdSpectrum(flat(X), n, d, { centre, vectors: want });
        expect(r.singularValues.length).toBe(k);
        const s1 = oracle.s[0]!;
        for (let i = 0; i < k; i++) expect(close(r.singularValues[i]!, oracle.s[i]!, s1), `s_${i}: ${r.singularValues[i]} vs ${oracle.s[i]}`).toBe(true);
        for (let i = 1; i < k; i++) expect(r.singularValues[i]!).toBeLessThanOrEqual(r.singularValues[i - 1]!);
        // each right vector v_i satisfies |X v_i| = s_i and X^T X v_i = s_i^2 v_i
        expect(r.rightVectors.length).toBe(want);
        for (let i = 0; i < want; i++) {
          const v = r.rightVectors[i]!;
          expect(v.length).toBe(d);
          const Xv = Xc.map((row) => dot(row, v));
          const XtXv = Array.from({ length: d }, (_, j) => Xc.reduce((a, row, q) => a + row[j]! * Xv[q]!, 0));
          const si2 = oracle.s[i]! ** 2;
          if (oracle.s[i]! > 1e-6 * s1) {
            for (let j = 0; j < d; j++) expect(Math.abs(XtXv[j]! - si2 * v[j]!)).toBeLessThan(1e-9 * s1 * s1);
          }
          if (n >= d && i + 1 < k && oracle.s[i]! - oracle.s[i + 1]! > 1e-3 * s1) {
            // a simple singular value: the vector matches the oracle's up to sign
            expect(Math.abs(Math.abs(dot(v, oracle.V[i]!)) - 1)).toBeLessThan(1e-8);
          }
        }
        for (let i = 0; i < want; i++) {
          for (let j = 0; j < want; j++) {
            if (oracle.s[Math.max(i, j)]! <= 1e-6 * s1) continue;
            expect(Math.abs(dot(r.rightVectors[i]!, r.rightVectors[j]!) - (i === j ? 1 : 0))).toBeLessThan(1e-9);
          }
        }
      });
    }
  }

  it('handles a repeated singular value with an orthonormal pair of vectors', () => {
    // X = diag(5, 5, 1) padded with a zero row: s = 5, 5, 1
    const X = [[5, 0, 0], [0, 5, 0], [0, 0, 1], [0, 0, 0]];
    const r = svdSpectrum(flat(X), 4, 3, { centre: false, vectors: 3 });
    expect([...r.singularValues].map((x) => +x.toFixed(12))).toEqual([5, 5, 1]);
    const [a, b, c] = r.rightVectors as [Float64Array, Float64Array, Float64Array];
    expect(Math.abs(dot(a, b))).toBeLessThan(1e-12);
    expect(Math.abs(a[2]!) + Math.abs(b[2]!)).toBeLessThan(1e-12);
    expect(Math.abs(c[2]!)).toBeCloseTo(1, 12);
  });

  it('rank one plus small noise: s2/s1 near the noise level and v1 along the planted direction', () => {
    const rng = new Rng(5);
    const n = 300, d = 120;
    const u = Array.from({ length: d }, () => normal(rng));
    const un = Math.hypot(...u);
    const dir = u.map((x) => x / un);
    const X = Array.from({ length: n }, () => {
      const a = 3 + normal(rng);
      return dir.map((x) => a * x + 0.01 * normal(rng));
    });
    for (const [rows, cols, M] of [[n, d, X], [d, n, transpose(X)]] as const) {
      const r = svdSpectrum(flat(M as number[][]), rows, cols, { centre: false, vectors: 1 });
      const oracle = rows >= cols ? jacobiSvd(M as number[][]) : jacobiSvd(transpose(M as number[][]));
      for (let i = 0; i < Math.min(rows, cols); i++) expect(close(r.singularValues[i]!, oracle.s[i]!, oracle.s[0]!)).toBe(true);
      expect(r.singularValues[1]! / r.singularValues[0]!).toBeLessThan(0.01);
      if (rows === n) expect(Math.abs(dot(r.rightVectors[0]!, dir))).toBeGreaterThan(0.9999);
    }
  });

  it('refuses a length that does not match n x d', () => {
    expect(() => svdSpectrum(new Float64Array(5), 2, 3, { centre: false })).toThrow(/n \* d = 6/);
  });
});
