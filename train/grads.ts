/**
 * Backward twins: for every op the training forward uses, a plain function that takes the
 * gradient of the op's output and returns the gradients of its inputs, mirroring the forward twin
 * in kernels/*.ref.ts (same shapes, same layouts, f32 storage, f64 accumulation, no allocation in
 * the hot loops; scratch lives in module-level arrays that grow when a call needs more).
 *
 * Conventions (the learner's checklist when chaining these in model-train.ts):
 *   - parameter gradients (dTable, dW, db, dw) ACCUMULATE (+=): several batches, or a weight used
 *     twice (the tied embedding is both the input table and the LM head), add up;
 *   - input gradients are OVERWRITTEN, except rmsnormBackward's dx, which accumulates because a
 *     norm's input is the residual stream, whose gradient already holds the skip path's;
 *   - residual-add needs no twin: y = x + f(x) passes dy to both branches unchanged.
 * test: tests/train/grads.test.ts (each twin against central finite differences of an f64 forward)
 */
import { linearRef } from '../kernels/linear.ref.js';

let scratchA = new Float64Array(256);
let scratchB = new Float64Array(256);

function f64A(n: number): Float64Array {
  if (scratchA.length < n) scratchA = new Float64Array(n);
  return scratchA;
}

function f64B(n: number): Float64Array {
  if (scratchB.length < n) scratchB = new Float64Array(n);
  return scratchB;
}

/**
 * embedding backward (twin of embeddingRef)
 * math:   dTable[ids[r], :] += dOut[r, :]   (scatter-add: a token seen twice gets both rows)
 * shapes: dTable [vocab, dim], dOut [rows, dim], ids [rows] i32
 */
export function embeddingBackward(dTable: Float32Array, dOut: Float32Array, ids: Int32Array, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const t = ids[r]! * dim;
    const o = r * dim;
    for (let i = 0; i < dim; i++) dTable[t + i] = dTable[t + i]! + dOut[o + i]!;
  }
}

/**
 * rmsnorm backward (twin of rmsnormRef)
 * math:   y_i = w_i x_i s,  s = (mean_j x_j^2 + eps)^(-1/2)
 *         dw_i += sum_r dy_i x_i s
 *         dx_i += s w_i dy_i - x_i s^3 / dim * sum_j w_j dy_j x_j
 * shapes: dx (accumulated), dOut, x [rows, dim]; dw (accumulated), w [dim]
 */
export function rmsnormBackward(dx: Float32Array, dw: Float32Array, dOut: Float32Array, x: Float32Array, w: Float32Array, rows: number, dim: number, eps: number): void {
  const dwAcc = f64A(dim);
  dwAcc.fill(0, 0, dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    let dot = 0;
    for (let i = 0; i < dim; i++) {
      const v = x[o + i]!;
      ss += v * v;
      dot += w[i]! * dOut[o + i]! * v;
    }
    const s = 1 / Math.sqrt(ss / dim + eps);
    const c = (dot * s * s * s) / dim;
    for (let i = 0; i < dim; i++) {
      const v = x[o + i]!;
      const g = dOut[o + i]!;
      dwAcc[i] += g * v * s;
      dx[o + i] = dx[o + i]! + (s * w[i]! * g - v * c);
    }
  }
  for (let i = 0; i < dim; i++) dw[i] = dw[i]! + dwAcc[i]!;
}

/** Scratch tensors of the caller's element type (f32 normally, f64 under a gradient check), by slot. */
const typed = new Map<unknown, Float32Array[]>();
function scratchLike(like: Float32Array, slot: number, n: number): Float32Array {
  const ctor = like.constructor as Float32ArrayConstructor;
  let pool = typed.get(ctor);
  if (pool === undefined) typed.set(ctor, (pool = []));
  if (pool[slot] === undefined || pool[slot]!.length < n) pool[slot] = new ctor(n);
  return pool[slot]!;
}

/** out [cols, rows] = a [rows, cols] transposed. */
function transpose(out: Float32Array, a: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[o + c]!;
  }
}

/**
 * linear backward (twin of linearRef, y = x W^T + b, HF layout W [out, in])
 * math:   dx[r, k]  = sum_o dy[r, o] W[o, k]          (overwritten)
 *         dW[o, k] += sum_r dy[r, o] x[r, k]
 *         db[o]    += sum_r dy[r, o]
 * shapes: dy [rows, outDim], x / dx [rows, inDim], W / dW [outDim, inDim], db [outDim]; pass null
 *         for a gradient not wanted (the first layer's input, a missing bias).
 * how:    both products are linearRef itself on transposed operands (dx = dy (W^T)^T with W^T
 *         [inDim, outDim]; dW = dy^T (x^T)^T with dy^T [outDim, rows], x^T [inDim, rows]), so they
 *         run in the engine's register-blocked loop with its f64 accumulation; the transposes cost
 *         O(rows (in + out) + in out), small beside the O(rows in out) products.
 */
export function linearBackward(
  dx: Float32Array | null,
  dW: Float32Array | null,
  db: Float32Array | null,
  dy: Float32Array,
  x: Float32Array,
  W: Float32Array,
  rows: number,
  inDim: number,
  outDim: number,
): void {
  if (dx !== null) {
    const wt = scratchLike(W, 0, inDim * outDim);
    transpose(wt, W, outDim, inDim); //                                       W^T [inDim, outDim]
    linearRef(dx, dy, wt, null, rows, outDim, inDim); //                      dx [rows, inDim]
  }
  if (dW !== null) {
    const dyT = scratchLike(dy, 1, outDim * rows);
    const xT = scratchLike(x, 2, inDim * rows);
    const prod = scratchLike(dW, 3, outDim * inDim);
    transpose(dyT, dy, rows, outDim); //                                      dy^T [outDim, rows]
    transpose(xT, x, rows, inDim); //                                         x^T [inDim, rows]
    linearRef(prod, dyT, xT, null, outDim, rows, inDim); //                   dy^T x [outDim, inDim]
    const n = outDim * inDim;
    for (let i = 0; i < n; i++) dW[i] = dW[i]! + prod[i]!;
  }
  if (db !== null) {
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += dy[r * outDim + o]!;
      db[o] = db[o]! + s;
    }
  }
}

/**
 * rope backward (twin of ropeRef): RoPE is a rotation by angle p f_i of each pair (x_i, x_{i+half}),
 * so its gradient is the inverse rotation (the transpose) applied to dy:
 *         dx_i        =  dy_i c + dy_{i+half} s
 *         dx_{i+half} = -dy_i s + dy_{i+half} c,      c = cos(p f_i), s = sin(p f_i)
 * shapes: d [rows, nHeads, headDim] rotated back in place, pos [rows] i32, cos/sin [maxPos, half]
 */
export function ropeBackward(d: Float32Array, pos: Int32Array, cos: Float32Array, sin: Float32Array, rows: number, nHeads: number, headDim: number): void {
  const half = headDim / 2;
  for (let r = 0; r < rows; r++) {
    const t = pos[r]! * half;
    for (let h = 0; h < nHeads; h++) {
      const o = (r * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = d[o + i]!;
        const b = d[o + i + half]!;
        const c = cos[t + i]!;
        const s = sin[t + i]!;
        d[o + i] = a * c + b * s;
        d[o + i + half] = b * c - a * s;
      }
    }
  }
}

/**
 * causal self-attention over a full batch of sequences, training forward (the whole-sequence
 * counterpart of attentionRef: row t of sequence b sees positions 0..t of its own sequence)
 * math:   for query head h, KV head g = h / (nHeads / nKvHeads):
 *           S[t, u] = q[b, t, h] . k[b, u, g] / sqrt(headDim),  u <= t
 *           P[t, :] = softmax(S[t, :])   (saved: the backward needs it)
 *           out[b, t, h] = sum_u P[t, u] v[b, u, g]
 * shapes: q, out [B * T, nHeads * headDim]; k, v [B * T, nKvHeads * headDim];
 *         probs [B, nHeads, T, T] (row t holds P[t, 0..t]; entries u > t are written 0)
 * numerics: as attentionRef: dot products, softmax sums and the V sum in f64, in position order,
 *         so rows agree with the engine's KV-cache path to f32 rounding.
 * rows:   by default sequence b is rows b T .. b T + T - 1; with `starts`/`lens` it is rows
 *         starts[b] .. starts[b] + lens[b] - 1 (a packed batch whose padding tails were dropped:
 *         causal attention never lets a position see a later one, so the kept rows are unchanged);
 *         probs keeps its [B, nHeads, T, T] layout, rows t >= lens[b] untouched.
 */
export function attentionTrainForward(
  out: Float32Array,
  probs: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  T: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  starts?: Int32Array,
  lens?: Int32Array,
): void {
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const scores = f64A(T);
  const acc = f64B(headDim);
  for (let b = 0; b < B; b++) {
    const s0 = starts === undefined ? b * T : starts[b]!;
    const len = lens === undefined ? T : lens[b]!;
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / group);
      const pBase = (b * nHeads + h) * T * T;
      for (let t = 0; t < len; t++) {
        const qo = (s0 + t) * qDim + h * headDim;
        let m = -Infinity;
        let u = 0;
        // four keys at a time: four independent dot products (each still summed over i in order)
        for (; u + 3 <= t; u += 4) {
          const k0 = (s0 + u) * kvDim + g * headDim;
          const k1 = k0 + kvDim;
          const k2 = k1 + kvDim;
          const k3 = k2 + kvDim;
          let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
          for (let i = 0; i < headDim; i++) {
            const x = q[qo + i]!;
            d0 += x * k[k0 + i]!;
            d1 += x * k[k1 + i]!;
            d2 += x * k[k2 + i]!;
            d3 += x * k[k3 + i]!;
          }
          d0 *= scale; d1 *= scale; d2 *= scale; d3 *= scale;
          scores[u] = d0; scores[u + 1] = d1; scores[u + 2] = d2; scores[u + 3] = d3;
          if (d0 > m) m = d0;
          if (d1 > m) m = d1;
          if (d2 > m) m = d2;
          if (d3 > m) m = d3;
        }
        for (; u <= t; u++) {
          const ko = (s0 + u) * kvDim + g * headDim;
          let d = 0;
          for (let i = 0; i < headDim; i++) d += q[qo + i]! * k[ko + i]!;
          d *= scale;
          scores[u] = d;
          if (d > m) m = d;
        }
        let sum = 0;
        for (let u = 0; u <= t; u++) {
          const e = Math.exp(scores[u]! - m);
          scores[u] = e;
          sum += e;
        }
        acc.fill(0, 0, headDim);
        u = 0;
        for (; u + 3 <= t; u += 4) {
          const p0 = scores[u]!, p1 = scores[u + 1]!, p2 = scores[u + 2]!, p3 = scores[u + 3]!;
          const v0 = (s0 + u) * kvDim + g * headDim;
          const v1 = v0 + kvDim;
          const v2 = v1 + kvDim;
          const v3 = v2 + kvDim;
          for (let i = 0; i < headDim; i++) {
            let a = acc[i]!;
            a += p0 * v[v0 + i]!; // the same additions in the same order as one key at a time
            a += p1 * v[v1 + i]!;
            a += p2 * v[v2 + i]!;
            a += p3 * v[v3 + i]!;
            acc[i] = a;
          }
        }
        for (; u <= t; u++) {
          const p = scores[u]!;
          const vo = (s0 + u) * kvDim + g * headDim;
          for (let i = 0; i < headDim; i++) acc[i] += p * v[vo + i]!;
        }
        const inv = 1 / sum;
        for (let i = 0; i < headDim; i++) out[qo + i] = acc[i]! * inv;
        const po = pBase + t * T;
        for (let u = 0; u <= t; u++) probs[po + u] = scores[u]! * inv;
        for (let u = t + 1; u < T; u++) probs[po + u] = 0;
      }
    }
  }
}

/**
 * causal self-attention backward (twin of attentionTrainForward)
 * math:   dP[t, u] = dOut[t] . v[u]
 *         dS[t, u] = P[t, u] (dP[t, u] - sum_u' P[t, u'] dP[t, u'])      (softmax backward)
 *         dq[t]  = scale * sum_u dS[t, u] k[u]
 *         dk[u]  = scale * sum_{h in group} sum_t dS[t, u] q[t]          (GQA: the heads sharing
 *         dv[u]  =         sum_{h in group} sum_t P[t, u] dOut[t]         a KV head add up)
 * shapes: as the forward; dq [B * T, qDim], dk, dv [B * T, kvDim], all overwritten.
 * numerics: dk and dv of one (sequence, KV head) accumulate in f64 scratch [T, headDim] before
 *         the single f32 store.
 * rows:   `starts`/`lens` as in attentionTrainForward (only rows t < lens[b] are read or written).
 */
export function attentionTrainBackward(
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  dOut: Float32Array,
  probs: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  T: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  starts?: Int32Array,
  lens?: Int32Array,
): void {
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const dS = f64A(T + 2 * T * headDim + headDim);
  const dk64 = dS.subarray(T, T + T * headDim);
  const dv64 = dS.subarray(T + T * headDim, T + 2 * T * headDim);
  const dq64 = dS.subarray(T + 2 * T * headDim, T + 2 * T * headDim + headDim);
  for (let b = 0; b < B; b++) {
    const s0 = starts === undefined ? b * T : starts[b]!;
    const len = lens === undefined ? T : lens[b]!;
    for (let g = 0; g < nKvHeads; g++) {
      dk64.fill(0, 0, len * headDim);
      dv64.fill(0, 0, len * headDim);
      for (let h = g * group; h < (g + 1) * group; h++) {
        const pBase = (b * nHeads + h) * T * T;
        for (let t = 0; t < len; t++) {
          const qo = (s0 + t) * qDim + h * headDim;
          const po = pBase + t * T;
          // dP and the row's weighted mean sum_u P dP
          let mean = 0;
          let u = 0;
          for (; u + 3 <= t; u += 4) {
            const v0 = (s0 + u) * kvDim + g * headDim;
            const v1 = v0 + kvDim;
            const v2 = v1 + kvDim;
            const v3 = v2 + kvDim;
            let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
            for (let i = 0; i < headDim; i++) {
              const x = dOut[qo + i]!;
              d0 += x * v[v0 + i]!;
              d1 += x * v[v1 + i]!;
              d2 += x * v[v2 + i]!;
              d3 += x * v[v3 + i]!;
            }
            dS[u] = d0; dS[u + 1] = d1; dS[u + 2] = d2; dS[u + 3] = d3;
            mean += probs[po + u]! * d0;
            mean += probs[po + u + 1]! * d1;
            mean += probs[po + u + 2]! * d2;
            mean += probs[po + u + 3]! * d3;
          }
          for (; u <= t; u++) {
            const vo = (s0 + u) * kvDim + g * headDim;
            let d = 0;
            for (let i = 0; i < headDim; i++) d += dOut[qo + i]! * v[vo + i]!;
            dS[u] = d;
            mean += probs[po + u]! * d;
          }
          dq64.fill(0);
          u = 0;
          for (; u + 1 <= t; u += 2) {
            const p0 = probs[po + u]!;
            const p1 = probs[po + u + 1]!;
            const sa = p0 * (dS[u]! - mean) * scale;
            const sb = p1 * (dS[u + 1]! - mean) * scale;
            const k0 = (s0 + u) * kvDim + g * headDim;
            const k1 = k0 + kvDim;
            const a0 = u * headDim;
            const a1 = a0 + headDim;
            for (let i = 0; i < headDim; i++) {
              const x = q[qo + i]!;
              const y = dOut[qo + i]!;
              let c = dq64[i]!;
              c += sa * k[k0 + i]!; // key u then key u + 1, as one key at a time
              c += sb * k[k1 + i]!;
              dq64[i] = c;
              dk64[a0 + i] += sa * x;
              dv64[a0 + i] += p0 * y;
              dk64[a1 + i] += sb * x;
              dv64[a1 + i] += p1 * y;
            }
          }
          for (; u <= t; u++) {
            const p = probs[po + u]!;
            const s = p * (dS[u]! - mean) * scale;
            const ko = (s0 + u) * kvDim + g * headDim;
            const a = u * headDim;
            for (let i = 0; i < headDim; i++) {
              dq64[i] += s * k[ko + i]!;
              dk64[a + i] += s * q[qo + i]!;
              dv64[a + i] += p * dOut[qo + i]!;
            }
          }
          for (let i = 0; i < headDim; i++) dq[qo + i] = dq64[i]!;
        }
      }
      for (let u = 0; u < len; u++) {
        const ko = (s0 + u) * kvDim + g * headDim;
        const a = u * headDim;
        for (let i = 0; i < headDim; i++) {
          dk[ko + i] = dk64[a + i]!;
          dv[ko + i] = dv64[a + i]!;
        }
      }
    }
  }
}

/**
 * swiglu backward (twin of swigluRef)
 * math:   out = silu(g) u,  silu(g) = g sigma(g),  silu'(g) = sigma(g) (1 + g (1 - sigma(g)))
 *         dgate = dOut u silu'(g),  dup = dOut silu(g)
 * shapes: dgate, dup, dOut, gate, up [n] (dgate, dup overwritten)
 */
export function swigluBackward(dgate: Float32Array, dup: Float32Array, dOut: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    const sg = 1 / (1 + Math.exp(-g));
    const d = dOut[i]!;
    dgate[i] = d * up[i]! * sg * (1 + g * (1 - sg));
    dup[i] = d * g * sg;
  }
}

/**
 * swiglu backward on a fused gate/up projection's rows (twin of swigluGuRef): the per-row
 * composition of swigluBackward.
 * shapes: dgu, gu [rows, 2 * hidden] (gate | up; dgu overwritten), dOut [rows, hidden]
 */
export function swigluGuBackward(dgu: Float32Array, dOut: Float32Array, gu: Float32Array, rows: number, hidden: number): void {
  for (let r = 0; r < rows; r++) {
    const g = r * 2 * hidden;
    swigluBackward(
      dgu.subarray(g, g + hidden),
      dgu.subarray(g + hidden, g + 2 * hidden),
      dOut.subarray(r * hidden, (r + 1) * hidden),
      gu.subarray(g, g + hidden),
      gu.subarray(g + hidden, g + 2 * hidden),
      hidden,
    );
  }
}

/** Row r's log-sum-exp, max subtracted, summed in f64 (as logSoftmaxRef). */
function logSumExp(x: Float32Array, o: number, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[o + i]! > m) m = x[o + i]!;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[o + i]! - m);
  return m + Math.log(s);
}

/**
 * log-probability of each row's target (forward; log_softmax then gather, as logSoftmaxRef)
 * math:   logp[r] = logits[r, tgt[r]] - logsumexp(logits[r, :])
 * shapes: logp [rows], logits [rows, vocab], targets [rows] i32
 */
export function targetLogprobs(logp: Float32Array, logits: Float32Array, targets: Int32Array, rows: number, vocab: number): void {
  for (let r = 0; r < rows; r++) logp[r] = logits[r * vocab + targets[r]!]! - logSumExp(logits, r * vocab, vocab);
}

/**
 * targetLogprobs backward
 * math:   dlogits[r, i] = dlogp[r] (1[i = tgt[r]] - softmax(logits[r])_i)
 * shapes: dlogits [rows, vocab] (overwritten), dlogp [rows], logits [rows, vocab], targets [rows] i32
 */
export function targetLogprobsBackward(dlogits: Float32Array, dlogp: Float32Array, logits: Float32Array, targets: Int32Array, rows: number, vocab: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const d = dlogp[r]!;
    if (d === 0) {
      dlogits.fill(0, o, o + vocab);
      continue;
    }
    const lse = logSumExp(logits, o, vocab);
    for (let i = 0; i < vocab; i++) dlogits[o + i] = -d * Math.exp(logits[o + i]! - lse);
    const t = o + targets[r]!;
    dlogits[t] = dlogits[t]! + d;
  }
}

/**
 * cross-entropy with a target mask: the SFT loss (assistant tokens only) and the pretraining loss
 * math:   loss = -(1 / N) sum_r mask[r] logp[r],   N = sum_r mask[r]   (0 when N = 0)
 *         dlogits[r, i] = (mask[r] / N) (softmax(logits[r])_i - 1[i = tgt[r]])
 *         (the targetLogprobs backward with dlogp[r] = -mask[r] / N)
 * shapes: dlogits [rows, vocab] (overwritten), logits [rows, vocab], targets [rows] i32, mask [rows]
 * returns the loss.
 */
export function crossEntropy(dlogits: Float32Array, logits: Float32Array, targets: Int32Array, mask: Float32Array, rows: number, vocab: number): number {
  let n = 0;
  for (let r = 0; r < rows; r++) n += mask[r]!;
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const m = mask[r]!;
    if (m === 0 || n === 0) {
      dlogits.fill(0, o, o + vocab);
      continue;
    }
    const lse = logSumExp(logits, o, vocab);
    loss -= m * (logits[o + targets[r]!]! - lse);
    const c = m / n;
    for (let i = 0; i < vocab; i++) dlogits[o + i] = c * Math.exp(logits[o + i]! - lse);
    const t = o + targets[r]!;
    dlogits[t] = dlogits[t]! - c;
  }
  return n === 0 ? 0 : loss / n;
}
