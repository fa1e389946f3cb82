// rmsnorm: out[r, i] = w[i] * (x[r, i] * inv_r), inv_r = 1 / sqrt(sum_j x[r, j]^2 / dim + eps)
// shapes: x, out [rows, dim], w [dim]; entry main_inplace writes over x (out === x)
// dispatch: one workgroup of WG threads per row (rows split over x and y, kernels/rmsnorm.ts)
// numerics: thread t sums x[t], x[t + WG], ... in f32, then a fixed halving tree over the WG partial
//   sums in workgroup memory. The order depends on dim and WG only, never on rows: a row's result
//   is bitwise the same alone or in any batch. residual-add.wgsl's fused norm uses the same order.
// bytes: (2 rows + 1) dim 4; flops: ~4 rows dim
// versions: v1 (this file, default). twin: rmsnorm.ref.ts  test: tests/kernels/rmsnorm.gpu.test.ts
struct Params { rows: u32, dim: u32, eps: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
override WG: u32 = 256u; // a power of two (the tree halves it)

var<workgroup> red: array<f32, WG>;

// The sum of every thread's v, in the same order for every row; all threads get it.
fn reduce_sum(t: u32, v: f32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (t < s) { red[t] = red[t] + red[t + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // every thread has read red[0] before a next reduction overwrites it
  return total;
}

// 1 / rms of row `o` (its first element's index), from this thread's strided partial sum.
fn inv_rms(t: u32, o: u32) -> f32 {
  var ss = 0.0;
  for (var i = t; i < P.dim; i += WG) { let v = x[o + i]; ss += v * v; }
  return 1.0 / sqrt(reduce_sum(t, ss) / f32(P.dim) + P.eps);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let r = wid.x + wid.y * nw.x;
  if (r >= P.rows) { return; }
  let o = r * P.dim;
  let inv = inv_rms(t, o);
  for (var i = t; i < P.dim; i += WG) { out[o + i] = w[i] * (x[o + i] * inv); }
}

@compute @workgroup_size(WG)
fn main_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let r = wid.x + wid.y * nw.x;
  if (r >= P.rows) { return; }
  let o = r * P.dim;
  let inv = inv_rms(t, o);
  for (var i = t; i < P.dim; i += WG) { x[o + i] = w[i] * (x[o + i] * inv); }
}
