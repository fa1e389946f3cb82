// rope: rotate-half RoPE in place at per-row positions (Hugging Face layout), half = headDim / 2:
//   x[r,h,i] , x[r,h,i+half]  <-  x[r,h,i] c - x[r,h,i+half] s , x[r,h,i+half] c + x[r,h,i] s
//   with c = cosT[pos[r], i], s = sinT[pos[r], i], i < half
// shapes: x [rows, nHeads, headDim] (read_write, rotated in place); pos [rows] i32;
//         cosT, sinT [maxPos, half] (built in f64 on the host by rope.ref.ts buildRopeTables, stored f32)
// dispatch: one thread per rotated pair: ceil(rows * nHeads * half / WG) workgroups, split over x and y (kernels/rope.ts)
// bytes: 8 per element of x (read + write) + 8 per pair for the tables; flops: 3 per element
// a position outside the table leaves its row unchanged (the twin throws; a shader cannot)
// versions: v1 (this file, default). twin: rope.ref.ts  test: tests/kernels/rope.gpu.test.ts
struct Params { rows: u32, nHeads: u32, headDim: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<i32>;
@group(0) @binding(3) var<storage, read> cosT: array<f32>;
@group(0) @binding(4) var<storage, read> sinT: array<f32>;
override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let half = P.headDim / 2u;
  let k = gid.x + gid.y * nw.x * WG; // pair index over [rows, nHeads, half]
  if (k >= P.rows * P.nHeads * half) { return; }
  let i = k % half;
  let rh = k / half; // row * nHeads + head
  let p = pos[rh / P.nHeads];
  let t = u32(p) * half + i;
  if (p < 0 || t >= arrayLength(&cosT)) { return; }
  let o = rh * P.headDim + i;
  let a = x[o];
  let b = x[o + half];
  let c = cosT[t];
  let s = sinT[t];
  x[o] = a * c - b * s;
  x[o + half] = b * c + a * s;
}
