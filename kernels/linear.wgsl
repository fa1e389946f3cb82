// linear v1 (readable): out[r, col0 + o] = sum_k x[r, k] * W[o, k] (+ bias[col0 + o])
// variant SWIGLU (override, default false): x is gu [rows, 2 inDim] (gate | up, the fused gate/up
//   projection's output) and x[r, k] = silu(gu[r, k]) * gu[r, inDim + k], computed on load by xAt
//   (silu(g) = g / (1 + exp(-g))); the MLP's down projection without a separate swiglu pass. The
//   element is the same f32 expression in every linear*.wgsl (and swiglu.wgsl) and the summation
//   order is unchanged, so the versions still agree bitwise.
// shapes: x [rows, inDim] f32 (SWIGLU: [rows, 2 inDim]); W [outDim, inDim] WT (f32 or f16; one row block of a split weight,
//   whose first row is output col0); bias [>= col0 + outDim] f32, or a dummy when hasBias is 0;
//   out [rows, outStride] f32 (outStride = the whole weight's outDim)
// dispatch: one thread per (row, output): ceil(rows * outDim / WG) workgroups over x and y
// bytes: rows * outDim * inDim * (4 + sizeof WT) loads (no reuse beyond the caches; x twice
//   under SWIGLU); flops: 2 * rows * outDim * inDim (+ rows * outDim * inDim exp under SWIGLU)
// summation order, the same in every version so that they agree bitwise (batch invariance across
//   versions): K is cut into chunks of CHUNK; chunk c belongs to slice c % SLICES; slice s's
//   partial p_s is one fma chain over its chunks in order, k ascending; then
//   y = (((0 + p_0) + p_1) + ... + p_{SLICES-1}) (+ bias). Every fma is explicit (no contraction
//   left to the compiler). Nothing depends on rows or on the row's place in the batch.
// versions: v1 (this file), v2-tiled (GEMM, prefill), v3-gemv (decode); default 'auto' (linear.ts)
// twin: linear.ref.ts  test: tests/kernels/linear.gpu.test.ts
struct Params { rows: u32, inDim: u32, outDim: u32, col0: u32, outStride: u32, hasBias: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<WT>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
alias WT = f32;
// The summation order: equal in linear*.wgsl (the bitwise cross-version test guards it).
const CHUNK: u32 = 16u;
const SLICES: u32 = 16u;
override WG: u32 = 64u;
override SWIGLU: bool = false;

// silu(g) * u: this exact expression in every linear*.wgsl, so the versions agree bitwise.
fn silu_mul(g: f32, u: f32) -> f32 {
  return g / (1.0 + exp(-g)) * u;
}

// The element x[r, k] (under SWIGLU: silu(gate) * up from gu's row r).
fn xAt(r: u32, k: u32) -> f32 {
  if (SWIGLU) {
    let i = 2u * r * P.inDim + k;
    return silu_mul(x[i], x[i + P.inDim]);
  }
  return x[r * P.inDim + k];
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= P.rows * P.outDim) { return; }
  let r = i / P.outDim;
  let o = i % P.outDim;
  let K = P.inDim;
  let nChunks = (K + CHUNK - 1u) / CHUNK;
  var y = 0.0;
  for (var s = 0u; s < SLICES; s++) {
    var p = 0.0;
    for (var c = s; c < nChunks; c += SLICES) {
      let kEnd = min(c * CHUNK + CHUNK, K);
      for (var k = c * CHUNK; k < kEnd; k++) {
        p = fma(xAt(r, k), f32(W[o * K + k]), p);
      }
    }
    y += p;
  }
  if (P.hasBias != 0u) { y += bias[P.col0 + o]; }
  out[r * P.outStride + P.col0 + o] = y;
}
