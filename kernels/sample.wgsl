// sample: out[r] = a token id drawn from softmax(logits[r] / T[r]) restricted to the top-p nucleus,
//   by the inverse CDF in id order at u[r] (the contract is in sample.ref.ts); T[r] <= 0 is argmax
// shapes: logits [rows, n] f32; temperature, topP, u [rows] f32; out [rows] i32
// dispatch: one workgroup of WG threads per row, rows split over x and y (kernels/sample.ts).
//   With e_i = exp((x_i - m) / T), m the row max, p_i = e_i / S: all work is in e, never divided.
//   1. m, then S = sum e_i: stride-WG slices, then a fixed tree.
//   2. topP < 1: tau = the largest e value whose mass (sum of e_i >= tau) reaches topP * S. Mass is
//      non-increasing in the threshold and non-negative floats order like their bit patterns, so a
//      binary search over the bits in [0, e(m)] finds tau exactly in 30 passes, without a sort.
//   3. Inverse CDF in id order: thread k sums the nucleus in its contiguous chunk of ids; one
//      thread scans the WG chunk sums in order (monotone, so at most one chunk holds the goal
//      u * mass; none only when u * mass rounds up to the mass); that chunk's thread walks its ids.
//   Every sum has a fixed order, so a row's token does not depend on the batch.
// bytes: 4 rows n per pass over the logits: 2 passes (max, chunk sums; the walk reads one chunk),
//   33 when topP < 1 (+ S and 30 bisection passes); flops: ~4 + 1 exp per element per pass
// versions: v1 (this file, default). twin: sample.ref.ts  test: tests/kernels/sample.gpu.test.ts
struct Params { rows: u32, n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> temperature: array<f32>;
@group(0) @binding(3) var<storage, read> topP: array<f32>;
@group(0) @binding(4) var<storage, read> u: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<i32>;
override WG: u32 = 256u; // a power of two: the tree halves it

const NONE = 0xffffffffu;
var<workgroup> red: array<f32, WG>;
var<workgroup> redKey: array<u32, WG>;
var<workgroup> redIdx: array<u32, WG>;
var<workgroup> nucleusMass: f32;
var<workgroup> picked: u32;
var<workgroup> lastIn: atomic<u32>; // 1 + the largest nucleus id (0: none)

// ---- temperature 0: argmax, as argmax.wgsl (WGSL has no includes) ----

// An integer key that orders like the float: -0 ties +0, NaN is 0, below every number.
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
    let k = orderKey(logits[o + i]);
    if (k > bk) { bk = k; bi = i; }
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

// ---- temperature > 0 ----

fn treeSum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

fn rowMax(o: u32, lid: u32) -> f32 {
  var m = logits[o]; // WGSL has no -inf literal
  for (var i = lid; i < P.n; i += WG) { m = max(m, logits[o + i]); }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  m = red[0];
  workgroupBarrier();
  return m;
}

// The unnormalised probability; every pass evaluates the same expression, so a token's e is the
// same number in each.
fn weight(v: f32, m: f32, t: f32) -> f32 {
  return exp((v - m) / t);
}

// The sum of e_i >= th over the row (th = 0: the whole row).
fn massAbove(o: u32, lid: u32, m: f32, t: f32, th: f32) -> f32 {
  var s = 0.0;
  for (var i = lid; i < P.n; i += WG) {
    let e = weight(logits[o + i], m, t);
    if (e >= th) { s += e; }
  }
  return treeSum(lid, s);
}

// tau = the largest e value with mass(tau) >= goal (the contract's threshold: the probability at
// which the sorted mass first reaches topP, ties included). 30 halvings of [0, bits(e(m)) <= 2^30).
fn nucleusThreshold(o: u32, lid: u32, m: f32, t: f32, goal: f32) -> f32 {
  var lo = 0u;
  var hi = bitcast<u32>(weight(m, m, t));
  for (var it = 0u; it < 30u; it++) {
    let mid = lo + (hi - lo + 1u) / 2u;
    let mass = massAbove(o, lid, m, t, bitcast<f32>(mid));
    if (lo < hi) {
      if (mass >= goal) { lo = mid; } else { hi = mid - 1u; }
    }
  }
  return bitcast<f32>(lo);
}

// The first nucleus id, in id order, whose cumulative mass exceeds goal = u * (nucleus mass).
fn inverseCdf(o: u32, lid: u32, m: f32, t: f32, tau: f32, uRow: f32) -> i32 {
  let chunk = (P.n + WG - 1u) / WG;
  let a = min(lid * chunk, P.n);
  let b = min(a + chunk, P.n);
  var s = 0.0;
  var last = 0u;
  for (var i = a; i < b; i++) {
    let e = weight(logits[o + i], m, t);
    if (e >= tau) { s += e; last = i + 1u; }
  }
  red[lid] = s;
  if (lid == 0u) { atomicStore(&lastIn, 0u); picked = NONE; }
  workgroupBarrier();
  if (last > 0u) { atomicMax(&lastIn, last); }
  if (lid == 0u) {
    // sequential exclusive scan: each prefix is the previous plus a non-negative sum, so the
    // prefixes never decrease and the chunks' [start, end) intervals do not overlap
    var acc = 0.0;
    for (var k = 0u; k < WG; k++) { let c = red[k]; red[k] = acc; acc += c; }
    nucleusMass = acc;
  }
  workgroupBarrier();
  let goal = uRow * nucleusMass;
  let start = red[lid];
  var end = nucleusMass;
  if (lid + 1u < WG) { end = red[lid + 1u]; }
  if (start <= goal && goal < end) {
    var cum = start;
    var pick = last - 1u; // rounding left the walk short of goal: the chunk's last nucleus id
    for (var i = a; i < b; i++) {
      let e = weight(logits[o + i], m, t);
      if (e >= tau) {
        cum += e;
        if (cum > goal) { pick = i; break; }
      }
    }
    picked = pick;
  }
  workgroupBarrier();
  // no chunk holds goal only when u * mass rounded up to the mass: the last nucleus id, as the twin
  return select(i32(atomicLoad(&lastIn)) - 1, i32(picked), picked != NONE);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nw.x;
  if (row >= P.rows) { return; }
  let o = row * P.n;
  let t = temperature[row];
  var id: i32;
  if (t <= 0.0) {
    id = rowArgmax(o, lid);
  } else {
    let m = rowMax(o, lid);
    var tau = 0.0;
    let p = topP[row];
    if (p < 1.0) { tau = nucleusThreshold(o, lid, m, t, p * massAbove(o, lid, m, t, 0.0)); }
    id = inverseCdf(o, lid, m, t, tau, u[row]);
  }
  if (lid == 0u) { out[row] = id; }
}
