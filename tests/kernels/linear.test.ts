import { describe, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { linearRef } from '../../kernels/linear.ref.js';
import { F32_REL, ROWS, SENTINEL, expectClose, expectSame, randomF32 } from './check.js';

// The kernel accumulates each output in f64 and rounds once to f32. The f64 error (about
// inDim * 2^-53 of sum |x w|) is negligible; the f32 rounding is at most 2^-24 of |y|, and
// |y| <= sum_k |x_k w_k| + |b|. So the bound is F32_REL times that magnitude, which stays
// meaningful when the sum cancels to near zero.
function tolerance(x: Float32Array, w: Float32Array, bias: Float32Array | null, rows: number, inDim: number, outDim: number): Float64Array {
  const t = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let m = bias === null ? 0 : Math.abs(bias[o]!);
      for (let k = 0; k < inDim; k++) m += Math.abs(x[r * inDim + k]! * w[o * inDim + k]!);
      t[r * outDim + o] = F32_REL * m;
    }
  }
  return t;
}

function naiveLinear(x: Float32Array, w: Float32Array, bias: Float32Array | null, rows: number, inDim: number, outDim: number): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let k = 0; k < inDim; k++) s += x[r * inDim + k]! * w[o * inDim + k]!;
      y[r * outDim + o] = s + (bias === null ? 0 : bias[o]!);
    }
  }
  return y;
}

const OUT_DIMS = [1, 3, 4, 5, 7] as const; // below, at and around the 4-output block
const IN_DIMS = [1, 7, 64] as const;

describe('linear twin', () => {
  it('a hand-computed 1x3 by 3x2 product with bias', () => {
    // x = [1, 2, 3]; W = [[1, 0, -1], [2, 1, 0]] (outDim 2, inDim 3, HF layout); b = [0.5, -1]
    // y0 = 1*1 + 2*0 + 3*(-1) + 0.5 = -1.5;  y1 = 1*2 + 2*1 + 3*0 - 1 = 3
    const out = new Float32Array(3).fill(SENTINEL);
    linearRef(out, new Float32Array([1, 2, 3]), new Float32Array([1, 0, -1, 2, 1, 0]), new Float32Array([0.5, -1]), 1, 3, 2);
    expectSame(out, [-1.5, 3, SENTINEL], 'hand 1x3x2');
  });

  it('a hand-computed 2-row, 5-output product (blocked + tail paths)', () => {
    // W row o = [o, 1] (inDim 2); x rows [1, 10] and [-2, 0.5]
    // row 0: y_o = o*1 + 1*10 = o + 10          -> [10, 11, 12, 13, 14]
    // row 1: y_o = o*(-2) + 1*0.5 = 0.5 - 2o     -> [0.5, -1.5, -3.5, -5.5, -7.5]
    const w = new Float32Array([0, 1, 1, 1, 2, 1, 3, 1, 4, 1]);
    const out = new Float32Array(10);
    linearRef(out, new Float32Array([1, 10, -2, 0.5]), w, null, 2, 2, 5);
    expectSame(out, [10, 11, 12, 13, 14, 0.5, -1.5, -3.5, -5.5, -7.5], 'hand 2x2x5');
  });

  it('the identity matrix returns x exactly; a zero matrix returns the bias exactly', () => {
    const seed = 0x11d;
    const rng = new Rng(seed);
    for (const rows of ROWS) {
      for (const dim of [1, 3, 4, 5, 7]) {
        const eye = new Float32Array(dim * dim);
        for (let i = 0; i < dim; i++) eye[i * dim + i] = 1;
        const x = randomF32(rng, rows * dim, 5);
        const out = new Float32Array(rows * dim);
        // sum of x_k * 1 and (dim - 1) exact zeros is x_k exactly
        linearRef(out, x, eye, null, rows, dim, dim);
        expectSame(out, x, `seed=${seed} identity rows=${rows} dim=${dim}`);
        const b = randomF32(rng, dim, 5);
        linearRef(out, x, new Float32Array(dim * dim), b, rows, dim, dim);
        const want = new Float32Array(rows * dim);
        for (let r = 0; r < rows; r++) want.set(b, r * dim);
        expectSame(out, want, `seed=${seed} bias only rows=${rows} dim=${dim}`);
      }
    }
  });

  it('matches a naive f64 product on random inputs at awkward sizes, with and without bias', () => {
    const seed = 0x1a2b;
    const rng = new Rng(seed);
    for (const rows of ROWS) {
      for (const outDim of OUT_DIMS) {
        for (const inDim of IN_DIMS) {
          for (const withBias of [false, true]) {
            const x = randomF32(rng, rows * inDim, 2);
            const w = randomF32(rng, outDim * inDim, 0.5);
            const b = withBias ? randomF32(rng, outDim, 1) : null;
            const out = new Float32Array(rows * outDim + 3).fill(SENTINEL);
            linearRef(out, x, w, b, rows, inDim, outDim);
            const what = `seed=${seed} rows=${rows} outDim=${outDim} inDim=${inDim} bias=${withBias}`;
            const tol = tolerance(x, w, b, rows, inDim, outDim);
            expectClose(out.subarray(0, rows * outDim), naiveLinear(x, w, b, rows, inDim, outDim), (i) => tol[i]!, what);
            expectSame(out.subarray(rows * outDim), [SENTINEL, SENTINEL, SENTINEL], `${what}: writes past rows * outDim`);
          }
        }
      }
    }
  });

  it('is batch-invariant: each row of a batch equals that row computed alone, bit for bit', () => {
    // Rows 0-1 and 2-3 of a 5-row batch take the 2-row blocked path (as row 0 or row 1 of the
    // block), row 4 the 1-row path; a row alone always takes the 1-row path. Outputs 0-3 take the
    // 4-output block, the rest the tail. All must sum each output in the same order.
    const seed = 0xba7c;
    const rng = new Rng(seed);
    for (const outDim of OUT_DIMS) {
      for (const inDim of IN_DIMS) {
        for (const withBias of [false, true]) {
          const x = randomF32(rng, 5 * inDim, 3);
          const w = randomF32(rng, outDim * inDim, 1);
          const b = withBias ? randomF32(rng, outDim, 1) : null;
          const what = `seed=${seed} outDim=${outDim} inDim=${inDim} bias=${withBias}`;
          const batch = new Float32Array(5 * outDim);
          linearRef(batch, x, w, b, 5, inDim, outDim);
          for (let r = 0; r < 5; r++) {
            const alone = new Float32Array(outDim);
            linearRef(alone, x.subarray(r * inDim, (r + 1) * inDim), w, b, 1, inDim, outDim);
            expectSame(batch.subarray(r * outDim, (r + 1) * outDim), alone, `${what}: row ${r} of 5 vs alone`);
          }
          // the same row placed at every position of the batch gives the same bits
          const row = x.subarray(0, inDim);
          for (const rows of [2, 3, 5]) {
            for (let at = 0; at < rows; at++) {
              const xs = randomF32(rng, rows * inDim, 3);
              xs.set(row, at * inDim);
              const ys = new Float32Array(rows * outDim);
              linearRef(ys, xs, w, b, rows, inDim, outDim);
              expectSame(ys.subarray(at * outDim, (at + 1) * outDim), batch.subarray(0, outDim), `${what}: row 0 placed at ${at} of ${rows}`);
            }
          }
        }
      }
    }
  });
});
