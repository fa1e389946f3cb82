// qkv-rope: rotate-half RoPE on the fused QKV projection output, with the KV-cache append (HF layout):
//   for row r with qkv[r] = [q | k | v] (widths qDim = nHeads*headDim, kvDim = nKvHeads*headDim, kvDim),
//   p = pos[r], s = slot[r], half = headDim / 2, c = cosT[p, i], s_ = sinT[p, i], i < half:
//     q[r, h, i], q[r, h, i+half]                 <- a c - b s_ , b c + a s_   (a, b: the q pair of head h)
//     kCache[s, p, h, i], kCache[s, p, h, i+half] <- a c - b s_ , b c + a s_   (a, b: the k pair of kv head h)
//     vCache[s, p, :]                              <- qkv[r].v (a bitwise copy)
//   the same f32 expressions as rope.wgsl, so the result equals rope + kv-append bitwise
// shapes: qkv [rows, qDim + 2 kvDim] (read); q [rows, qDim] (written); kCache, vCache [slots, maxSeq, kvDim]
//         (written at [slot[r], pos[r]]); pos, slot [rows] i32; cosT, sinT [maxPos, half] (rope.ref.ts buildRopeTables)
// dispatch: one thread per rotated q pair, per rotated k pair and per v element:
//           ceil(rows * ((nHeads + nKvHeads) * half + kvDim) / WG) workgroups, split over x and y (kernels/qkv-rope.ts)
// bytes: 8 rows (qDim + 2 kvDim) + 8 rows (nHeads + nKvHeads) half for the tables; flops: 3 per rotated element
// a row whose slot or position is outside the cache, or whose position is outside the table, is
// skipped whole (q row and caches untouched); the twin throws, a shader cannot, the host validates
// versions: v1 (this file, default). twin: qkv-rope.ref.ts  test: tests/kernels/qkv-rope.gpu.test.ts
struct Params { rows: u32, nHeads: u32, nKvHeads: u32, headDim: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(3) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(4) var<storage, read> qkv: array<f32>;
@group(0) @binding(5) var<storage, read> pos: array<i32>;
@group(0) @binding(6) var<storage, read> slot: array<i32>;
@group(0) @binding(7) var<storage, read> cosT: array<f32>;
@group(0) @binding(8) var<storage, read> sinT: array<f32>;
override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let half = P.headDim / 2u;
  let qDim = P.nHeads * P.headDim;
  let kvDim = P.nKvHeads * P.headDim;
  let qPairs = P.nHeads * half;
  let kPairs = P.nKvHeads * half;
  let perRow = qPairs + kPairs + kvDim; // threads per row: q pairs, then k pairs, then v elements
  let w = gid.x + gid.y * nw.x * WG;
  if (w >= P.rows * perRow) { return; }
  let r = w / perRow;
  let j = w % perRow;
  let p = pos[r];
  let sl = slot[r];
  // slots = whole [maxSeq, kvDim] blocks in the binding (its 16-byte padding holds less than one);
  // the table must hold the whole row (p + 1) * half (its padding may hold a few extra positions
  // when half < 4, which the host's validation against maxPos covers)
  let slots = arrayLength(&kCache) / (P.maxSeq * kvDim);
  if (p < 0 || u32(p) >= P.maxSeq || sl < 0 || u32(sl) >= slots || (u32(p) + 1u) * half > arrayLength(&cosT)) { return; }
  let src = r * (qDim + 2u * kvDim);
  let cell = (u32(sl) * P.maxSeq + u32(p)) * kvDim;
  if (j >= qPairs + kPairs) {
    let e = j - qPairs - kPairs;
    vCache[cell + e] = qkv[src + qDim + kvDim + e];
    return;
  }
  let isK = j >= qPairs;
  var jj: u32 = j;
  if (isK) { jj = j - qPairs; }
  let i = jj % half;
  let o = (jj / half) * P.headDim + i; // head * headDim + i, within q[r] or k[r]
  var at: u32 = src + o;
  if (isK) { at = src + qDim + o; }
  let t = u32(p) * half + i;
  let a = qkv[at];
  let b = qkv[at + half];
  let c = cosT[t];
  let s = sinT[t];
  let x0 = a * c - b * s;
  let x1 = b * c + a * s;
  if (isK) {
    kCache[cell + o] = x0;
    kCache[cell + o + half] = x1;
  } else {
    q[r * qDim + o] = x0;
    q[r * qDim + o + half] = x1;
  }
}
