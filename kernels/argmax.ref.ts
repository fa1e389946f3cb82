/**
 * argmax (CPU twin)
 * math:   out[r] = the first index of the largest value of x[r, :] (NaN never wins)
 * shapes: x [rows, n], out [rows] i32
 * test:   tests/kernels/argmax.test.ts
 */
export function argmaxRef(out: Int32Array, x: Float32Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let best = 0;
    let bv = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = x[o + i]!;
      if (v > bv) {
        bv = v;
        best = i;
      }
    }
    out[r] = best;
  }
}
