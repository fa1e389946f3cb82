// attention v2-splitk (flash-decoding with GQA grouping): same math as attention.wgsl
//   out[r,h,:] = sum_t softmax_t(s) V[slot[r], t, g, :],  s_t = scale * q[r,h,:] . K[slot[r], t, g, :],
//   t = 0..pos[r], g = h / (nHeads / nKvHeads)
// shapes: q, out [rows, nHeads, headDim]; kCache, vCache [slots, maxSeq, nKvHeads * headDim];
//         slot, pos [rows] i32; part [rows, nHeads, nChunks, headDim + 2] (scratch: m, l, acc[headDim]);
//         headDim <= MAX_HEAD_DIM
// algorithm: the positions of a row are cut into chunks of WG (chunk c = positions c WG ..). Pass 1
//   (`main`): one workgroup per (chunk, KV head, block of GROUP query heads, row) scores its chunk
//   for all GROUP heads, one position per thread, so each K and V row is read once per KV head;
//   it writes the chunk's max m_c, sum l_c = sum exp(s - m_c) and acc_c = sum exp(s - m_c) V.
//   Pass 2 (`combine`): one workgroup per (row, head) merges the chunks in order:
//   M = max m_c, out = sum_c exp(m_c - M) acc_c / sum_c exp(m_c - M) l_c.
//   Chunk size and every summation order depend only on pos[r] (never on rows or other rows), so a
//   row's result is bitwise the same in any batch. Pass 1 is over-dispatched with
//   nChunks = ceil(maxSeq / WG) chunks per row; chunks past a row's position exit at once
//   (no indirect dispatch). `row0` offsets the rows when the launcher splits a batch to fit `part`.
// dispatch: main (nChunks, nKvHeads * nHeads / (nKvHeads GROUP), rows); combine rows * nHeads, split over x, y
// bytes: 8 headDim (pos + 1) per (row, KV head) + the scratch, 2 (headDim + 2) 4 per (row, head, chunk);
// flops: ~4 headDim (pos + 1) per (row, head)
// versions: v1 (attention.wgsl), v2-splitk (this file); the default is in attention.ts
// twin: attention.ref.ts  test: tests/kernels/attention.gpu.test.ts
struct Params { rows: u32, nHeads: u32, nKvHeads: u32, headDim: u32, maxSeq: u32, scale: f32, nChunks: u32, row0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
// pass 1 (entry main)
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> kCache: array<f32>;
@group(0) @binding(4) var<storage, read> vCache: array<f32>;
@group(0) @binding(5) var<storage, read> slot: array<i32>;
@group(0) @binding(6) var<storage, read> pos: array<i32>;
// pass 2 (entry combine)
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> partIn: array<f32>;
@group(0) @binding(3) var<storage, read> posIn: array<i32>;
override WG: u32 = 64u; // threads per workgroup = positions per chunk; a power of two
override GROUP: u32 = 1u; // query heads per pass-1 workgroup: a divisor of nHeads / nKvHeads, <= MAX_GROUP
const MAX_GROUP = 8u;
const MAX_HEAD_DIM = 256u;
const NEG_BIG = -3.0e38; // "minus infinity" that stays finite (WGSL leaves infinities undefined)

var<workgroup> qs: array<f32, GROUP * MAX_HEAD_DIM>; // the GROUP queries, head j at j * headDim
var<workgroup> sc: array<f32, GROUP * WG>; // head j's scores (then exp(s - m)) at j * WG + position

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x; // chunk
  let R = P.row0 + wid.z; // row
  let n = u32(pos[R]) + 1u;
  let t0 = c * WG;
  if (t0 >= n) { return; }
  let cnt = min(WG, n - t0); // positions in this chunk
  let D = P.headDim;
  let kvDim = P.nKvHeads * D;
  let h0 = wid.y * GROUP; // first query head; the block never straddles two KV heads
  let g = h0 / (P.nHeads / P.nKvHeads);
  let kv0 = (u32(slot[R]) * P.maxSeq + t0) * kvDim + g * D; // K/V of position t0 + j at kv0 + j * kvDim
  for (var i = lid; i < GROUP * D; i += WG) { qs[i] = q[(R * P.nHeads + h0) * D + i]; }
  workgroupBarrier();

  // scores of position t0 + lid for the GROUP heads: each K element is read once
  var s: array<f32, MAX_GROUP>;
  for (var j = 0u; j < GROUP; j++) { s[j] = NEG_BIG; }
  if (lid < cnt) {
    var d = array<f32, MAX_GROUP>();
    let k0 = kv0 + lid * kvDim;
    for (var i = 0u; i < D; i++) {
      let kv = kCache[k0 + i];
      for (var j = 0u; j < GROUP; j++) { d[j] += qs[j * D + i] * kv; }
    }
    for (var j = 0u; j < GROUP; j++) { s[j] = d[j] * P.scale; }
  }
  for (var j = 0u; j < GROUP; j++) { sc[j * WG + lid] = s[j]; }
  workgroupBarrier();
  // per-head max over the chunk: tree reduction in workgroup memory
  for (var st = WG / 2u; st > 0u; st = st / 2u) {
    if (lid < st) {
      for (var j = 0u; j < GROUP; j++) { sc[j * WG + lid] = max(sc[j * WG + lid], sc[j * WG + lid + st]); }
    }
    workgroupBarrier();
  }
  var m: array<f32, MAX_GROUP>;
  for (var j = 0u; j < GROUP; j++) { m[j] = sc[j * WG]; }
  workgroupBarrier(); // everyone has read the maxima
  for (var j = 0u; j < GROUP; j++) { sc[j * WG + lid] = select(0.0, exp(s[j] - m[j]), lid < cnt); }
  workgroupBarrier();

  // partials of head h0 + j start at part[((wid.z * nHeads + h0 + j) * nChunks + c) * (D + 2)]
  let stride = P.nChunks * (D + 2u);
  let p0 = ((wid.z * P.nHeads + h0) * P.nChunks + c) * (D + 2u);
  if (lid < GROUP) {
    var l = 0.0;
    for (var t = 0u; t < cnt; t++) { l += sc[lid * WG + t]; }
    part[p0 + lid * stride] = m[lid];
    part[p0 + lid * stride + 1u] = l;
  }
  // weighted V: thread owns dims i, i + WG, ...; each V element is read once for the GROUP heads,
  // and only the chunk's valid positions are read (V beyond pos may hold anything, even NaN)
  for (var i = lid; i < D; i += WG) {
    var a = array<f32, MAX_GROUP>(); // zeros, every iteration
    for (var t = 0u; t < cnt; t++) {
      let v = vCache[kv0 + t * kvDim + i];
      for (var j = 0u; j < GROUP; j++) { a[j] += sc[j * WG + t] * v; }
    }
    for (var j = 0u; j < GROUP; j++) { part[p0 + j * stride + 2u + i] = a[j]; }
  }
}

@compute @workgroup_size(WG)
fn combine(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let rh = wid.x + wid.y * nw.x; // (row - row0) * nHeads + head
  if (rh >= P.rows * P.nHeads) { return; }
  let D = P.headDim;
  let R = P.row0 + rh / P.nHeads;
  let nc = (u32(posIn[R]) + 1u + WG - 1u) / WG; // chunks of this row
  let p0 = rh * P.nChunks * (D + 2u);
  var M = NEG_BIG;
  for (var c = 0u; c < nc; c++) { M = max(M, partIn[p0 + c * (D + 2u)]); }
  var l = 0.0;
  for (var c = 0u; c < nc; c++) { l += exp(partIn[p0 + c * (D + 2u)] - M) * partIn[p0 + c * (D + 2u) + 1u]; }
  let o = (P.row0 * P.nHeads + rh) * D;
  for (var i = lid; i < D; i += WG) {
    var a = 0.0;
    for (var c = 0u; c < nc; c++) { a += exp(partIn[p0 + c * (D + 2u)] - M) * partIn[p0 + c * (D + 2u) + 2u + i]; }
    out[o + i] = a / l;
  }
}
