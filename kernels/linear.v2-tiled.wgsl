// linear v2-tiled (GEMM, prefill): out[r, col0 + o] = sum_k x[r, k] * W[o, k] (+ bias[col0 + o])
// variant SWIGLU (override): x is gu [rows, 2 inDim] and x[r, k] = silu(gu[r, k]) * gu[r, inDim + k],
//   computed as the x chunk is staged (once per tile column), with linear.wgsl's f32 expression
// shapes: as linear.wgsl (x [rows, inDim] f32 or SWIGLU's gu [rows, 2 inDim], W [outDim, inDim]
//   WT, bias, out [rows, outStride])
// dispatch: one workgroup of WGX x WGY threads per tile of BM = 4 WGY rows x BN = 4 WGX outputs:
//   ceil(outDim / BN) tiles over x and y, ceil(rows / BM) over z. Each thread owns 4 rows x 4
//   outputs in registers; the workgroup stages one K chunk of x and W at a time in workgroup memory.
// bytes: outDim * inDim * sizeof WT * ceil(rows / BM) + rows * inDim * 4 * ceil(outDim / BN) loads;
//   flops: 2 * rows * outDim * inDim
// summation order: the one in linear.wgsl (chunks of CHUNK, slice c % SLICES, fma chains, then the
//   fold of the slices in order). The K loop visits chunks slice by slice (s, s + SLICES, ...), so a
//   thread needs only the current slice's partials (acc) and the fold so far (tot). A row's sums do
//   not depend on which tile row it sits in or on which rows share the tile.
// versions: v1 (linear.wgsl), v2-tiled (this file), v3-gemv. twin: linear.ref.ts
// test: tests/kernels/linear.gpu.test.ts
struct Params { rows: u32, inDim: u32, outDim: u32, col0: u32, outStride: u32, hasBias: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<WT>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
alias WT = f32;
// The summation order: equal in linear*.wgsl (the bitwise cross-version test guards it).
// CHUNK is also the K depth of a staged tile.
const CHUNK: u32 = 16u;
const SLICES: u32 = 16u;
override WGX: u32 = 16u; // threads across outputs: BN = 4 WGX
override WGY: u32 = 16u; // threads across rows: BM = 4 WGY
override SWIGLU: bool = false;
var<workgroup> xs: array<f32, CHUNK * 4u * WGY>; // [CHUNK][BM]: x chunk, transposed
var<workgroup> ws: array<f32, CHUNK * 4u * WGX>; // [CHUNK][BN]: W chunk, transposed

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

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let BM = 4u * WGY;
  let BN = 4u * WGX;
  let n0 = (wid.x + wid.y * nw.x) * BN; // the tile's first output (of this part)
  let m0 = wid.z * BM; // the tile's first row
  let K = P.inDim;
  let nChunks = (K + CHUNK - 1u) / CHUNK;
  var acc: array<vec4<f32>, 4>; // acc[i][j]: row m0 + 4 ty + i, output n0 + 4 tx + j; this slice
  var tot: array<vec4<f32>, 4>; // the slices folded so far
  for (var s = 0u; s < SLICES; s++) {
    for (var c = s; c < nChunks; c += SLICES) {
      let k0 = c * CHUNK;
      // Consecutive threads load consecutive k of one row (coalesced); zeros past the edges leave
      // the chains unchanged (fma(0, 0, p) = p, and p is never -0).
      for (var e = li; e < BM * CHUNK; e += WGX * WGY) {
        let m = e / CHUNK;
        let k = k0 + e % CHUNK;
        var v = 0.0;
        if (m0 + m < P.rows && k < K) { v = xAt(m0 + m, k); }
        xs[(e % CHUNK) * BM + m] = v;
      }
      for (var e = li; e < BN * CHUNK; e += WGX * WGY) {
        let n = e / CHUNK;
        let k = k0 + e % CHUNK;
        var v = 0.0;
        if (n0 + n < P.outDim && k < K) { v = f32(W[(n0 + n) * K + k]); }
        ws[(e % CHUNK) * BN + n] = v;
      }
      workgroupBarrier();
      for (var kk = 0u; kk < CHUNK; kk++) {
        let a = 4u * lid.y + kk * BM;
        let b = 4u * lid.x + kk * BN;
        let wv = vec4<f32>(ws[b], ws[b + 1u], ws[b + 2u], ws[b + 3u]);
        for (var i = 0u; i < 4u; i++) {
          acc[i] = fma(vec4<f32>(xs[a + i]), wv, acc[i]);
        }
      }
      workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
      tot[i] += acc[i];
      acc[i] = vec4<f32>();
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let r = m0 + 4u * lid.y + i;
    for (var j = 0u; j < 4u; j++) {
      let o = n0 + 4u * lid.x + j;
      if (r < P.rows && o < P.outDim) {
        var y = tot[i][j];
        if (P.hasBias != 0u) { y += bias[P.col0 + o]; }
        out[r * P.outStride + P.col0 + o] = y;
      }
    }
  }
}
