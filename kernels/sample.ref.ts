/**
 * sample (CPU twin): temperature + top-p (nucleus) sampling from logits
 * math:   T[r] = 0 -> argmax.  Otherwise p = softmax(logits[r] / T[r]). With topP[r] < 1 the nucleus
 *         is every token whose probability is at least tau, where tau is the probability at which
 *         the tokens taken in decreasing order first reach mass topP[r] (tokens tied with tau are
 *         all in, so the set does not depend on any sort order); with topP[r] = 1 it is every token.
 *         The token is the first nucleus token, walking in id order, whose cumulative mass
 *         exceeds u[r] * (nucleus mass), with u[r] in [0, 1) drawn by the caller (seeded on the
 *         host, so every backend draws the same token from the same numbers). Walking in id order
 *         needs no sort, which a GPU can do with a prefix sum.
 * shapes: logits [rows, n]; temperature, topP, u [rows]; out [rows] i32
 * test:   tests/kernels/sample.test.ts
 */
import { argmaxRef } from './argmax.ref.js';

export interface SampleScratch {
  probs: Float64Array; // [n]
  order: Int32Array; // [n]
}

export function sampleScratch(n: number): SampleScratch {
  return { probs: new Float64Array(n), order: new Int32Array(n) };
}

export function sampleRef(
  out: Int32Array,
  logits: Float32Array,
  rows: number,
  n: number,
  temperature: Float32Array,
  topP: Float32Array,
  u: Float32Array,
  scratch: SampleScratch = sampleScratch(n),
): void {
  const { probs, order } = scratch;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const t = temperature[r]!;
    if (t <= 0) {
      argmaxRef(out.subarray(r, r + 1), logits.subarray(o, o + n), 1, n);
      continue;
    }
    let m = -Infinity;
    for (let i = 0; i < n; i++) if (logits[o + i]! > m) m = logits[o + i]!;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp((logits[o + i]! - m) / t);
      probs[i] = e;
      sum += e;
    }
    for (let i = 0; i < n; i++) probs[i] = probs[i]! / sum;
    // nucleus threshold: the probability at which the sorted mass first reaches topP
    let tau = 0;
    const p = topP[r]!;
    if (p < 1) {
      const sorted = order.subarray(0, n);
      for (let i = 0; i < n; i++) sorted[i] = i;
      sorted.sort((a, b) => probs[b]! - probs[a]! || a - b);
      let mass = 0;
      for (let i = 0; i < n; i++) {
        mass += probs[sorted[i]!]!;
        tau = probs[sorted[i]!]!;
        if (mass >= p) break;
      }
    }
    let mass = 0;
    for (let i = 0; i < n; i++) if (probs[i]! >= tau) mass += probs[i]!;
    const target = u[r]! * mass;
    let cum = 0;
    let pick = -1;
    for (let i = 0; i < n; i++) {
      if (probs[i]! < tau) continue;
      cum += probs[i]!;
      pick = i;
      if (cum > target) break;
    }
    out[r] = pick;
  }
}
