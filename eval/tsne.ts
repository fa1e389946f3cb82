/**
 * t-SNE (van der Maaten and Hinton 2008; Barnes-Hut: van der Maaten 2014) for the AQI's 3-D
 * reductions (DSTEER-SPEC.md section 5), in f64, seeded and deterministic.
 *
 * Conventions follow scikit-learn's `TSNE` (the library of the authors' Python scripts), so the
 * same settings mean the same thing:
 * - input affinities from squared Euclidean distances; conditional P_{j|i} by a binary search on
 *   the Gaussian precision to entropy log(perplexity) (natural log, 100 steps, tolerance 1e-5);
 *   Barnes-Hut uses the min(n - 1, floor(3 perplexity + 1)) nearest neighbours, exact uses all;
 *   P = (P_cond + P_cond^T) / sum;
 * - output kernel Student-t with `dof` = max(dims - 1, 1) degrees of freedom (2 for 3-D):
 *   w = (1 + d^2 / dof)^(-(dof + 1) / 2), q = w / sum(w);
 * - PCA initialisation scaled so the first coordinate has std 1e-4 (signs fixed: each component's
 *   largest-magnitude loading is positive);
 * - 250 iterations of early exaggeration 12 with momentum 0.5, then momentum 0.8; learning rate
 *   max(n / 12 / 4, 50); per-coordinate gains (+0.2 / x0.8, floor 0.01). scikit-learn's early stop
 *   on a tiny gradient norm is not used: every run does all its iterations.
 *
 * The repulsive forces come from an octree (Barnes-Hut, opening angle `theta`, default 0.5); with
 * theta = 0 every cell is opened down to single points and the forces are exact. `tsneExact` is
 * the slow, obvious twin (dense P, O(n^2) gradient) the tests compare against.
 */
import { DsteerError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import type { PointSet } from './cluster-indices.js';

export interface TsneOptions {
  /** Output dimensions (default 3; the octree needs 3, other values use exact forces). */
  dims?: number;
  perplexity: number;
  /** Total iterations, early exaggeration included (default 500). */
  iterations?: number;
  /** Seed of the PCA initialisation's start vectors (default 42). */
  seed?: number;
  /** Barnes-Hut opening angle (default 0.5); 0 = exact forces through the tree. */
  theta?: number;
  /** Student-t degrees of freedom (default max(dims - 1, 1), scikit-learn's choice). */
  dof?: number;
}

/** A sparse symmetric joint-probability matrix in CSR form. */
export interface SparseP {
  n: number;
  rowPtr: Int32Array;
  col: Int32Array;
  val: Float64Array;
}

const EXAGGERATION = 12;
const EXPLORATION_ITERS = 250;

function checkInput(p: PointSet, o: TsneOptions): void {
  if (p.n < 3) throw new DsteerError(`t-SNE: needs at least 3 points (got ${p.n})`);
  if (p.data.length !== p.n * p.d) throw new DsteerError(`t-SNE: ${p.data.length} values for ${p.n} points of dimension ${p.d}`);
  if (!(o.perplexity > 0) || o.perplexity >= p.n) throw new DsteerError(`t-SNE: perplexity ${o.perplexity} must be in (0, ${p.n}) for ${p.n} points`);
}

/** Squared distances from point i to every point (f64). */
function distRow(p: PointSet, i: number, out: Float64Array): void {
  const { data, n, d } = p;
  const o = i * d;
  for (let j = 0; j < n; j++) {
    let s = 0;
    const q = j * d;
    for (let t = 0; t < d; t++) {
      const v = data[o + t]! - data[q + t]!;
      s += v * v;
    }
    out[j] = s;
  }
}

/** Conditional P_{j|i} over the given squared distances (binary search on the precision). */
function conditional(dist: Float64Array, k: number, perplexity: number, out: Float64Array): void {
  const target = Math.log(perplexity);
  let beta = 1;
  let lo = -Infinity;
  let hi = Infinity;
  for (let step = 0; step < 100; step++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      out[j] = Math.exp(-dist[j]! * beta);
      sum += out[j]!;
    }
    if (sum === 0) sum = 1e-8;
    let sumDP = 0;
    for (let j = 0; j < k; j++) {
      out[j]! /= sum;
      sumDP += dist[j]! * out[j]!;
    }
    const h = Math.log(sum) + beta * sumDP;
    const diff = h - target;
    if (Math.abs(diff) <= 1e-5) break;
    if (diff > 0) {
      lo = beta;
      beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
    }
  }
}

/** The k-th smallest value (0-based) of `a`, which is reordered (quickselect). */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** The k nearest neighbours of every point (self excluded), by squared distance, nearest first (ties by index). */
function nearest(p: PointSet, k: number): { idx: Int32Array; dist: Float64Array } {
  const n = p.n;
  const idx = new Int32Array(n * k);
  const dist = new Float64Array(n * k);
  const row = new Float64Array(n);
  const scratch = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    distRow(p, i, row);
    let m = 0;
    for (let j = 0; j < n; j++) if (j !== i) scratch[m++] = row[j]!;
    const kth = kthSmallest(scratch, k - 1);
    const pick: number[] = [];
    for (let j = 0; j < n; j++) if (j !== i && row[j]! < kth) pick.push(j);
    for (let j = 0; j < n && pick.length < k; j++) if (j !== i && row[j]! === kth) pick.push(j);
    pick.sort((a, b) => row[a]! - row[b]! || a - b);
    for (let t = 0; t < k; t++) {
      idx[i * k + t] = pick[t]!;
      dist[i * k + t] = row[pick[t]!]!;
    }
  }
  return { idx, dist };
}

/**
 * The joint probabilities t-SNE fits: conditional affinities over the `k` nearest neighbours of each
 * point (all others when k = n - 1), symmetrised and normalised to sum 1.
 * @example
 * const P = jointProbabilities({ data: [0, 1, 2, 10], n: 4, d: 1 }, 2, 3);
 * let s = 0; for (const v of P.val) s += v;
 * assert(Math.abs(s - 1) < 1e-12 && P.rowPtr[4] === P.val.length);
 */
export function jointProbabilities(p: PointSet, perplexity: number, k: number): SparseP {
  const n = p.n;
  const { idx, dist } = nearest(p, k);
  const cond = new Float64Array(n * k);
  const tmp = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    conditional(dist.subarray(i * k, (i + 1) * k), k, perplexity, tmp);
    cond.set(tmp, i * k);
  }
  // symmetrise: entry (i, j) = cond(i -> j) + cond(j -> i); both directions bucketed by row
  const cnt = new Int32Array(n + 1);
  for (let e = 0; e < n * k; e++) {
    cnt[Math.floor(e / k) + 1]++;
    cnt[idx[e]! + 1]++;
  }
  for (let i = 0; i < n; i++) cnt[i + 1] += cnt[i]!;
  const fill = cnt.slice(0, n);
  const bc = new Int32Array(2 * n * k);
  const bv = new Float64Array(2 * n * k);
  for (let e = 0; e < n * k; e++) {
    const i = Math.floor(e / k);
    const j = idx[e]!;
    bc[fill[i]!] = j;
    bv[fill[i]!++] = cond[e]!;
    bc[fill[j]!] = i;
    bv[fill[j]!++] = cond[e]!;
  }
  const rowPtr = new Int32Array(n + 1);
  const colList: number[] = [];
  const valList: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: cnt[i + 1]! - cnt[i]! }, (_, t) => cnt[i]! + t).sort((x, y) => bc[x]! - bc[y]!);
    let last = -1;
    for (const e of order) {
      if (bc[e] === last) valList[valList.length - 1]! += bv[e]!;
      else {
        colList.push(bc[e]!);
        valList.push(bv[e]!);
        last = bc[e]!;
      }
      total += bv[e]!;
    }
    rowPtr[i + 1] = colList.length;
  }
  const col = Int32Array.from(colList);
  const val = Float64Array.from(valList);
  const denom = Math.max(total, Number.EPSILON);
  for (let t = 0; t < val.length; t++) val[t]! /= denom;
  return { n, rowPtr, col, val };
}

/**
 * The top principal components' scores of the centred points, [n, dims] row-major, by subspace
 * iteration from seeded start vectors (signs fixed: each component's largest-magnitude loading is
 * positive).
 * @example
 * // points on a line along (3, 4): the first score is the signed position along it
 * const s = pcaScores({ data: [0, 0, 3, 4, 6, 8, 9, 12], n: 4, d: 2 }, 1, 1);
 * assert(Math.abs(s[3] - s[0] - 15) < 1e-9);
 */
export function pcaScores(p: PointSet, dims: number, seed: number): Float64Array {
  const { data, n, d } = p;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] += data[i * d + t]! / n;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) x[i * d + t] = data[i * d + t]! - mean[t]!;
  const k = Math.min(dims, d);
  const rng = new Rng(seed);
  let v = new Float64Array(d * k); // k column vectors, stored v[c * d + t]
  for (let t = 0; t < v.length; t++) v[t] = rng.uniform() - 0.5;
  orthonormalise(v, d, k);
  const xv = new Float64Array(n);
  for (let it = 0; it < 1000; it++) {
    const next = new Float64Array(d * k);
    for (let c = 0; c < k; c++) {
      // next_c = X^T (X v_c)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += x[i * d + t]! * v[c * d + t]!;
        xv[i] = s;
      }
      for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) next[c * d + t] += x[i * d + t]! * xv[i]!;
    }
    orthonormalise(next, d, k);
    // converged when every vector moved by less than 1e-12 (up to sign), measured directly
    let change = 0;
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let t = 0; t < d; t++) dot += next[c * d + t]! * v[c * d + t]!;
      const sign = dot < 0 ? -1 : 1;
      let diff = 0;
      for (let t = 0; t < d; t++) diff += (next[c * d + t]! - sign * v[c * d + t]!) ** 2;
      change = Math.max(change, diff);
    }
    v = next;
    if (change < 1e-24) break;
  }
  for (let c = 0; c < k; c++) {
    let big = 0;
    for (let t = 0; t < d; t++) if (Math.abs(v[c * d + t]!) > Math.abs(big)) big = v[c * d + t]!;
    if (big < 0) for (let t = 0; t < d; t++) v[c * d + t] = -v[c * d + t]!;
  }
  const out = new Float64Array(n * dims);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += x[i * d + t]! * v[c * d + t]!;
      out[i * dims + c] = s;
    }
  }
  return out;
}

/** Modified Gram-Schmidt on k column vectors of length d; a vanishing column is re-seeded by an axis. */
function orthonormalise(v: Float64Array, d: number, k: number): void {
  for (let c = 0; c < k; c++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let e = 0; e < c; e++) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += v[c * d + t]! * v[e * d + t]!;
        for (let t = 0; t < d; t++) v[c * d + t] -= dot * v[e * d + t]!;
      }
    }
    let norm = 0;
    for (let t = 0; t < d; t++) norm += v[c * d + t]! ** 2;
    norm = Math.sqrt(norm);
    if (norm < 1e-300) {
      for (let t = 0; t < d; t++) v[c * d + t] = t === c % d ? 1 : 0;
      c--; // orthogonalise the replacement again
      continue;
    }
    for (let t = 0; t < d; t++) v[c * d + t]! /= norm;
  }
}

/** The octree (3-D) over the current embedding: flat arrays, rebuilt every iteration. */
class Octree {
  cx = new Float64Array(0);
  cy = new Float64Array(0);
  cz = new Float64Array(0);
  half = new Float64Array(0);
  mass = new Int32Array(0);
  sx = new Float64Array(0);
  sy = new Float64Array(0);
  sz = new Float64Array(0);
  /** -1 = no children (a leaf); else the first of 8 consecutive children. */
  child = new Int32Array(0);
  /** A leaf's point (the first one; more only when they coincide). */
  point = new Int32Array(0);
  leafOf: Int32Array;
  /** The next point of the same leaf (-1 = none): coincident points chain here. */
  nextPt: Int32Array;
  size = 0;

  constructor(readonly n: number) {
    this.leafOf = new Int32Array(n);
    this.nextPt = new Int32Array(n);
    this.grow(Math.max(64, 4 * n));
  }

  private grow(cap: number): void {
    const f = <T extends Float64Array | Int32Array>(a: T, make: (c: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    const F = (c: number) => new Float64Array(c);
    const I = (c: number) => new Int32Array(c);
    this.cx = f(this.cx, F);
    this.cy = f(this.cy, F);
    this.cz = f(this.cz, F);
    this.half = f(this.half, F);
    this.sx = f(this.sx, F);
    this.sy = f(this.sy, F);
    this.sz = f(this.sz, F);
    this.mass = f(this.mass, I);
    this.child = f(this.child, I);
    this.point = f(this.point, I);
  }

  private node(x: number, y: number, z: number, h: number): number {
    if (this.size === this.cx.length) this.grow(this.cx.length * 2);
    const k = this.size++;
    this.cx[k] = x;
    this.cy[k] = y;
    this.cz[k] = z;
    this.half[k] = h;
    this.mass[k] = 0;
    this.sx[k] = this.sy[k] = this.sz[k] = 0;
    this.child[k] = -1;
    this.point[k] = -1;
    return k;
  }

  build(y: Float64Array): void {
    const n = this.n;
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        lo[c] = Math.min(lo[c]!, y[i * 3 + c]!);
        hi[c] = Math.max(hi[c]!, y[i * 3 + c]!);
      }
    }
    const h = Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) / 2 + 1e-5;
    this.size = 0;
    this.node((lo[0]! + hi[0]!) / 2, (lo[1]! + hi[1]!) / 2, (lo[2]! + hi[2]!) / 2, h);
    for (let i = 0; i < n; i++) this.insert(y, i);
  }

  private insert(y: Float64Array, i: number): void {
    const px = y[i * 3]!;
    const py = y[i * 3 + 1]!;
    const pz = y[i * 3 + 2]!;
    let k = 0;
    for (let depth = 0; ; depth++) {
      this.mass[k]++;
      this.sx[k] += px;
      this.sy[k] += py;
      this.sz[k] += pz;
      if (this.child[k] === -1) {
        if (this.point[k] === -1) {
          this.point[k] = i;
          this.nextPt[i] = -1;
          this.leafOf[i] = k;
          return;
        }
        const j = this.point[k]!;
        const same = y[j * 3] === px && y[j * 3 + 1] === py && y[j * 3 + 2] === pz;
        if (same || depth > 48) {
          // coincident (or indistinguishably close) points share a leaf
          this.nextPt[i] = this.nextPt[j]!;
          this.nextPt[j] = i;
          this.leafOf[i] = k;
          return;
        }
        // split: push the resident point one level down
        const first = this.size;
        const hh = this.half[k]! / 2;
        for (let o = 0; o < 8; o++) this.node(this.cx[k]! + (o & 1 ? hh : -hh), this.cy[k]! + (o & 2 ? hh : -hh), this.cz[k]! + (o & 4 ? hh : -hh), hh);
        this.child[k] = first;
        const oj = this.octant(k, y[j * 3]!, y[j * 3 + 1]!, y[j * 3 + 2]!);
        const cj = first + oj;
        this.mass[cj] = this.mass[k]! - 1;
        this.sx[cj] = this.sx[k]! - px;
        this.sy[cj] = this.sy[k]! - py;
        this.sz[cj] = this.sz[k]! - pz;
        this.point[cj] = j;
        for (let q = j; q !== -1; q = this.nextPt[q]!) this.leafOf[q] = cj;
        this.point[k] = -1;
      }
      k = this.child[k]! + this.octant(k, px, py, pz);
    }
  }

  private octant(k: number, x: number, y: number, z: number): number {
    return (x > this.cx[k]! ? 1 : 0) | (y > this.cy[k]! ? 2 : 0) | (z > this.cz[k]! ? 4 : 0);
  }
}

/** Kernel pieces for dof a: w = t^(-(a+1)/2) with t = 1 + d2 / a. */
function kernelW(t: number, dof: number): number {
  if (dof === 1) return 1 / t;
  if (dof === 2) return 1 / (t * Math.sqrt(t));
  return Math.pow(t, -(dof + 1) / 2);
}

/**
 * Repulsive sums for every point through the octree: rep_i = sum_j (w_ij / t_ij) (y_i - y_j)
 * (cells summarised by their centre of mass when half-width * 2 / distance < theta) and
 * Z = sum_{i != j} w_ij.
 */
function repulsion(tree: Octree, y: Float64Array, theta: number, dof: number, rep: Float64Array): number {
  const n = tree.n;
  let z = 0;
  const stack = new Int32Array(tree.size + 8);
  const theta2 = theta * theta;
  const { mass: massA, child, leafOf, sx, sy, sz, half } = tree;
  rep.fill(0);
  for (let i = 0; i < n; i++) {
    const px = y[i * 3]!;
    const py = y[i * 3 + 1]!;
    const pz = y[i * 3 + 2]!;
    let fx = 0;
    let fy = 0;
    let fz = 0;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const k = stack[--sp]!;
      let m = massA[k]!;
      if (m === 0) continue;
      const leaf = child[k] === -1;
      if (leaf && leafOf[i] === k) m -= 1; // the point itself (others here coincide with it)
      if (m === 0) continue;
      const mass = massA[k]!;
      const dx = px - sx[k]! / mass;
      const dy = py - sy[k]! / mass;
      const dz = pz - sz[k]! / mass;
      const d2 = dx * dx + dy * dy + dz * dz;
      const width = 2 * half[k]!;
      if (leaf || (theta2 > 0 && width * width < theta2 * d2)) {
        const t = 1 + d2 / dof;
        const w = kernelW(t, dof);
        z += m * w;
        const g = (m * w) / t;
        fx += g * dx;
        fy += g * dy;
        fz += g * dz;
      } else {
        const c = child[k]!;
        for (let o = 0; o < 8; o++) stack[sp++] = c + o;
      }
    }
    rep[i * 3] = fx;
    rep[i * 3 + 1] = fy;
    rep[i * 3 + 2] = fz;
  }
  return z;
}

/** Exact repulsion over all pairs (any output dimension). */
function repulsionExact(y: Float64Array, n: number, dims: number, dof: number, rep: Float64Array): number {
  rep.fill(0);
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      for (let c = 0; c < dims; c++) d2 += (y[i * dims + c]! - y[j * dims + c]!) ** 2;
      const t = 1 + d2 / dof;
      const w = kernelW(t, dof);
      z += 2 * w;
      const g = w / t;
      for (let c = 0; c < dims; c++) {
        const dv = g * (y[i * dims + c]! - y[j * dims + c]!);
        rep[i * dims + c] += dv;
        rep[j * dims + c] -= dv;
      }
    }
  }
  return z;
}

/**
 * The t-SNE gradient of KL(P || Q) at `y` ([n, dims]) into `grad`: c (attr_i - rep_i / Z) with
 * c = 2 (dof + 1) / dof, attraction over P's non-zeros times `exaggeration`. `theta` < 0 or
 * dims != 3 uses exact pairwise repulsion; otherwise the octree with that opening angle.
 * @example
 * const P = jointProbabilities({ data: [0, 1, 2, 4, 7], n: 5, d: 1 }, 2, 4);
 * const y = Float64Array.from([0, 0, 0, 1, 0.5, 0, 2, 1, 0.3, 0, 2, 1, 3, 3, 3]);
 * const a = new Float64Array(15), b = new Float64Array(15);
 * tsneGradient(P, y, 3, 2, 1, 0, a); // the tree opened to single points
 * tsneGradient(P, y, 3, 2, 1, -1, b); // all pairs
 * assert(a.every((v, i) => Math.abs(v - b[i]) < 1e-12));
 */
export function tsneGradient(P: SparseP, y: Float64Array, dims: number, dof: number, exaggeration: number, theta: number, grad: Float64Array): number {
  return gradientWith(P, y, dims, dof, exaggeration, theta, grad, undefined);
}

function gradientWith(P: SparseP, y: Float64Array, dims: number, dof: number, exaggeration: number, theta: number, grad: Float64Array, tree: Octree | undefined): number {
  const n = P.n;
  let z: number;
  if (theta >= 0 && dims === 3) {
    const t = tree ?? new Octree(n);
    t.build(y);
    z = repulsion(t, y, theta, dof, grad);
  } else {
    z = repulsionExact(y, n, dims, dof, grad);
  }
  const c = (2 * (dof + 1)) / dof;
  const invZ = 1 / Math.max(z, Number.MIN_VALUE);
  for (let i = 0; i < n * dims; i++) grad[i] = -grad[i]! * invZ;
  for (let i = 0; i < n; i++) {
    for (let e = P.rowPtr[i]!; e < P.rowPtr[i + 1]!; e++) {
      const j = P.col[e]!;
      let d2 = 0;
      for (let q = 0; q < dims; q++) d2 += (y[i * dims + q]! - y[j * dims + q]!) ** 2;
      const t = 1 + d2 / dof;
      const g = (exaggeration * P.val[e]!) / t;
      for (let q = 0; q < dims; q++) grad[i * dims + q] += g * (y[i * dims + q]! - y[j * dims + q]!);
    }
  }
  for (let i = 0; i < n * dims; i++) grad[i]! *= c;
  return z;
}

/** Gradient descent with momentum and gains (scikit-learn's schedule), in place on y. */
function optimise(P: SparseP, y: Float64Array, dims: number, o: Required<TsneOptions>): void {
  const n = P.n;
  const lr = Math.max(n / EXAGGERATION / 4, 50);
  const update = new Float64Array(n * dims);
  const gains = new Float64Array(n * dims).fill(1);
  const grad = new Float64Array(n * dims);
  const tree = dims === 3 && o.theta >= 0 ? new Octree(n) : undefined;
  for (let it = 0; it < o.iterations; it++) {
    const early = it < EXPLORATION_ITERS;
    gradientWith(P, y, dims, o.dof, early ? EXAGGERATION : 1, o.theta, grad, tree);
    const momentum = early ? 0.5 : 0.8;
    for (let t = 0; t < n * dims; t++) {
      const g = grad[t]!;
      gains[t] = update[t]! * g < 0 ? gains[t]! + 0.2 : Math.max(gains[t]! * 0.8, 0.01);
      update[t] = momentum * update[t]! - lr * gains[t]! * g;
      y[t] += update[t]!;
    }
  }
}

function resolved(p: PointSet, o: TsneOptions): Required<TsneOptions> {
  checkInput(p, o);
  const dims = o.dims ?? 3;
  return { dims, perplexity: o.perplexity, iterations: o.iterations ?? 500, seed: o.seed ?? 42, theta: o.theta ?? 0.5, dof: o.dof ?? Math.max(dims - 1, 1) };
}

function initialise(p: PointSet, o: Required<TsneOptions>): Float64Array {
  const y = pcaScores(p, o.dims, o.seed);
  let mean = 0;
  for (let i = 0; i < p.n; i++) mean += y[i * o.dims]! / p.n;
  let v = 0;
  for (let i = 0; i < p.n; i++) v += (y[i * o.dims]! - mean) ** 2 / p.n;
  const s = Math.sqrt(v);
  const scale = s > 0 ? 1e-4 / s : 1;
  for (let t = 0; t < y.length; t++) y[t]! *= scale;
  return y;
}

/**
 * Embeds the points in `dims` (default 3) dimensions with Barnes-Hut t-SNE; [n, dims] row-major.
 * Same points and options give the same bits.
 * @example
 * // two well-separated blobs stay apart
 * const data = [];
 * for (let i = 0; i < 20; i++) data.push(i % 5, (i * 7) % 3, i < 10 ? 0 : 50);
 * const y = tsne({ data, n: 20, d: 3 }, { perplexity: 5, iterations: 300 });
 * const cz = (a, b) => { let s = [0, 0, 0]; for (let i = a; i < b; i++) for (let c = 0; c < 3; c++) s[c] += y[i * 3 + c] / (b - a); return s; };
 * const [p, q] = [cz(0, 10), cz(10, 20)];
 * assert(y.length === 60 && Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) > 1);
 */
export function tsne(p: PointSet, opts: TsneOptions): Float64Array {
  const o = resolved(p, opts);
  const k = Math.min(p.n - 1, Math.floor(3 * o.perplexity + 1));
  const P = jointProbabilities(p, o.perplexity, o.theta === 0 && o.dims !== 3 ? p.n - 1 : k);
  const y = initialise(p, o);
  optimise(P, y, o.dims, o);
  return y;
}

/**
 * The slow, obvious twin of `tsne`: dense P over all pairs and the exact O(n^2) gradient, same
 * initialisation and schedule. For tests and small sets.
 * @example
 * const data = [0, 0, 1, 0, 0, 1, 9, 9, 10, 9, 9, 10];
 * const y = tsneExact({ data, n: 6, d: 2 }, { perplexity: 2, iterations: 100 });
 * assert(y.length === 18 && y.every(Number.isFinite));
 */
export function tsneExact(p: PointSet, opts: TsneOptions): Float64Array {
  const o = resolved(p, opts);
  const P = jointProbabilities(p, o.perplexity, p.n - 1);
  const y = initialise(p, o);
  optimise(P, y, o.dims, { ...o, theta: -1 });
  return y;
}

/**
 * KL(P || Q) of an embedding under the exact Q (all pairs); P as `jointProbabilities` gives it.
 * @example
 * const P = jointProbabilities({ data: [0, 1, 5, 6], n: 4, d: 1 }, 1.5, 3);
 * const good = tsneKl(P, Float64Array.from([0, 0, 0, 1, 0, 0, 8, 0, 0, 9, 0, 0]), 3);
 * const bad = tsneKl(P, Float64Array.from([0, 0, 0, 8, 0, 0, 1, 0, 0, 9, 0, 0]), 3);
 * assert(good >= 0 && good < bad);
 */
export function tsneKl(P: SparseP, y: Float64Array, dims: number, dof = Math.max(dims - 1, 1)): number {
  const n = P.n;
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      let d2 = 0;
      for (let c = 0; c < dims; c++) d2 += (y[i * dims + c]! - y[j * dims + c]!) ** 2;
      z += kernelW(1 + d2 / dof, dof);
    }
  }
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let e = P.rowPtr[i]!; e < P.rowPtr[i + 1]!; e++) {
      const j = P.col[e]!;
      const pij = P.val[e]!;
      if (pij <= 0) continue;
      let d2 = 0;
      for (let c = 0; c < dims; c++) d2 += (y[i * dims + c]! - y[j * dims + c]!) ** 2;
      const q = kernelW(1 + d2 / dof, dof) / z;
      kl += pij * Math.log(pij / Math.max(q, Number.MIN_VALUE));
    }
  }
  return kl;
}

/**
 * Trustworthiness (Venna and Kaski; scikit-learn's definition) of an embedding: 1 minus a penalty
 * for points that are among a point's k nearest neighbours in the embedding but not in the input.
 * 1 = every embedded neighbourhood is a true one.
 * @example
 * const x = { data: [0, 1, 2, 3, 4, 5], n: 6, d: 1 };
 * assert(trustworthiness(x, { data: [0, 1, 2, 3, 4, 5], n: 6, d: 1 }, 2) === 1);
 * assert(trustworthiness(x, { data: [0, 5, 1, 4, 2, 3], n: 6, d: 1 }, 2) < 1);
 */
export function trustworthiness(x: PointSet, y: PointSet, k: number): number {
  const n = x.n;
  if (y.n !== n) throw new DsteerError(`trustworthiness: ${n} input points, ${y.n} embedded`);
  if (!(k >= 1 && k < n / 2)) throw new DsteerError(`trustworthiness: k = ${k} must be in [1, n / 2) for n = ${n}`);
  const rowX = new Float64Array(n);
  const rowY = new Float64Array(n);
  let penalty = 0;
  for (let i = 0; i < n; i++) {
    distRow(x, i, rowX);
    distRow(y, i, rowY);
    const others = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    const rankX = new Int32Array(n);
    [...others].sort((a, b) => rowX[a]! - rowX[b]! || a - b).forEach((j, r) => (rankX[j] = r + 1));
    const nnY = [...others].sort((a, b) => rowY[a]! - rowY[b]! || a - b).slice(0, k);
    for (const j of nnY) penalty += Math.max(0, rankX[j]! - k);
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * penalty;
}
