/**
 * rope (CPU twin) + the host-side cos/sin tables both backends use
 * math:   Hugging Face rotate-half layout. For head vector x (length d, half = d/2) at position p:
 *           out[i]        = x[i] * cos(p f_i) - x[i + half] * sin(p f_i)
 *           out[i + half] = x[i + half] * cos(p f_i) + x[i] * sin(p f_i),     i < half
 *         with f_i = theta^(-2i/d), optionally rescaled by llama3's frequency-dependent scaling.
 * shapes: x [rows, nHeads, headDim] rotated in place, pos [rows] i32, cos/sin [maxPos, half]
 * tables: built in f64 and rounded once to f32 (more accurate than HF, which builds them in f32).
 * test:   tests/kernels/rope.test.ts
 */

/** Llama 3 RoPE scaling parameters (a structural copy of models/config.ts's type). */
export interface RopeScalingParams {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

/** The inverse frequencies f_i, i < headDim/2, in f64, with llama3 scaling when given. */
export function ropeInvFreq(headDim: number, theta: number, scaling: RopeScalingParams | null): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  if (scaling === null) return inv;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions: old } = scaling;
  const lowWavelen = old / lowFreqFactor;
  const highWavelen = old / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const f = inv[i]!;
    const wavelen = (2 * Math.PI) / f;
    if (wavelen > lowWavelen) inv[i] = f / factor; // low frequencies: fully interpolated
    else if (wavelen >= highWavelen) {
      // medium frequencies: blend between interpolated and original
      const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      inv[i] = (1 - smooth) * (f / factor) + smooth * f;
    } // high frequencies: unchanged
  }
  return inv;
}

/** cos/sin tables [maxPos, headDim/2], computed in f64, stored as f32. */
export function buildRopeTables(
  headDim: number,
  theta: number,
  scaling: RopeScalingParams | null,
  maxPos: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const inv = ropeInvFreq(headDim, theta, scaling);
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * inv[i]!;
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

export function ropeRef(
  x: Float32Array,
  pos: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
  rows: number,
  nHeads: number,
  headDim: number,
): void {
  const half = headDim / 2;
  const maxPos = cos.length / half;
  for (let r = 0; r < rows; r++) {
    const p = pos[r]!;
    if (p < 0 || p >= maxPos) throw new RangeError(`position ${p} is outside the RoPE table (0..${maxPos - 1})`);
    const t = p * half;
    for (let h = 0; h < nHeads; h++) {
      const o = (r * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[o + i]!;
        const b = x[o + i + half]!;
        const c = cos[t + i]!;
        const s = sin[t + i]!;
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
}
