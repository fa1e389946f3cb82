/**
 * softmax / log-softmax (CPU twin)
 * math:   softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m),  log_softmax(x)_i = x_i - m - log(sum_j exp(x_j - m)),
 *         m = max_j x_j (subtracting the max keeps exp finite for any input)
 * shapes: x, out [rows, n] (may alias)
 * numerics: sums in f64, in index order: batch-invariant.
 * test:   tests/kernels/softmax.test.ts
 */
function rowMax(x: Float32Array, o: number, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[o + i]! > m) m = x[o + i]!;
  return m;
}

export function softmaxRef(out: Float32Array, x: Float32Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const m = rowMax(x, o, n);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[o + i]! - m);
    for (let i = 0; i < n; i++) out[o + i] = Math.exp(x[o + i]! - m) / s;
  }
}

export function logSoftmaxRef(out: Float32Array, x: Float32Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const m = rowMax(x, o, n);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[o + i]! - m);
    const lse = m + Math.log(s);
    for (let i = 0; i < n; i++) out[o + i] = x[o + i]! - lse;
  }
}
