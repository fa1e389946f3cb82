/**
 * linear (CPU twin; the CPU backend's hot loop)
 * math:   out[r, o] = sum_k x[r, k] * w[o, k] (+ bias[o])          (y = x W^T, Hugging Face layout)
 * shapes: x [rows, inDim], w [outDim, inDim] (K-contiguous), bias [outDim] | null, out [rows, outDim]
 * bytes:  outDim * inDim * 4 (weights, read once per block of rows) + rows * (inDim + outDim) * 4
 * flops:  2 * rows * inDim * outDim
 * blocking: outputs outer (blocks of 4 weight rows stay in cache), rows inner in pairs: 8
 *   accumulators, 6 loads per 8 multiply-adds; each weight block is read from memory once per call
 *   whatever the number of rows. GEMV (rows = 1) uses 4 outputs x 1 row.
 * numerics: each output accumulates in f64 (JS numbers) over k = 0..inDim-1 in order, whatever the
 *   blocking, so a row's result never depends on the other rows in the batch (batch-invariant).
 * allocation: none.
 * test:   tests/kernels/linear.test.ts   bench: bench/cpu.ts, bench/gpu-kernels.ts
 */
import { swigluRef } from './swiglu.ref.js';
export function linearRef(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  rows: number,
  inDim: number,
  outDim: number,
): void {
  if (rows === 1) {
    linearRow(out, x, w, bias, 0, inDim, outDim);
    return;
  }
  const K = inDim;
  let o = 0;
  // outputs outer, rows inner: a block of 4 weight rows stays in cache while every input row
  // passes over it, so the weights are read from memory once per call, not once per row pair
  for (; o + 3 < outDim; o += 4) {
    const w0 = o * K;
    const w1 = w0 + K;
    const w2 = w1 + K;
    const w3 = w2 + K;
    const b0 = bias === null ? 0 : bias[o]!;
    const b1 = bias === null ? 0 : bias[o + 1]!;
    const b2 = bias === null ? 0 : bias[o + 2]!;
    const b3 = bias === null ? 0 : bias[o + 3]!;
    let r = 0;
    for (; r + 1 < rows; r += 2) {
      const x0 = r * K;
      const x1 = x0 + K;
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      for (let k = 0; k < K; k++) {
        const u = x[x0 + k]!;
        const v = x[x1 + k]!;
        const p = w[w0 + k]!;
        const q = w[w1 + k]!;
        const s = w[w2 + k]!;
        const t = w[w3 + k]!;
        a00 += u * p; a01 += u * q; a02 += u * s; a03 += u * t;
        a10 += v * p; a11 += v * q; a12 += v * s; a13 += v * t;
      }
      const y0 = r * outDim + o;
      const y1 = y0 + outDim;
      if (bias !== null) {
        a00 += b0; a01 += b1; a02 += b2; a03 += b3;
        a10 += b0; a11 += b1; a12 += b2; a13 += b3;
      }
      out[y0] = a00; out[y0 + 1] = a01; out[y0 + 2] = a02; out[y0 + 3] = a03;
      out[y1] = a10; out[y1 + 1] = a11; out[y1 + 2] = a12; out[y1 + 3] = a13;
    }
    if (r < rows) {
      const x0 = r * K;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let k = 0; k < K; k++) {
        const u = x[x0 + k]!;
        a0 += u * w[w0 + k]!;
        a1 += u * w[w1 + k]!;
        a2 += u * w[w2 + k]!;
        a3 += u * w[w3 + k]!;
      }
      const y0 = r * outDim + o;
      if (bias !== null) {
        a0 += b0; a1 += b1; a2 += b2; a3 += b3;
      }
      out[y0] = a0; out[y0 + 1] = a1; out[y0 + 2] = a2; out[y0 + 3] = a3;
    }
  }
  for (; o < outDim; o++) {
    const w0 = o * K;
    for (let r = 0; r < rows; r++) {
      const x0 = r * K;
      let a = 0;
      for (let k = 0; k < K; k++) a += x[x0 + k]! * w[w0 + k]!;
      if (bias !== null) a += bias[o]!;
      out[r * outDim + o] = a;
    }
  }
}

/** One row (GEMV): 4 outputs at a time; the same per-output summation order as the blocked path. */
function linearRow(out: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, r: number, K: number, outDim: number): void {
  const x0 = r * K;
  const y0 = r * outDim;
  let o = 0;
  for (; o + 3 < outDim; o += 4) {
    const w0 = o * K;
    const w1 = w0 + K;
    const w2 = w1 + K;
    const w3 = w2 + K;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let k = 0; k < K; k++) {
      const u = x[x0 + k]!;
      a0 += u * w[w0 + k]!;
      a1 += u * w[w1 + k]!;
      a2 += u * w[w2 + k]!;
      a3 += u * w[w3 + k]!;
    }
    if (bias !== null) {
      a0 += bias[o]!; a1 += bias[o + 1]!; a2 += bias[o + 2]!; a3 += bias[o + 3]!;
    }
    out[y0 + o] = a0; out[y0 + o + 1] = a1; out[y0 + o + 2] = a2; out[y0 + o + 3] = a3;
  }
  for (; o < outDim; o++) {
    const w0 = o * K;
    let a = 0;
    for (let k = 0; k < K; k++) a += x[x0 + k]! * w[w0 + k]!;
    if (bias !== null) a += bias[o]!;
    out[y0 + o] = a;
  }
}

/**
 * linear with a SwiGLU prologue (the MLP's down projection fed straight from the fused gate/up
 * projection): out[r, o] = sum_k silu(gu[r, k]) * gu[r, hidden + k] * w[o, k].
 * Its twin is the composition swiglu (on the two halves) then linear, computed exactly so.
 * shapes: gu [rows, 2 * hidden] (gate | up), w [outDim, hidden], out [rows, outDim]; scratch [rows * hidden]
 */
export function linearSwigluRef(
  out: Float32Array,
  gu: Float32Array,
  w: Float32Array,
  rows: number,
  hidden: number,
  outDim: number,
  scratch: Float32Array = new Float32Array(rows * hidden),
): void {
  for (let r = 0; r < rows; r++) {
    const g = r * 2 * hidden;
    swigluRef(scratch.subarray(r * hidden, (r + 1) * hidden), gu.subarray(g, g + hidden), gu.subarray(g + hidden, g + 2 * hidden), hidden);
  }
  linearRef(out, scratch, w, null, rows, hidden, outDim);
}
