// softmax (log-softmax): out[r, i] = (x[r, i] - m) - log(sum_j exp(x[r, j] - m)), m = max_j x[r, j]
// shapes: x, out [rows, n] f32; entry main_inplace writes over x
// dispatch: one workgroup of WG threads per row, rows split over x and y (kernels/softmax.ts); each
//   thread reduces a stride-WG slice of the row, then a fixed tree over the threads, so a row's
//   result does not depend on how many rows are in the batch
// bytes: 16 rows n (x read three times: max, sum, output; out written once);
//   flops: ~4 rows n + rows n exp
// versions: v1 (this file, default). twin: softmax.ref.ts (logSoftmaxRef)
//   test: tests/kernels/softmax.gpu.test.ts
struct Params { rows: u32, n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
override WG: u32 = 256u; // a power of two: the tree halves it

var<workgroup> red: array<f32, WG>;

// A fixed-order tree: thread i adds i + s for s = WG/2, ..., 1; every thread gets the total.
fn treeSum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // red is reused by the next reduction
  return total;
}

fn treeMax(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();
  return m;
}

// (m, log S) of the row at offset o: WGSL has no -inf literal, so each slice starts from x[o].
fn rowLse(o: u32, lid: u32) -> vec2<f32> {
  var m = x[o];
  for (var i = lid; i < P.n; i += WG) { m = max(m, x[o + i]); }
  m = treeMax(lid, m);
  var s = 0.0;
  for (var i = lid; i < P.n; i += WG) { s += exp(x[o + i] - m); }
  return vec2<f32>(m, log(treeSum(lid, s)));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= P.rows) { return; }
  let o = row * P.n;
  let ml = rowLse(o, lid);
  // (x - m) first: exact near the max, so large logits (1e4) keep their small log-probabilities
  for (var i = lid; i < P.n; i += WG) { out[o + i] = (x[o + i] - ml.x) - ml.y; }
}

@compute @workgroup_size(WG)
fn main_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= P.rows) { return; }
  let o = row * P.n;
  let ml = rowLse(o, lid);
  for (var i = lid; i < P.n; i += WG) { x[o + i] = (x[o + i] - ml.x) - ml.y; }
}
