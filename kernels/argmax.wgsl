// argmax: out[r] = the first index of the largest value of x[r, :]; NaN never wins; an all-NaN row gives 0
// shapes: x [rows, n] f32, out [rows] i32
// dispatch: one workgroup of WG threads per row, rows split over x and y (kernels/argmax.ts); each
//   thread scans a stride-WG slice, then a tree over the threads. The winner (largest key, then
//   smallest index) does not depend on the order of comparisons, so neither on the batch.
// bytes: 4 rows n + 4 rows; flops: ~3 rows n integer compares
// versions: v1 (this file, default). twin: argmax.ref.ts  test: tests/kernels/argmax.gpu.test.ts
struct Params { rows: u32, n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;
override WG: u32 = 256u; // a power of two: the tree halves it

const NONE = 0xffffffffu; // no candidate yet (a slice of only NaN, or no elements)
var<workgroup> redKey: array<u32, WG>;
var<workgroup> redIdx: array<u32, WG>;

// An integer key that orders like the float: -0 ties +0, -inf is 0x007fffff and NaN is 0, below
// every number. Integer compares keep NaN handling out of the compiler's float assumptions.
fn orderKey(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0u; }
  if (b == 0x80000000u) { return 0x80000000u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn rowArgmax(o: u32, lid: u32) -> i32 {
  var bk = 0u;
  var bi = NONE;
  for (var i = lid; i < P.n; i += WG) {
    let k = orderKey(x[o + i]);
    if (k > bk) { bk = k; bi = i; } // strictly larger: the slice keeps its first index of a tie
  }
  redKey[lid] = bk;
  redIdx[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let k = redKey[lid + s];
      let j = redIdx[lid + s];
      if (k > redKey[lid] || (k == redKey[lid] && j < redIdx[lid])) { redKey[lid] = k; redIdx[lid] = j; }
    }
    workgroupBarrier();
  }
  let best = redIdx[0];
  workgroupBarrier();
  return select(i32(best), 0, best == NONE);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= P.rows) { return; }
  let best = rowArgmax(row * P.n, lid);
  if (lid == 0u) { out[row] = best; }
}
