/**
 * swiglu (CPU twin)
 * math:   out[i] = silu(gate[i]) * up[i],  silu(g) = g / (1 + exp(-g))
 * shapes: gate, up, out [rows * hidden] (out may alias gate)
 * bytes:  3 * n * 4; flops: ~5 n (+ n exp)
 * test:   tests/kernels/swiglu.test.ts
 */
export function swigluRef(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
}

/**
 * swiglu on a fused gate/up projection's rows: out[r, i] = silu(gu[r, i]) * gu[r, hidden + i].
 * shapes: gu [rows, 2 * hidden] (gate | up), out [rows, hidden]. The per-row composition of swigluRef.
 */
export function swigluGuRef(out: Float32Array, gu: Float32Array, rows: number, hidden: number): void {
  for (let r = 0; r < rows; r++) {
    const g = r * 2 * hidden;
    swigluRef(out.subarray(r * hidden, (r + 1) * hidden), gu.subarray(g, g + hidden), gu.subarray(g + hidden, g + 2 * hidden), hidden);
  }
}
