// attention v1 (readable): causal softmax attention of each row over its own sequence's KV cache, GQA
//   out[r,h,:] = sum_t softmax_t(s) V[slot[r], t, g, :],  s_t = scale * q[r,h,:] . K[slot[r], t, g, :],
//   t = 0..pos[r], g = h / (nHeads / nKvHeads), scale = 1 / sqrt(headDim) (an f32 from the host)
// shapes: q, out [rows, nHeads, headDim]; kCache, vCache [slots, maxSeq, nKvHeads * headDim];
//         slot, pos [rows] i32; headDim <= MAX_HEAD_DIM
// dispatch: one workgroup per (row, head): rows * nHeads workgroups, split over x and y (kernels/attention.ts)
// algorithm: positions go in tiles of WG, one position per thread for the score; per tile a max and
//   a sum reduction in workgroup memory update the running max m and sum l (online softmax), and
//   thread i accumulates dims i, i + WG, ... of the weighted V rows, rescaled by exp(m_old - m_new).
//   The order of every sum depends only on pos[r]: a row's result is bitwise the same in any batch.
// bytes: 8 headDim (pos + 1) per (row, head) (K and V rows; GQA heads re-read their KV head);
// flops: ~4 headDim (pos + 1) per (row, head)
// versions: v1 (this file), v2-splitk (attention.v2-splitk.wgsl); the default is in attention.ts
// twin: attention.ref.ts  test: tests/kernels/attention.gpu.test.ts
struct Params { rows: u32, nHeads: u32, nKvHeads: u32, headDim: u32, maxSeq: u32, scale: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> kCache: array<f32>;
@group(0) @binding(4) var<storage, read> vCache: array<f32>;
@group(0) @binding(5) var<storage, read> slot: array<i32>;
@group(0) @binding(6) var<storage, read> pos: array<i32>;
override WG: u32 = 64u; // threads per workgroup = positions per tile; a power of two
const MAX_HEAD_DIM = 256u;
const NEG_BIG = -3.0e38; // "minus infinity" that stays finite (WGSL leaves infinities undefined)

var<workgroup> qs: array<f32, MAX_HEAD_DIM>; // this head's query
var<workgroup> acc: array<f32, MAX_HEAD_DIM>; // sum_t exp(s_t - m) V[t, :], thread i owns i, i + WG, ...
var<workgroup> p: array<f32, WG>; // this tile's exp(s_t - m)
var<workgroup> red: array<f32, WG>; // reduction scratch

// Tree reduction of red[0..WG) into red[0] (max, or sum in a fixed pairing order).
fn reduce(lid: u32, isMax: bool) {
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), isMax);
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let rh = wid.x + wid.y * nw.x; // row * nHeads + head
  if (rh >= P.rows * P.nHeads) { return; }
  let r = rh / P.nHeads;
  let D = P.headDim;
  let kvDim = P.nKvHeads * D;
  let g = (rh % P.nHeads) / (P.nHeads / P.nKvHeads);
  let kv0 = u32(slot[r]) * P.maxSeq * kvDim + g * D; // K/V of position t start at kv0 + t * kvDim
  let n = u32(pos[r]) + 1u;
  for (var i = lid; i < D; i += WG) {
    qs[i] = q[rh * D + i];
    acc[i] = 0.0;
  }
  workgroupBarrier();
  var m = NEG_BIG;
  var l = 0.0;
  for (var t0 = 0u; t0 < n; t0 += WG) {
    let cnt = min(WG, n - t0); // positions in this tile
    // score of position t0 + lid
    var s = NEG_BIG;
    if (lid < cnt) {
      let k0 = kv0 + (t0 + lid) * kvDim;
      var d = 0.0;
      for (var i = 0u; i < D; i++) { d += qs[i] * kCache[k0 + i]; }
      s = d * P.scale;
    }
    red[lid] = s;
    workgroupBarrier();
    reduce(lid, true);
    let mNew = max(m, red[0]);
    let alpha = exp(m - mNew); // rescales what earlier tiles accumulated
    workgroupBarrier(); // everyone has read red[0]
    let e = select(0.0, exp(s - mNew), lid < cnt);
    p[lid] = e;
    red[lid] = e;
    workgroupBarrier();
    reduce(lid, false);
    l = l * alpha + red[0];
    // only the tile's valid positions are read: V beyond pos may hold anything, even NaN
    for (var i = lid; i < D; i += WG) {
      var a = acc[i] * alpha;
      for (var j = 0u; j < cnt; j++) { a += p[j] * vCache[kv0 + (t0 + j) * kvDim + i]; }
      acc[i] = a;
    }
    m = mNew;
    workgroupBarrier(); // before the next tile overwrites p and red
  }
  for (var i = lid; i < D; i += WG) { out[rh * D + i] = acc[i] / l; }
}
