// gather-rows: out[i, :] = src[idx[i], :]
// shapes: src [srcRows, dim], idx [n] i32, out [n, dim]
// dispatch: ceil(n dim / WG) workgroups split over x and y (kernels/gather-rows.ts); an index
//   outside 0..srcRows-1 (the host rejects it) leaves its row unwritten, never read out of bounds
// bytes: 8 n dim + 4 n; flops: 0
// versions: v1 (this file, default). twin: backend.ts gatherRowsRef  test: tests/kernels/gather-rows.gpu.test.ts
struct Params { n: u32, dim: u32, srcRows: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let e = gid.x + gid.y * nw.x * WG;
  if (e >= P.n * P.dim) { return; }
  let i = e / P.dim;
  let r = idx[i];
  if (r < 0 || u32(r) >= P.srcRows) { return; }
  out[e] = src[u32(r) * P.dim + (e - i * P.dim)];
}
