/**
 * residual-add (CPU twin): the residual write with the steering add inside
 * math:   x[r, :] += branch[r, :]                                  (always)
 *         x[r, :] += alpha[r, j] * V[vec[r], j, :]                 (when alpha[r, j] != 0 and pos[r] >= from[r])
 *         x[r, :] *= |x_before_steer| / |x[r, :]|                  (with preserveNorm, on steered rows)
 *         j indexes the steered sites of the plan; V stacks several vectors ([nVec, nSites, dim]) so
 *         one batch can carry a lambda grid or requests with different vectors.
 * shapes: x, branch [rows, dim]; alpha [rows, nSites]; vec, from, pos [rows] i32
 * bytes:  3 * rows * dim * 4 (+ rows * dim * 4 for the vector rows read)
 * The fused twin is literally the composition of the two unfused twins below, so the CPU backend
 * cannot drift from the oracle the GPU kernel is tested against.
 * test:   tests/kernels/residual-add.test.ts
 */
import { rmsnormRef } from './rmsnorm.ref.js';

/** One steered site's arguments for a batch. */
export interface SteerArgs {
  /** [nVec, nSites, dim] stacked steering vectors. */
  vectors: Float32Array;
  nSites: number;
  /** Which steered site this write is (0..nSites-1). */
  site: number;
  /** [rows, nSites] per-row, per-site multiplier (lambda). */
  alpha: Float32Array;
  /** [rows] which stacked vector each row uses. */
  vec: Int32Array;
  /** [rows] rows at positions below from[r] are not steered ("generated tokens only"). */
  from: Int32Array;
  /** [rows] the row's position in its sequence. */
  pos: Int32Array;
  /** Rescale each steered row to its norm before the steering add. */
  preserveNorm: boolean;
}

/** x += branch. */
export function residualAddRef(x: Float32Array, branch: Float32Array, rows: number, dim: number): void {
  const n = rows * dim;
  for (let i = 0; i < n; i++) x[i] = x[i]! + branch[i]!;
}

/** x[r] += alpha[r, j] * V[vec[r], j] on the rows the plan steers (optionally norm-preserving). */
export function steerAddRef(x: Float32Array, rows: number, dim: number, s: SteerArgs): void {
  const { vectors, nSites, site, alpha, vec, from, pos, preserveNorm } = s;
  const nVec = vectors.length / (nSites * dim);
  for (let r = 0; r < rows; r++) {
    const a = alpha[r * nSites + site]!;
    if (a === 0 || pos[r]! < from[r]!) continue;
    const vi = vec[r]!;
    if (vi < 0 || vi >= nVec) throw new RangeError(`row ${r} selects steering vector ${vi}, but only ${nVec} are loaded`);
    const xo = r * dim;
    const vo = (vi * nSites + site) * dim;
    let before = 0;
    if (preserveNorm) for (let i = 0; i < dim; i++) before += x[xo + i]! * x[xo + i]!;
    for (let i = 0; i < dim; i++) x[xo + i] = x[xo + i]! + a * vectors[vo + i]!;
    if (preserveNorm) {
      let after = 0;
      for (let i = 0; i < dim; i++) after += x[xo + i]! * x[xo + i]!;
      if (after > 0) {
        const k = Math.sqrt(before / after);
        for (let i = 0; i < dim; i++) x[xo + i] = x[xo + i]! * k;
      }
    }
  }
}

/** The fused kernel's twin: residual add, then the steering add when a site is given. */
export function residualSteerRef(x: Float32Array, branch: Float32Array, rows: number, dim: number, steer: SteerArgs | null): void {
  residualAddRef(x, branch, rows, dim);
  if (steer !== null) steerAddRef(x, rows, dim, steer);
}

/**
 * The fused residual-add + RMSNorm kernel's twin: the residual write (with steering), then the
 * next RMSNorm of the updated stream into `normOut` (x itself keeps the un-normed sum).
 */
export function residualSteerNormRef(
  x: Float32Array,
  branch: Float32Array,
  rows: number,
  dim: number,
  steer: SteerArgs | null,
  normW: Float32Array,
  normOut: Float32Array,
  eps: number,
): void {
  residualSteerRef(x, branch, rows, dim, steer);
  rmsnormRef(normOut, x, normW, rows, dim, eps);
}
