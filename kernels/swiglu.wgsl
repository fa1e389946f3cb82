// swiglu: out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g))
// shapes: gate, up, out [n] (rows x hidden, flattened); entry main_inplace writes over gate;
//         entry main_gu reads a fused gate/up projection gu [rows, 2 hidden] (gate | up) into out [rows, hidden]
// dispatch: ceil(n / WG) workgroups, split over x and y (kernels/swiglu.ts)
// bytes: 12 n; flops: ~5 n + n exp
// versions: v1 (this file, default). twin: swiglu.ref.ts  test: tests/kernels/swiglu.test.ts
struct Params { n: u32, hidden: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
override WG: u32 = 256u;

fn silu_mul(g: f32, u: f32) -> f32 {
  return g / (1.0 + exp(-g)) * u;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= P.n) { return; }
  out[i] = silu_mul(gate[i], up[i]);
}

@compute @workgroup_size(WG)
fn main_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= P.n) { return; }
  gate[i] = silu_mul(gate[i], up[i]);
}

@compute @workgroup_size(WG)
fn main_gu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= P.n) { return; }
  let r = i / P.hidden;
  let c = i - r * P.hidden;
  let g = r * 2u * P.hidden + c;
  // this entry binds its output at binding 1 (`gate`) and the fused gate/up rows at binding 2 (`up`)
  gate[i] = silu_mul(up[g], up[g + P.hidden]);
}
