// kv-append: kCache[slot[r], pos[r], :] = k[r, :];  vCache[slot[r], pos[r], :] = v[r, :]
// shapes: k, v [rows, kvDim] (kvDim = nKvHeads * headDim); kCache, vCache [slots, maxSeq, kvDim]
//         (read_write); slot, pos [rows] i32
// dispatch: one thread per element of k: ceil(rows * kvDim / WG) workgroups, split over x and y (kernels/kv-append.ts)
// bytes: 16 rows kvDim (+ 8 rows for slot and pos); flops: 0 (a bitwise copy)
// a slot or position outside the cache skips its row (the twin throws; a shader cannot)
// versions: v1 (this file, default). twin: kv-append.ref.ts  test: tests/kernels/kv-append.gpu.test.ts
struct Params { rows: u32, kvDim: u32, maxSeq: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(2) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> slot: array<i32>;
@group(0) @binding(6) var<storage, read> pos: array<i32>;
override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let e = gid.x + gid.y * nw.x * WG; // element of k and v
  if (e >= P.rows * P.kvDim) { return; }
  let r = e / P.kvDim;
  let s = slot[r];
  let p = pos[r];
  // slots = whole [maxSeq, kvDim] blocks in the binding (its 16-byte padding holds less than one)
  let slots = arrayLength(&kCache) / (P.maxSeq * P.kvDim);
  if (s < 0 || u32(s) >= slots || p < 0 || u32(p) >= P.maxSeq) { return; }
  let dst = (u32(s) * P.maxSeq + u32(p)) * P.kvDim + e % P.kvDim;
  kCache[dst] = k[e];
  vCache[dst] = v[e];
}
