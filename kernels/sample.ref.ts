/**
 * sample (CPU twin): temperature + top-p (nucleus) sampling from logits
 * math:   T[r] = 0 -> argmax.  Otherwise p = softmax(logits[r] / T[r]); the nucleus is the smallest
 *         set of tokens, taken in order of decreasing probability (ties: lower id first), whose
 *         mass reaches topP[r]; the token is the first one in that order whose cumulative mass
 *         exceeds u[r] * (nucleus mass), u[r] in [0, 1) given by the caller (seeded on the host,
 *         so every backend draws the same token from the same numbers).
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
    const p = topP[r]!;
    let count = n;
    for (let i = 0; i < n; i++) order[i] = i;
    if (p < 1) {
      const sorted = order.subarray(0, n).sort((a, b) => probs[b]! - probs[a]! || a - b);
      let mass = 0;
      count = 0;
      while (count < n && mass < p) mass += probs[sorted[count++]!]!;
    }
    let mass = 0;
    for (let i = 0; i < count; i++) mass += probs[order[i]!]!;
    const target = u[r]! * mass;
    let cum = 0;
    let pick = order[count - 1]!;
    for (let i = 0; i < count; i++) {
      cum += probs[order[i]!]!;
      if (cum > target) {
        pick = order[i]!;
        break;
      }
    }
    out[r] = pick;
  }
}
