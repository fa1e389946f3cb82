/**
 * Element-type conversions between IEEE binary32 (f32), binary16 (f16) and bfloat16 (bf16).
 *
 * Checkpoints store weights as f16 or bf16; the engine computes in f32 and may upload f16 where the
 * adapter has `shader-f16`. All array functions write into a caller-provided output of the same
 * length and allocate nothing per element; f16/bf16 values travel as their raw 16-bit patterns in
 * a Uint16Array.
 *
 * - bf16 -> f32 is exact: a bf16 is the top half of an f32 (`bits << 16`).
 * - f16 -> f32 is exact: one lookup in a 65536-entry table of f32 bit patterns (256 KiB, built on
 *   first use), covering subnormals, infinities, NaN payloads and signed zero.
 * - f32 -> f16 and f32 -> bf16 round to nearest, ties to even; f16 overflow becomes +-inf, tiny
 *   values become f16 subnormals or +-0, NaN stays a (quiet) NaN.
 */

/** One-element views used by the scalar helpers, so they allocate nothing. */
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

let f16Table: Uint32Array | null = null;

/** The f32 bit pattern of every f16 bit pattern. */
function buildF16Table(): Uint32Array {
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0) {
      if (mant === 0) {
        t[h] = sign; // signed zero
        continue;
      }
      // Subnormal: value = mant * 2^-24. Shift the leading 1 up to the implicit-bit position.
      let e = 113; // f32 biased exponent of 2^-14, the f16 subnormal scale (127 - 14)
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      t[h] = sign | (e << 23) | ((mant & 0x3ff) << 13);
    } else if (exp === 31) {
      t[h] = sign | 0x7f800000 | (mant << 13); // inf, or NaN keeping its payload
    } else {
      t[h] = sign | ((exp + 112) << 23) | (mant << 13); // rebias 15 -> 127
    }
  }
  return t;
}

function table(): Uint32Array {
  return (f16Table ??= buildF16Table());
}

function u32View(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function checkLengths(fn: string, src: ArrayLike<number>, dst: ArrayLike<number>): void {
  if (src.length !== dst.length) throw new RangeError(`${fn}: input has ${src.length} elements but output has ${dst.length}`);
}

/** The f16 bit pattern nearest to an f32 bit pattern (round to nearest, ties to even). */
function f16FromF32Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // f16 biased exponent (127 -> 15)
  if (e >= 31) return sign | 0x7c00; // too large: inf
  if (e <= 0) {
    // Result is an f16 subnormal (or zero): mantissa field = value * 2^24 = mant24 * 2^(e - 14).
    if (e < -10) return sign; // below half the smallest subnormal (2^-25)
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) !== 0)) h++; // may carry into the smallest normal
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry may reach inf, as it should
  return sign | h;
}

/** The bf16 bit pattern nearest to an f32 bit pattern (round to nearest, ties to even). */
function bf16FromF32Bits(x: number): number {
  if ((x & 0x7fffffff) >>> 0 > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // NaN: keep it quiet
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Decodes f16 bit patterns into f32 values (exact).
 * @example
 * const out = new Float32Array(2);
 * f16ToF32(new Uint16Array([0x3c00, 0xc100]), out);
 * assert(out[0] === 1 && out[1] === -2.5);
 */
export function f16ToF32(src: Uint16Array, dst: Float32Array): void {
  checkLengths('f16ToF32', src, dst);
  const t = table();
  const d = u32View(dst);
  for (let i = 0; i < src.length; i++) d[i] = t[src[i]!]!;
}

/**
 * Decodes bf16 bit patterns into f32 values (exact).
 * @example
 * const out = new Float32Array(1);
 * bf16ToF32(new Uint16Array([0x3f80]), out);
 * assert(out[0] === 1);
 */
export function bf16ToF32(src: Uint16Array, dst: Float32Array): void {
  checkLengths('bf16ToF32', src, dst);
  const d = u32View(dst);
  for (let i = 0; i < src.length; i++) d[i] = src[i]! << 16;
}

/**
 * Encodes f32 values as f16 bit patterns, rounding to nearest even; overflow becomes +-inf.
 * @example
 * const out = new Uint16Array(2);
 * f32ToF16(new Float32Array([65504, 1e6]), out);
 * assert(out[0] === 0x7bff && out[1] === 0x7c00); // the largest f16, then +inf
 */
export function f32ToF16(src: Float32Array, dst: Uint16Array): void {
  checkLengths('f32ToF16', src, dst);
  const s = u32View(src);
  for (let i = 0; i < s.length; i++) dst[i] = f16FromF32Bits(s[i]!);
}

/**
 * Encodes f32 values as bf16 bit patterns, rounding to nearest even.
 * @example
 * const out = new Uint16Array(1);
 * f32ToBf16(new Float32Array([1]), out);
 * assert(out[0] === 0x3f80);
 */
export function f32ToBf16(src: Float32Array, dst: Uint16Array): void {
  checkLengths('f32ToBf16', src, dst);
  const s = u32View(src);
  for (let i = 0; i < s.length; i++) dst[i] = bf16FromF32Bits(s[i]!);
}

/** One f16 bit pattern as a number. @example assert(f16BitsToF32(0x0001) === 2 ** -24) */
export function f16BitsToF32(h: number): number {
  scratchU32[0] = table()[h & 0xffff]!;
  return scratchF32[0]!;
}

/** One bf16 bit pattern as a number. @example assert(bf16BitsToF32(0xc020) === -2.5) */
export function bf16BitsToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0]!;
}

/** The f16 bit pattern nearest to `x` (first rounded to f32). @example assert(f32ToF16Bits(-0) === 0x8000) */
export function f32ToF16Bits(x: number): number {
  scratchF32[0] = x;
  return f16FromF32Bits(scratchU32[0]!);
}

/** The bf16 bit pattern nearest to `x` (first rounded to f32). @example assert(f32ToBf16Bits(1) === 0x3f80) */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  return bf16FromF32Bits(scratchU32[0]!);
}
