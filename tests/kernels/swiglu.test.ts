import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { swigluGuRef, swigluRef } from '../../kernels/swiglu.ref.js';
import { DECIMAL, F32_REL, SIZES, expectClose, expectSame, randomF32 } from './check.js';

// silu(g) * up is computed in f64 from f32 inputs and rounded once: within 2^-24 of |out|.
// A naive f64 formula written differently (x * sigmoid) differs by a few f64 ulps, far below that.
const TOL = { rel: F32_REL };

const sigmoid = (g: number) => (g >= 0 ? 1 / (1 + Math.exp(-g)) : Math.exp(g) / (1 + Math.exp(g)));

describe('swiglu twin', () => {
  it('hand-computed values', () => {
    // silu(0) = 0 / (1 + 1) = 0                      -> 0 * 5 = 0
    // silu(1) = 1 / (1 + e^-1) = 1 / 1.3678794 = 0.73105858   -> * 2   = 1.4621172
    // silu(-1) = -1 / (1 + e) = -1 / 3.7182818 = -0.26894142  -> * 1   = -0.26894142
    // silu(2) = 2 / (1 + e^-2) = 2 / 1.1353353 = 1.7615942    -> * 0.5 = 0.88079708
    const out = new Float32Array(4);
    swigluRef(out, new Float32Array([0, 1, -1, 2]), new Float32Array([5, 2, 1, 0.5]), 4);
    expectClose(out, [0, 1.4621172, -0.26894142, 0.88079708], DECIMAL, 'hand');
  });

  it('saturates without NaN: silu(1000) = 1000, silu(-1000) = 0', () => {
    // g = 1000: e^-1000 = 0, 1000 / 1 = 1000.  g = -1000: e^1000 = Infinity, -1000 / Infinity = -0.
    // g = +-89 (e^89 = 4.5e38 is past f32 max but fine in f64): silu(89) = 89 / (1 + 2.2e-39) = 89,
    // silu(-89) = -89 / (1 + 4.4896e38) = -89 * 2.2273636e-39 = -1.9823536e-37.
    const g = new Float32Array([1000, -1000, 89, -89, 3e38, -3e38]);
    const out = new Float32Array(6);
    swigluRef(out, g, new Float32Array(6).fill(1), 6);
    expect(out.every((v) => !Number.isNaN(v))).toBe(true);
    expect(out[0]).toBe(1000);
    expect(Math.abs(out[1]!)).toBe(0);
    expectClose([out[2]!, out[3]!], [89, -1.9823536e-37], DECIMAL, '+-89');
    expect(out[4]).toBe(Math.fround(3e38));
    expect(Math.abs(out[5]!)).toBe(0);
  });

  it('matches a naive f64 x * sigmoid(x) * up on random inputs at awkward sizes, in place too', () => {
    const seed = 0x5ec0;
    const rng = new Rng(seed);
    for (const n of [...SIZES, 67 * 3]) {
      for (const scale of [0.1, 4, 30]) {
        const gate = randomF32(rng, n, scale);
        const up = randomF32(rng, n, 2);
        const out = new Float32Array(n);
        swigluRef(out, gate, up, n);
        const want = Array.from(gate, (g, i) => g * sigmoid(g) * up[i]!);
        const what = `seed=${seed} n=${n} scale=${scale}`;
        expectClose(out, want, TOL, what);
        swigluRef(gate, gate, up, n); // out may alias gate
        expectSame(gate, out, `${what} in place`);
      }
    }
  });
});

describe('swigluGuRef (fused gate/up rows)', () => {
  it('row r uses gate = gu[r, :h] and up = gu[r, h:]', () => {
    // rows 2, hidden 2: gu = [[0, 1000 | 3, 2], [1000, 0 | 5, 7]] -> [[0*3, 1000*2], [1000*5, 0*7]]
    const out = new Float32Array(4);
    swigluGuRef(out, Float32Array.of(0, 1000, 3, 2, 1000, 0, 5, 7), 2, 2);
    expect(Array.from(out)).toEqual([0, 2000, 5000, 0]);
  });
});
