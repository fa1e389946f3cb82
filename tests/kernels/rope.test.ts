import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { buildRopeTables, ropeInvFreq, ropeRef, type RopeScalingParams } from '../../kernels/rope.ref.js';
import { DECIMAL, F32_REL, ROWS, expectClose, expectSame, randomF32 } from './check.js';

// The cos/sin tables are f64 values rounded to f32 (2^-24 relative each) and the rotated pair is
// rounded to f32 again, so an output is within about 2^-23 * (|a| + |b|) of the exact rotation
// (a, b the pair it came from): ROT_REL scales by that pair magnitude, which stays meaningful
// when the output itself is near zero.
const ROT_REL = 2 * F32_REL;
// Inverse frequencies are f64 all the way: the twin and the naive formula differ only by the
// pow/division rounding of a few f64 operations.
const FREQ_REL = 1e-13;

const LLAMA3: RopeScalingParams = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };

/** The brief's formula for llama3 frequency scaling, written out independently of the twin. */
function naiveInvFreq(headDim: number, theta: number, s: RopeScalingParams | null): number[] {
  const out: number[] = [];
  for (let i = 0; i < headDim / 2; i++) {
    const f = theta ** (-(2 * i) / headDim);
    if (s === null) {
      out.push(f);
      continue;
    }
    const wavelen = (2 * Math.PI) / f;
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    if (wavelen > lowWavelen) out.push(f / s.factor);
    else if (wavelen < highWavelen) out.push(f);
    else {
      const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out.push((1 - smooth) * (f / s.factor) + smooth * f);
    }
  }
  return out;
}

/** Exact rotate-half rotation of x [rows, nHeads, headDim] in f64, angles from naiveInvFreq. */
function naiveRope(x: Float32Array, pos: Int32Array, rows: number, nHeads: number, headDim: number, inv: number[]): Float64Array {
  const half = headDim / 2;
  const y = Float64Array.from(x);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < nHeads; h++) {
      const o = (r * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const angle = pos[r]! * inv[i]!;
        const [a, b] = [x[o + i]!, x[o + half + i]!];
        y[o + i] = a * Math.cos(angle) - b * Math.sin(angle);
        y[o + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
  }
  return y;
}

/** Per-element tolerance: ROT_REL times |a| + |b| of the element's pair. */
function pairTol(x: Float32Array, headDim: number): (i: number) => number {
  const half = headDim / 2;
  return (i) => {
    const o = i - (i % headDim);
    const j = (i % headDim) % half;
    return ROT_REL * (Math.abs(x[o + j]!) + Math.abs(x[o + half + j]!));
  };
}

describe('rope twin', () => {
  it('position 0 is the identity', () => {
    // cos(0 * f) = 1 and sin(0 * f) = 0 exactly: a*1 - b*0 = a, b*1 + a*0 = b
    const seed = 0x0e0;
    const rng = new Rng(seed);
    const { cos, sin } = buildRopeTables(14, 10000, null, 5);
    const x = randomF32(rng, 3 * 14, 2);
    const y = x.slice();
    ropeRef(y, new Int32Array(1), cos, sin, 1, 3, 14);
    expectSame(y, x, `seed=${seed} pos 0`);
  });

  it('headDim 2, theta 10000, position 1: a rotation by 1 radian', () => {
    // f_0 = 10000^(-0/2) = 1, angle = 1 * 1 = 1 rad; cos 1 = 0.54030231, sin 1 = 0.84147098
    const { cos, sin } = buildRopeTables(2, 10000, null, 3);
    // tables [pos, half]: rows p = 0, 1, 2 hold cos(p), sin(p) rounded to f32
    expectSame(cos, [1, Math.fround(Math.cos(1)), Math.fround(Math.cos(2))], 'cos table');
    expectSame(sin, [0, Math.fround(Math.sin(1)), Math.fround(Math.sin(2))], 'sin table');
    // x = [1, 0] -> [cos 1, sin 1]
    const x = new Float32Array([1, 0]);
    ropeRef(x, new Int32Array([1]), cos, sin, 1, 1, 2);
    expectClose(x, [0.54030231, 0.84147098], DECIMAL, '[1, 0] at pos 1');
    // x = [2, 3] -> [2 cos1 - 3 sin1, 3 cos1 + 2 sin1] = [1.0806046 - 2.5244129, 1.6209069 + 1.6829420]
    //           = [-1.4438083, 3.3038489]
    const y = new Float32Array([2, 3]);
    ropeRef(y, new Int32Array([1]), cos, sin, 1, 1, 2);
    expectClose(y, [-1.4438083, 3.3038489], DECIMAL, '[2, 3] at pos 1');
  });

  it('uses the rotate-half layout: pairs (i, i + half), not (2i, 2i + 1)', () => {
    // headDim 4, theta 100: f_0 = 100^0 = 1, f_1 = 100^(-2/4) = 0.1; position 1
    // x = e_0 -> pair (0, 2) rotated by 1 rad: [cos 1, 0, sin 1, 0] (interleaved would give [cos 1, sin 1, 0, 0])
    // x = e_1 -> pair (1, 3) rotated by 0.1 rad: [0, cos 0.1, 0, sin 0.1] = [0, 0.99500417, 0, 0.09983342]
    const { cos, sin } = buildRopeTables(4, 100, null, 2);
    const x = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]); // two rows
    ropeRef(x, new Int32Array([1, 1]), cos, sin, 2, 1, 4);
    expectClose(x, [0.54030231, 0, 0.84147098, 0, 0, 0.99500417, 0, 0.09983342], DECIMAL, 'rotate-half');
  });

  it('keeps each pair\'s norm', () => {
    const seed = 0x2022;
    const rng = new Rng(seed);
    const headDim = 14;
    const half = headDim / 2;
    const { cos, sin } = buildRopeTables(headDim, 10000, null, 67);
    const x = randomF32(rng, 5 * 3 * headDim, 4);
    const pos = new Int32Array([0, 1, 13, 31, 66]);
    const y = x.slice();
    ropeRef(y, pos, cos, sin, 5, 3, headDim);
    const before: number[] = [];
    const after: number[] = [];
    for (let o = 0; o < x.length; o += headDim) {
      for (let i = 0; i < half; i++) {
        before.push(Math.hypot(x[o + i]!, x[o + half + i]!));
        after.push(Math.hypot(y[o + i]!, y[o + half + i]!));
      }
    }
    // |(a, b)| changes by the table's cos^2 + sin^2 = 1 +- 2^-23 and the f32 output rounding
    expectClose(after, before, { rel: ROT_REL }, `seed=${seed} pair norms`);
  });

  it('matches a naive f64 rotation on random heads, positions and sizes, with and without llama3 scaling', () => {
    const seed = 0x7e11;
    const rng = new Rng(seed);
    const maxPos = 67;
    for (const scaling of [null, LLAMA3]) {
      for (const headDim of [2, 6, 14, 26, 64]) {
        const theta = scaling === null ? 10000 : 500000;
        const { cos, sin } = buildRopeTables(headDim, theta, scaling, maxPos);
        const inv = naiveInvFreq(headDim, theta, scaling);
        for (const rows of ROWS) {
          for (const nHeads of [1, 3]) {
            const x = randomF32(rng, rows * nHeads * headDim, 3);
            const pos = new Int32Array(rows).map(() => rng.int(maxPos));
            pos[rows - 1] = maxPos - 1; // the last table row is usable
            const y = x.slice();
            ropeRef(y, pos, cos, sin, rows, nHeads, headDim);
            const what = `seed=${seed} scaling=${scaling !== null} headDim=${headDim} rows=${rows} nHeads=${nHeads} pos=${pos.join(',')}`;
            expectClose(y, naiveRope(x, pos, rows, nHeads, headDim, inv), pairTol(x, headDim), what);
          }
        }
      }
    }
  });

  it('throws on a position outside the table', () => {
    const { cos, sin } = buildRopeTables(4, 10000, null, 4);
    const x = new Float32Array(4);
    expect(() => ropeRef(x, new Int32Array([4]), cos, sin, 1, 1, 4)).toThrow(RangeError);
    expect(() => ropeRef(x, new Int32Array([-1]), cos, sin, 1, 1, 4)).toThrow(RangeError);
    expect(() => ropeRef(x, new Int32Array([3]), cos, sin, 1, 1, 4)).not.toThrow();
  });
});

describe('ropeInvFreq with llama3 scaling', () => {
  // factor 8, low 1, high 4, old 8192; headDim 128, theta 500000: f_i = 500000^(-i/64), i < 64
  // low_wavelen = 8192 / 1 = 8192, high_wavelen = 8192 / 4 = 2048, wavelen_i = 2 pi / f_i
  const scaled = ropeInvFreq(128, 500000, LLAMA3);
  const plain = ropeInvFreq(128, 500000, null);

  it('unscaled frequencies are theta^(-2i/d)', () => {
    // i = 0: 500000^0 = 1; i = 32: 500000^(-1/2) = 1/707.10678 = 0.0014142136
    expect(plain[0]).toBe(1);
    expectClose([plain[32]!], [0.0014142136], DECIMAL, 'f_32');
    expectClose(plain, naiveInvFreq(128, 500000, null), { rel: FREQ_REL }, 'plain vs naive');
  });

  it('high frequencies (wavelen < 2048) are unchanged', () => {
    // i = 0: wavelen = 2 pi = 6.28 < 2048. i = 28: f = 500000^(-28/64) = 0.0032114460,
    // wavelen = 1956.50 < 2048 (the last high one)
    for (const i of [0, 10, 28]) expect(scaled[i], `i=${i}`).toBe(plain[i]);
  });

  it('low frequencies (wavelen > 8192) are divided by the factor', () => {
    // i = 35: f = 500000^(-35/64) = 7.6449699e-4, wavelen = 8218.72 > 8192 (the first low one)
    // f' = 7.6449699e-4 / 8 = 9.5562124e-5
    expectClose([scaled[35]!], [9.5562124e-5], DECIMAL, 'i=35');
    for (const i of [35, 50, 63]) expectClose([scaled[i]!], [plain[i]! / 8], { rel: FREQ_REL }, `i=${i}`);
  });

  it('medium frequencies are blended', () => {
    // i = 32: f = 0.0014142136, wavelen = 2 pi * 707.10678 = 4442.8829 (between 2048 and 8192)
    // smooth = (8192 / 4442.8829 - 1) / (4 - 1) = (1.8438577 - 1) / 3 = 0.28128590
    // f' = (1 - 0.28128590) * f / 8 + 0.28128590 * f = f * (0.089839262 + 0.28128590) = f * 0.37112516
    //    = 5.2484616e-4
    expectClose([scaled[32]!], [5.2484616e-4], DECIMAL, 'i=32');
    // i = 29 (wavelen 2401.74, just above 2048) is mostly f; i = 34 (wavelen 6695.11) mostly f / 8
    expect(scaled[29]! / plain[29]!).toBeGreaterThan(0.8);
    expect(scaled[34]! / plain[34]!).toBeLessThan(0.2);
    for (let i = 29; i <= 34; i++) {
      expect(scaled[i]!, `i=${i}`).toBeLessThan(plain[i]!);
      expect(scaled[i]!, `i=${i}`).toBeGreaterThan(plain[i]! / 8);
    }
  });

  it('every index matches the formula (bands at i <= 28, 29..34, >= 35)', () => {
    expectClose(scaled, naiveInvFreq(128, 500000, LLAMA3), { rel: FREQ_REL }, 'llama3 vs naive');
  });
});
