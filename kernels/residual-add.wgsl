// residual-add: x[r] += branch[r]; then, on steered rows (steer on, a = alpha[r, site] != 0 and
//   pos[r] >= from[r]): x[r] += a * V[vec[r], site], rescaled to |x[r] + branch[r]| with
//   preserveNorm; entry main_norm also writes norm_out[r] = rmsnorm(x_new[r]) * norm_w (the fused
//   residual-add + RMSNorm: x keeps the un-normed sum).
// shapes: x, branch, norm_out [rows, dim]; vectors [nVec, nSites, dim]; alpha [rows, nSites];
//   vec, from, pos [rows] i32; norm_w [dim]. Steering off (Params.steer = 0) binds dummies.
// dispatch: one workgroup of WG threads per row (rows split over x and y, kernels/residual-add.ts)
// numerics: x + branch rounds once (bitwise the twin's); the row sums (pre/post-steer norms, the
//   norm's sum of squares) use rmsnorm.wgsl's fixed order: per-thread strided f32 sums, then a
//   halving tree over WG threads. Independent of rows, so batch-invariant; main_norm's output is
//   bitwise rmsnorm.wgsl's on the same x.
// bytes: 3 rows dim 4 (+ rows dim 4 steered, + rows dim 4 + dim 4 normed); flops: ~2-9 rows dim
// versions: v1 (this file, default). twin: residual-add.ref.ts (residualSteerRef,
//   residualSteerNormRef)  test: tests/kernels/residual-add.gpu.test.ts
struct Params { rows: u32, dim: u32, steer: u32, nSites: u32, site: u32, nVec: u32, preserveNorm: u32, eps: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> branch: array<f32>;
@group(0) @binding(3) var<storage, read> vectors: array<f32>;
@group(0) @binding(4) var<storage, read> alpha: array<f32>;
@group(0) @binding(5) var<storage, read> vec_id: array<i32>;
@group(0) @binding(6) var<storage, read> from_pos: array<i32>;
@group(0) @binding(7) var<storage, read> pos: array<i32>;
@group(0) @binding(8) var<storage, read> norm_w: array<f32>;
@group(0) @binding(9) var<storage, read_write> norm_out: array<f32>;
override WG: u32 = 256u; // a power of two (the tree halves it)

var<workgroup> red: array<vec2<f32>, WG>;

// Both sums of every thread's v, in the same order for every row; all threads get them.
fn reduce2(t: u32, v: vec2<f32>) -> vec2<f32> {
  red[t] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (t < s) { red[t] = red[t] + red[t + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // every thread has read red[0] before a next reduction overwrites it
  return total;
}

// Writes row r's new residual; returns this thread's partial sum of its squares (elements t, t + WG, ...).
fn residual_steer(t: u32, r: u32) -> f32 {
  let o = r * P.dim;
  var a = 0.0; // the row's multiplier; 0 = not steered
  var vo = 0u; // its vector's first element
  if (P.steer != 0u) {
    let k = alpha[r * P.nSites + P.site];
    let vi = vec_id[r];
    // an index outside the stack (the host rejects it) leaves the row unsteered rather than read out of bounds
    if (k != 0.0 && pos[r] >= from_pos[r] && vi >= 0 && u32(vi) < P.nVec) {
      a = k;
      vo = (u32(vi) * P.nSites + P.site) * P.dim;
    }
  }
  var before = 0.0;
  var after = 0.0;
  for (var i = t; i < P.dim; i += WG) {
    let s = x[o + i] + branch[o + i];
    var v = s;
    if (a != 0.0) { v = s + a * vectors[vo + i]; }
    x[o + i] = v;
    before += s * s;
    after += v * v;
  }
  if (P.steer != 0u && P.preserveNorm != 0u) {
    let n = reduce2(t, vec2(before, after));
    if (a != 0.0 && n.y > 0.0) {
      let k = sqrt(n.x / n.y);
      after = 0.0;
      for (var i = t; i < P.dim; i += WG) {
        let v = x[o + i] * k;
        x[o + i] = v;
        after += v * v;
      }
    }
  }
  return after;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let r = wid.x + wid.y * nw.x;
  if (r >= P.rows) { return; }
  residual_steer(t, r);
}

@compute @workgroup_size(WG)
fn main_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let r = wid.x + wid.y * nw.x;
  if (r >= P.rows) { return; }
  let ss = reduce2(t, vec2(residual_steer(t, r), 0.0)).x;
  let inv = 1.0 / sqrt(ss / f32(P.dim) + P.eps);
  let o = r * P.dim;
  // each thread reads back only the elements it wrote, so no barrier is needed
  for (var i = t; i < P.dim; i += WG) { norm_out[o + i] = norm_w[i] * (x[o + i] * inv); }
}
