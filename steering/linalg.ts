/**
 * Dense float64 linear algebra for the spectral analysis (DSTEER-SPEC.md section 2 step 7): the
 * singular spectrum of an n x d matrix through the eigenvalues of the smaller of its Gram matrix
 * X X^T (n x n) and its covariance X^T X (d x d), with a symmetric eigensolver written here:
 * Householder tridiagonalisation, implicit QL for the eigenvalues, inverse iteration on the
 * tridiagonal matrix plus the stored reflectors for the few eigenvectors asked for.
 *
 * Accuracy: squaring the matrix squares its condition, so singular values below about
 * 1e-8 * s_1 carry little relative accuracy; those whose squares are within rounding of zero
 * (s_i^2 <= p * eps * s_1^2, p the side of the squared matrix) are returned as exactly 0. The
 * spectral statistics look at values down to 0.01 * s_1.
 */

/** Rows per tile and columns per panel in the Gram product; a tile pair (2 x 64 x 256 f64) stays in L2. */
const TILE = 64;
const PANEL = 256;

/**
 * Adds P P^T to the lower triangle of C (p x p, row-major): C[a][b] += dot(P[a], P[b]) for b <= a
 * (a few entries above the diagonal inside diagonal tiles are written too and never read).
 * P is p x len, row-major. Tiled, with a 2 x 2 register block: four dot products share their loads.
 */
function accumulateGram(C: Float64Array, p: number, P: Float64Array, len: number): void {
  for (let a0 = 0; a0 < p; a0 += TILE) {
    const a1 = Math.min(p, a0 + TILE);
    for (let b0 = 0; b0 <= a0; b0 += TILE) {
      const b1 = Math.min(p, b0 + TILE);
      for (let a = a0; a < a1; a += 2) {
        const pairA = a + 1 < a1;
        const ra = a * len;
        const rA = pairA ? ra + len : ra;
        const bEnd = b0 === a0 ? Math.min(b1, a + 2) : b1;
        for (let b = b0; b < bEnd; b += 2) {
          const pairB = b + 1 < bEnd;
          const rb = b * len;
          const rB = pairB ? rb + len : rb;
          let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
          for (let k = 0; k < len; k++) {
            const x0 = P[ra + k]!, x1 = P[rA + k]!, y0 = P[rb + k]!, y1 = P[rB + k]!;
            s00 += x0 * y0;
            s01 += x0 * y1;
            s10 += x1 * y0;
            s11 += x1 * y1;
          }
          C[a * p + b] += s00;
          if (pairB) C[a * p + b + 1] += s01;
          if (pairA) {
            C[(a + 1) * p + b] += s10;
            if (pairB) C[(a + 1) * p + b + 1] += s11;
          }
        }
      }
    }
  }
}

/** Column means of an n x d row-major matrix. */
function columnMeans(rows: Float64Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0, o = i * d; j < d; j++) mean[j] += rows[o + j]!;
  for (let j = 0; j < d; j++) mean[j] /= n;
  return mean;
}

/** X X^T (n x n, lower triangle) of X - 1 mean^T, in column panels copied contiguously. */
function gramRows(rows: Float64Array, n: number, d: number, mean: Float64Array): Float64Array {
  const G = new Float64Array(n * n);
  const P = new Float64Array(n * PANEL);
  for (let q0 = 0; q0 < d; q0 += PANEL) {
    const len = Math.min(PANEL, d - q0);
    for (let i = 0; i < n; i++) for (let k = 0; k < len; k++) P[i * len + k] = rows[i * d + q0 + k]! - mean[q0 + k]!;
    accumulateGram(G, n, P, len);
  }
  return G;
}

/** X^T X (d x d, lower triangle) of X - 1 mean^T, in row panels copied transposed. */
function gramColumns(rows: Float64Array, n: number, d: number, mean: Float64Array): Float64Array {
  const C = new Float64Array(d * d);
  const P = new Float64Array(d * PANEL);
  for (let i0 = 0; i0 < n; i0 += PANEL) {
    const len = Math.min(PANEL, n - i0);
    for (let i = 0; i < len; i++) {
      const o = (i0 + i) * d;
      for (let j = 0; j < d; j++) P[j * len + i] = rows[o + j]! - mean[j]!;
    }
    accumulateGram(C, d, P, len);
  }
  return C;
}

/** A symmetric matrix reduced to tridiagonal form T = Q^T A Q, Q = H_0 H_1 ... H_{n-3}. */
interface Tridiagonal {
  n: number;
  diag: Float64Array;
  /** off[k] = T[k+1][k]; length n (the last entry is 0). */
  off: Float64Array;
  /** Reflector k (H_k = I - beta_k v v^T) is stored in column k of `house`, rows k+1..n-1. */
  house: Float64Array;
  beta: Float64Array;
}

/**
 * Householder tridiagonalisation of the symmetric matrix whose lower triangle is in A (n x n,
 * row-major; overwritten). Each step's rank-two update is applied in the same sweep over the rows
 * that computes the next step's matrix-vector product, so the matrix is read once per step.
 */
function tridiagonalise(A: Float64Array, n: number): Tridiagonal {
  const diag = new Float64Array(n);
  const off = new Float64Array(n);
  const beta = new Float64Array(n);
  let vPrev = new Float64Array(n); // the pending rank-two update A -= v w^T + w v^T
  let wPrev = new Float64Array(n);
  let v = new Float64Array(n);
  let p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // 1. finish column k with the pending update
    for (let r = k; r < n; r++) A[r * n + k] -= vPrev[r]! * wPrev[k]! + wPrev[r]! * vPrev[k]!;
    diag[k] = A[k * n + k]!;
    // 2. the reflector that zeroes column k below the subdiagonal
    let tail = 0;
    for (let r = k + 2; r < n; r++) tail += A[r * n + k]! ** 2;
    const x0 = A[(k + 1) * n + k]!;
    v.fill(0);
    let b = 0;
    if (tail === 0) {
      off[k] = x0;
    } else {
      const alpha = -Math.sign(x0 || 1) * Math.sqrt(x0 * x0 + tail);
      v[k + 1] = x0 - alpha;
      for (let r = k + 2; r < n; r++) v[r] = A[r * n + k]!;
      b = 2 / (v[k + 1]! ** 2 + tail);
      off[k] = alpha;
    }
    beta[k] = b;
    for (let r = k + 1; r < n; r++) A[r * n + k] = v[r]!; // store the reflector
    // 3. one sweep: apply the pending update to rows k+1.., and accumulate p = A22 v
    p.fill(0);
    for (let r = k + 1; r < n; r++) {
      const o = r * n;
      const vr = vPrev[r]!, wr = wPrev[r]!, vkr = v[r]!;
      let pr = 0;
      for (let c = k + 1; c < r; c++) {
        const a = A[o + c]! - (vr * wPrev[c]! + wr * vPrev[c]!);
        A[o + c] = a;
        pr += a * v[c]!;
        p[c] += a * vkr;
      }
      const a = A[o + r]! - 2 * vr * wr;
      A[o + r] = a;
      p[r] += pr + a * vkr;
    }
    // 4. w = beta p - (beta^2 / 2)(p . v) v, the next pending update
    let pv = 0;
    for (let r = k + 1; r < n; r++) pv += p[r]! * v[r]!;
    const K = (b * b * pv) / 2;
    [vPrev, v] = [v, vPrev];
    [wPrev, p] = [p, wPrev];
    for (let r = 0; r < n; r++) wPrev[r] = b * wPrev[r]! - K * vPrev[r]!;
  }
  // the last 2 x 2 block (or 1 x 1) gets the final pending update
  for (let r = Math.max(0, n - 2); r < n; r++) {
    for (let c = Math.max(0, n - 2); c <= r; c++) A[r * n + c] -= vPrev[r]! * wPrev[c]! + wPrev[r]! * vPrev[c]!;
  }
  if (n >= 2) {
    diag[n - 2] = A[(n - 2) * n + n - 2]!;
    off[n - 2] = A[(n - 1) * n + n - 2]!;
  }
  if (n >= 1) diag[n - 1] = A[(n - 1) * n + n - 1]!;
  return { n, diag, off, house: A, beta };
}

/** Eigenvalues of a symmetric tridiagonal matrix by implicit QL with Wilkinson shifts (unsorted). */
function tridiagonalEigenvalues(diag: Float64Array, off: Float64Array): Float64Array {
  const n = diag.length;
  const d = Float64Array.from(diag);
  const e = Float64Array.from(off);
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (iter++ === 100) throw new Error(`tridiagonalEigenvalues: no convergence at index ${l} of ${n}`);
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d;
}

/** Deterministic start vectors for inverse iteration (a fixed LCG; any vector not orthogonal to the answer works). */
function startVector(n: number, seed: number): Float64Array {
  const x = new Float64Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 4294967296 - 0.5;
  }
  return x;
}

/**
 * Unit eigenvector of the tridiagonal matrix for eigenvalue `lambda`, by inverse iteration with an
 * LU factorisation with partial pivoting (as LAPACK's dgttrf/dgtts2); vectors in `against` (earlier
 * eigenvectors of nearby eigenvalues) are projected out each round so a cluster gives an orthonormal set.
 */
function tridiagonalEigenvector(t: Tridiagonal, lambda: number, seed: number, against: Float64Array[]): Float64Array {
  const n = t.n;
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(t.diag[i]!) + Math.abs(t.off[i]!) + (i > 0 ? Math.abs(t.off[i - 1]!) : 0));
  const tiny = Math.max(norm, Number.MIN_VALUE) * Number.EPSILON;
  const d = new Float64Array(n);
  const dl = new Float64Array(n);
  const du = new Float64Array(n);
  const du2 = new Float64Array(n);
  const swap = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = t.diag[i]! - lambda;
    dl[i] = t.off[i]!;
    du[i] = t.off[i]!;
  }
  for (let i = 0; i < n - 1; i++) {
    if (Math.abs(d[i]!) >= Math.abs(dl[i]!)) {
      if (d[i] === 0) d[i] = tiny;
      const fact = dl[i]! / d[i]!;
      dl[i] = fact;
      d[i + 1] -= fact * du[i]!;
    } else {
      const fact = d[i]! / dl[i]!;
      d[i] = dl[i]!;
      dl[i] = fact;
      const temp = du[i]!;
      du[i] = d[i + 1]!;
      d[i + 1] = temp - fact * d[i + 1]!;
      if (i < n - 2) {
        du2[i] = du[i + 1]!;
        du[i + 1] = -fact * du[i + 1]!;
      }
      swap[i] = 1;
    }
  }
  for (let i = 0; i < n; i++) if (Math.abs(d[i]!) < tiny) d[i] = d[i]! < 0 ? -tiny : tiny;
  let x = startVector(n, seed);
  for (let round = 0; round < 4; round++) {
    for (const u of against) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += u[i]! * x[i]!;
      for (let i = 0; i < n; i++) x[i] -= dot * u[i]!;
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i]! * x[i]!;
    s = Math.sqrt(s) || 1;
    for (let i = 0; i < n; i++) x[i] /= s;
    if (round === 3) break;
    // solve (T - lambda I) y = x with the factorisation
    for (let i = 0; i < n - 1; i++) {
      if (!swap[i]) x[i + 1] -= dl[i]! * x[i]!;
      else {
        const temp = x[i]!;
        x[i] = x[i + 1]!;
        x[i + 1] = temp - dl[i]! * x[i]!;
      }
    }
    x[n - 1] /= d[n - 1]!;
    if (n > 1) x[n - 2] = (x[n - 2]! - du[n - 2]! * x[n - 1]!) / d[n - 2]!;
    for (let i = n - 3; i >= 0; i--) x[i] = (x[i]! - du[i]! * x[i + 1]! - du2[i]! * x[i + 2]!) / d[i]!;
    // rescale to avoid overflow; the next round normalises
    let big = 0;
    for (let i = 0; i < n; i++) big = Math.max(big, Math.abs(x[i]!));
    if (!(big > 0) || !Number.isFinite(big)) x = startVector(n, seed + 7919 * (round + 1));
    else for (let i = 0; i < n; i++) x[i] /= big;
  }
  return x;
}

/** Q y for the reflectors of `t`: applies H_{n-3}, ..., H_0 in turn. */
function backTransform(t: Tridiagonal, y: Float64Array): Float64Array {
  const n = t.n;
  const x = Float64Array.from(y);
  for (let k = n - 3; k >= 0; k--) {
    const b = t.beta[k]!;
    if (b === 0) continue;
    let dot = 0;
    for (let r = k + 1; r < n; r++) dot += t.house[r * n + k]! * x[r]!;
    dot *= b;
    for (let r = k + 1; r < n; r++) x[r] -= dot * t.house[r * n + k]!;
  }
  return x;
}

/** Fixes a sign: the entry of largest magnitude is made positive (the sign of a singular vector is arbitrary). */
function canonicalSign(v: Float64Array): Float64Array {
  let at = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i]!) > Math.abs(v[at]!)) at = i;
  if (v[at]! < 0) for (let i = 0; i < v.length; i++) v[i] = -v[i]!;
  return v;
}

/**
 * Eigenvalues (descending) and the first `vectors` unit eigenvectors of the symmetric matrix whose
 * lower triangle is in A (p x p, row-major; A is overwritten).
 */
function symmetricEigen(A: Float64Array, p: number, vectors: number): { values: Float64Array; vectors: Float64Array[] } {
  const t = tridiagonalise(A, p);
  const values = tridiagonalEigenvalues(t.diag, t.off).sort().reverse();
  let scale = 0;
  for (let i = 0; i < p; i++) scale = Math.max(scale, Math.abs(values[i]!));
  const out: Float64Array[] = [];
  const ys: Float64Array[] = [];
  for (let i = 0; i < Math.min(vectors, p); i++) {
    // earlier eigenvectors whose eigenvalues are close enough for inverse iteration to mix them
    const near = ys.filter((_, j) => Math.abs(values[j]! - values[i]!) <= 1e-7 * scale);
    const y = tridiagonalEigenvector(t, values[i]!, i, near);
    ys.push(y);
    out.push(backTransform(t, y));
  }
  return { values, vectors: out };
}

/**
 * Singular values and leading right-singular vectors of an n x d matrix, in float64.
 *
 * `rows` is n x d row-major. With `centre`, the column means are subtracted first (the input is not
 * changed). Works on the smaller of X X^T (n x n) and X^T X (d x d). Returns all min(n, d) singular
 * values, descending, and the first `opts.vectors` (default 0) unit right-singular vectors, each of
 * length d, with the sign fixed so that its largest-magnitude entry is positive. A vector whose
 * singular value is zero is not determined by X; on the Gram side it comes back as all zeros.
 *
 * @example
 * // X = [[3, 0], [0, 4], [0, 0]]: singular values 4 and 3, first right vector e_2
 * const r = svdSpectrum(new Float64Array([3, 0, 0, 4, 0, 0]), 3, 2, { centre: false, vectors: 1 });
 * assert(Math.abs(r.singularValues[0] - 4) < 1e-12 && Math.abs(r.singularValues[1] - 3) < 1e-12);
 * assert(Math.abs(r.rightVectors[0][1] - 1) < 1e-12 && Math.abs(r.rightVectors[0][0]) < 1e-12);
 */
export function svdSpectrum(
  rows: Float64Array,
  n: number,
  d: number,
  opts: { centre: boolean; vectors?: number },
): { singularValues: Float64Array; rightVectors: Float64Array[] } {
  if (!(Number.isInteger(n) && Number.isInteger(d) && n >= 1 && d >= 1)) throw new Error(`svdSpectrum: n and d must be positive integers (got ${n}, ${d})`);
  if (rows.length !== n * d) throw new Error(`svdSpectrum: rows has ${rows.length} values, expected n * d = ${n * d}`);
  const want = Math.max(0, Math.min(opts.vectors ?? 0, Math.min(n, d)));
  const mean = opts.centre ? columnMeans(rows, n, d) : new Float64Array(d);
  const gramSide = n <= d;
  const p = gramSide ? n : d;
  const A = gramSide ? gramRows(rows, n, d, mean) : gramColumns(rows, n, d, mean);
  const eig = symmetricEigen(A, p, want);
  // Eigenvalues within rounding of zero (|l| <= p * eps * l_max) are zero: their square roots,
  // up to ~sqrt(p * eps) * s_1, would be noise that still moves sums such as the spectral entropy.
  const floor = p * Number.EPSILON * Math.max(0, eig.values[0]!);
  const singularValues = eig.values.map((l) => (l > floor ? Math.sqrt(l) : 0));
  if (!gramSide) return { singularValues, rightVectors: eig.vectors.map(canonicalSign) };
  // v = X^T u / |X^T u|: the right vector belonging to the left (Gram) eigenvector u
  const rightVectors = eig.vectors.map((u) => {
    const v = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const ui = u[i]!;
      if (ui === 0) continue;
      for (let j = 0, o = i * d; j < d; j++) v[j] += ui * (rows[o + j]! - mean[j]!);
    }
    let s = 0;
    for (let j = 0; j < d; j++) s += v[j]! * v[j]!;
    s = Math.sqrt(s);
    if (s > 0) for (let j = 0; j < d; j++) v[j] /= s;
    return canonicalSign(v);
  });
  return { singularValues, rightVectors };
}
