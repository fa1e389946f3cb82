// linear v3-gemv (decode): out[r, col0 + o] = sum_k x[r, k] * W[o, k] (+ bias[col0 + o])
// variant SWIGLU (override): x is gu [rows, 2 inDim] and x[r, k] = silu(gu[r, k]) * gu[r, inDim + k],
//   computed per component as a vec4 is loaded, with linear.wgsl's scalar f32 expression (by each
//   output's lanes: outDim exp per element of x, ~1 per fma)
// shapes: as linear.wgsl (x [rows, inDim] f32 or SWIGLU's gu [rows, 2 inDim], W [outDim, inDim]
//   WT, bias, out [rows, outStride]);
//   needs inDim % 4 == 0 (vec4 loads; the launcher runs v1, which gives the same bits, otherwise)
// dispatch: WG threads per workgroup = WG / SLICES outputs x SLICES lanes; lane s of an output
//   computes slice s of the summation order, reading whole chunks of W with vec4 loads (a team's
//   lanes read SLICES * CHUNK contiguous weights per step), for up to RB rows at once so each
//   weight is loaded once per RB rows. ceil(outDim / (WG / SLICES)) workgroups over x and y,
//   ceil(rows / RB) over z. The slices are folded in order through workgroup memory.
// bytes: outDim * inDim * sizeof WT * ceil(rows / RB) + x (cached) + rows * outDim * 4;
//   flops: 2 * rows * outDim * inDim
// summation order: the one in linear.wgsl, so v3 agrees bitwise with v1 and v2-tiled. Not a
//   wave reduction (WGSL's sub-group add): its order is unspecified, which would break that
//   agreement (prefill vs decode); the in-order fold is SLICES adds per output, negligible next
//   to the K loop. (Spelled "sub-group" so that Gpu.pipeline does not enable the extension.)
// versions: v1 (linear.wgsl), v2-tiled, v3-gemv (this file). twin: linear.ref.ts
// test: tests/kernels/linear.gpu.test.ts
struct Params { rows: u32, inDim: u32, outDim: u32, col0: u32, outStride: u32, hasBias: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<WT>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
alias WT = f32;
// The summation order: equal in linear*.wgsl (the bitwise cross-version test guards it).
const CHUNK: u32 = 16u;
const SLICES: u32 = 16u;
const RB: u32 = 8u; // rows per workgroup: the private partials p[RB]
override WG: u32 = 256u; // a multiple of SLICES
override SWIGLU: bool = false;
var<workgroup> parts: array<f32, WG * RB>; // [output of the workgroup][slice][row]

// silu(g) * u: this exact expression in every linear*.wgsl, so the versions agree bitwise.
fn silu_mul(g: f32, u: f32) -> f32 {
  return g / (1.0 + exp(-g)) * u;
}

// The elements x[r, 4 q .. 4 q + 3] (under SWIGLU: silu(gate) * up from gu's row r, per component).
fn xAt(r: u32, q: u32) -> vec4<f32> {
  let K4 = P.inDim / 4u;
  if (SWIGLU) {
    let g = x[2u * r * K4 + q];
    let u = x[(2u * r + 1u) * K4 + q];
    return vec4<f32>(silu_mul(g.x, u.x), silu_mul(g.y, u.y), silu_mul(g.z, u.z), silu_mul(g.w, u.w));
  }
  return x[r * K4 + q];
}

// The chain p = fma(x_k, w_k, p) over 4 consecutive k.
fn fma4(p: f32, a: vec4<f32>, b: vec4<f32>) -> f32 {
  return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, fma(a.x, b.x, p))));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nw: vec3<u32>) {
  let perGroup = WG / SLICES;
  let o0 = (wid.x + wid.y * nw.x) * perGroup; // the workgroup's first output (of this part)
  let o = o0 + li / SLICES;
  let s = li % SLICES;
  let r0 = wid.z * RB;
  let nr = min(RB, P.rows - r0);
  let K4 = P.inDim / 4u;
  let C4 = CHUNK / 4u;
  let nChunks = (K4 + C4 - 1u) / C4;
  var p: array<f32, RB>;
  if (o < P.outDim) {
    for (var c = s; c < nChunks; c += SLICES) {
      let q0 = c * C4;
      if (q0 + C4 <= K4) {
        // a whole chunk: its four weight loads are issued before the rows use them
        let w0 = vec4<f32>(W[o * K4 + q0]);
        let w1 = vec4<f32>(W[o * K4 + q0 + 1u]);
        let w2 = vec4<f32>(W[o * K4 + q0 + 2u]);
        let w3 = vec4<f32>(W[o * K4 + q0 + 3u]);
        for (var r = 0u; r < RB; r++) {
          if (r < nr) {
            let xr = r0 + r;
            p[r] = fma4(fma4(fma4(fma4(p[r], xAt(xr, q0), w0), xAt(xr, q0 + 1u), w1), xAt(xr, q0 + 2u), w2), xAt(xr, q0 + 3u), w3);
          }
        }
      } else {
        for (var q = q0; q < K4; q++) {
          let w = vec4<f32>(W[o * K4 + q]);
          for (var r = 0u; r < RB; r++) {
            if (r < nr) { p[r] = fma4(p[r], xAt(r0 + r, q), w); }
          }
        }
      }
    }
  }
  for (var r = 0u; r < RB; r++) { parts[li * RB + r] = p[r]; }
  workgroupBarrier();
  // One thread per (output, row) folds the SLICES partials in slice order.
  let t = li / RB;
  let r = li % RB;
  if (li < perGroup * RB && o0 + t < P.outDim && r < nr) {
    var y = 0.0;
    for (var j = 0u; j < SLICES; j++) { y += parts[(t * SLICES + j) * RB + r]; }
    if (P.hasBias != 0u) { y += bias[P.col0 + o0 + t]; }
    out[(r0 + r) * P.outStride + P.col0 + o0 + t] = y;
  }
}
