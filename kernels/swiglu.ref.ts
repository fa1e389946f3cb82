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
