// embedding: out[r, :] = table[ids[r], :], for the rows whose id falls in this table part
// shapes: table part [partRows, dim] (WT: f32, or f16 with shader-f16) holding table rows
//   [row0, row0 + partRows); ids [rows] i32; out [rows, dim] f32
// dispatch: ceil(rows dim / WG) workgroups split over x and y, once per table part
//   (kernels/embedding.ts); a row whose id lies outside the part (or the vocabulary) is skipped,
//   never read out of bounds (the host validates ids; an invalid one leaves its row unwritten)
// bytes: rows dim (4 + sizeof WT) + rows 4 per part; flops: 0
// versions: v1 (this file, default). twin: embedding.ref.ts  test: tests/kernels/embedding.gpu.test.ts
alias WT = f32;
struct Params { rows: u32, dim: u32, row0: u32, partRows: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> table: array<WT>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= P.rows * P.dim) { return; }
  let r = i / P.dim;
  let local = ids[r] - i32(P.row0);
  if (local < 0 || u32(local) >= P.partRows) { return; }
  out[i] = f32(table[u32(local) * P.dim + (i - r * P.dim)]);
}
