import { describe, it, expect } from 'vitest';
import {
  bf16BitsToF32,
  bf16ToF32,
  f16BitsToF32,
  f16ToF32,
  f32ToBf16,
  f32ToBf16Bits,
  f32ToF16,
  f32ToF16Bits,
} from '../../engine/dtype.js';

/** Test-table rows with the 16-bit pattern shown in hex in the test name. */
function hexRows(rows: [number, number][], bitsFirst: boolean): { hex: string; bits: number; value: number }[] {
  return rows.map(([a, b]) => {
    const [bits, value] = bitsFirst ? [a, b] : [b, a];
    return { hex: '0x' + bits.toString(16).padStart(4, '0'), bits, value };
  });
}

/** f32 bit pattern -> number. */
function fromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

/** An f16 value computed from its fields in f64, independent of the table. */
function f16Reference(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

describe('f16 -> f32', () => {
  it.each(hexRows([
    [0x3c00, 1],
    [0xc100, -2.5],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x0000, 0],
  ] as [number, number][], true))('$hex decodes to $value', ({ bits, value }) => {
    expect(f16BitsToF32(bits)).toBe(value);
  });

  it('keeps the sign of zero and decodes NaN to NaN', () => {
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(f16BitsToF32(0xfe01)).toBeNaN();
  });

  it('matches the field-by-field reference for all 65536 bit patterns', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = new Float32Array(65536);
    f16ToF32(all, out);
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const ref = f16Reference(h);
      if (Number.isNaN(ref) ? !Number.isNaN(out[h]) : !Object.is(out[h], ref)) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('round-trips every non-NaN f16 through f32 bit-exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = new Float32Array(65536);
    const back = new Uint16Array(65536);
    f16ToF32(all, f);
    f32ToF16(f, back);
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const ok = Number.isNaN(f[h]) ? (back[h]! & 0x7e00) === 0x7e00 /* a quiet NaN */ : back[h] === h;
      if (!ok) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('runs the TSDoc example', () => {
    const out = new Float32Array(2);
    f16ToF32(new Uint16Array([0x3c00, 0xc100]), out);
    expect([...out]).toEqual([1, -2.5]);
  });

  it('writes into subarray views at their offset', () => {
    const out = new Float32Array(4);
    f16ToF32(new Uint16Array([0x3c00, 0x4000]), out.subarray(1, 3));
    expect([...out]).toEqual([0, 1, 2, 0]);
  });

  it('refuses an output of another length', () => {
    expect(() => f16ToF32(new Uint16Array(3), new Float32Array(2))).toThrow(/3 elements but output has 2/);
  });
});

describe('f32 -> f16 (round to nearest even)', () => {
  it.each(hexRows([
    [1, 0x3c00],
    [-2.5, 0xc100],
    [65504, 0x7bff],
    [65519.99, 0x7bff], // below the midpoint to 65536: stays finite
    [65520, 0x7c00], // the midpoint ties to even, which is inf
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // half of it: tie to even (0)
    [fromBits(0x33000001), 0x0001], // just above half: rounds up
    [3 * 2 ** -25, 0x0002], // tie between subnormals 1 and 2: to even
    [1023.5 * 2 ** -24, 0x0400], // tie between the largest subnormal and the smallest normal
    [2 ** -14, 0x0400],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01: to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: to even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the tie
    [1e-40, 0x0000], // an f32 subnormal underflows
    [0, 0x0000],
    [-0, 0x8000],
  ] as [number, number][], false))('$value encodes to $hex', ({ bits, value }) => {
    expect(f32ToF16Bits(value)).toBe(bits);
  });

  it('picks the nearest f16 (ties to even) for 200k random f32 values', () => {
    let seed = 12345;
    const src = new Float32Array(200_000);
    const u = new Uint32Array(src.buffer);
    for (let i = 0; i < u.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      // Exponents spread over the f16 range and a little beyond it on both ends.
      u[i] = (seed & 0x807fffff) | ((98 + (seed % 50)) << 23);
    }
    const dst = new Uint16Array(src.length);
    f32ToF16(src, dst);
    const bad: number[] = [];
    for (let i = 0; i < src.length; i++) {
      const x = Math.abs(src[i]!);
      const m = dst[i]! & 0x7fff;
      if (m === 0x7c00) {
        if (x < 65520) bad.push(i);
        continue;
      }
      const d = Math.abs(x - f16BitsToF32(m));
      const up = Math.abs(x - f16BitsToF32(m + 1));
      const down = m > 0 ? Math.abs(x - f16BitsToF32(m - 1)) : Infinity;
      if (d > up || d > down || ((d === up || d === down) && (m & 1) !== 0)) bad.push(i);
      if ((dst[i]! & 0x8000) !== 0 !== src[i]! < 0) bad.push(i);
    }
    expect(bad.slice(0, 5).map((i) => src[i])).toEqual([]);
  });

  it('keeps NaN a quiet NaN', () => {
    expect(f32ToF16Bits(NaN) & 0x7e00).toBe(0x7e00);
    expect(f32ToF16Bits(NaN) & 0x7fff).not.toBe(0x7c00);
  });

  it('runs the TSDoc example', () => {
    const out = new Uint16Array(2);
    f32ToF16(new Float32Array([65504, 1e6]), out);
    expect([...out]).toEqual([0x7bff, 0x7c00]);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
  });
});

describe('bf16 <-> f32', () => {
  it.each(hexRows([
    [0x3f80, 1],
    [0xc020, -2.5],
    [0x4780, 65536],
    [0x0001, 2 ** -133], // smallest bf16 subnormal
    [0x7f80, Infinity],
    [0xff80, -Infinity],
  ] as [number, number][], true))('$hex decodes to $value', ({ bits, value }) => {
    expect(bf16BitsToF32(bits)).toBe(value);
  });

  it('keeps the sign of zero and decodes NaN to NaN', () => {
    expect(Object.is(bf16BitsToF32(0x8000), -0)).toBe(true);
    expect(bf16BitsToF32(0x7fc0)).toBeNaN();
  });

  it.each(hexRows([
    [1, 0x3f80],
    [-2.5, 0xc020],
    [65504, 0x4780], // 1.1111111|111 rounds up to 2^16
    [fromBits(0x3f808000), 0x3f80], // tie: to even
    [fromBits(0x3f818000), 0x3f82], // tie: to even
    [fromBits(0x3f808001), 0x3f81], // above the tie
    [fromBits(0x7f7fffff), 0x7f80], // largest f32 rounds to inf
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [2 ** -24, 0x3380],
    [-0, 0x8000],
  ] as [number, number][], false))('$value encodes to $hex', ({ bits, value }) => {
    expect(f32ToBf16Bits(value)).toBe(bits);
  });

  it('keeps NaN a quiet NaN, even one whose payload sits in the dropped bits', () => {
    const n = fromBits(0x7f800001);
    expect(Number.isNaN(n)).toBe(true);
    const out = new Uint16Array(1);
    f32ToBf16(new Float32Array(new Uint32Array([0x7f800001]).buffer), out);
    expect(bf16BitsToF32(out[0]!)).toBeNaN();
  });

  it('round-trips every non-NaN bf16 exactly (arrays)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = new Float32Array(65536);
    const back = new Uint16Array(65536);
    bf16ToF32(all, f);
    f32ToBf16(f, back);
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const ok = Number.isNaN(f[h]) ? Number.isNaN(bf16BitsToF32(back[h]!)) : back[h] === h;
      if (!ok) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('runs the TSDoc examples', () => {
    const f = new Float32Array(1);
    bf16ToF32(new Uint16Array([0x3f80]), f);
    expect(f[0]).toBe(1);
    const h = new Uint16Array(1);
    f32ToBf16(new Float32Array([1]), h);
    expect(h[0]).toBe(0x3f80);
    expect(bf16BitsToF32(0xc020)).toBe(-2.5);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
  });
});
