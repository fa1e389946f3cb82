/**
 * argmax (CPU twin)
 * math:   out[r] = the first index of the largest value of x[r, :] (NaN never wins; an all-NaN row gives 0)
 * shapes: x [rows, n], out [rows] i32
 * test:   tests/kernels/argmax.test.ts
 */
export function argmaxRef(out: Int32Array, x: Float32Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let best = -1;
    let bv = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = x[o + i]!;
      // the first non-NaN value starts the search, so -Infinity beats a NaN before it
      if (v > bv || (best < 0 && v === v)) {
        bv = v;
        best = i;
      }
    }
    out[r] = best < 0 ? 0 : best;
  }
}
