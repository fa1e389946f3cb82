/**
 * rmsnorm (CPU twin)
 * math:   out[r, i] = w[i] * x[r, i] / sqrt(mean_j x[r, j]^2 + eps)
 * shapes: x, out [rows, dim] (may alias), w [dim]
 * bytes:  2 * rows * dim * 4 + dim * 4; flops: ~4 * rows * dim
 * numerics: the sum of squares accumulates in f64 (JS numbers), in index order: batch-invariant.
 * test:   tests/kernels/rmsnorm.test.ts
 */
export function rmsnormRef(out: Float32Array, x: Float32Array, w: Float32Array, rows: number, dim: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) {
      const v = x[o + i]!;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[o + i] = w[i]! * (x[o + i]! * inv);
  }
}
