/**
 * Shared helpers for the kernel-twin tests: the awkward sizes, seeded random inputs and element-wise
 * comparisons that name the seed and the first offending index when they fail.
 */
import { expect } from 'vitest';
import { Rng } from '../../engine/rng.js';

/** 1, then primes: none is a multiple of 4 (the linear blocking) or of a GPU workgroup size. */
export const SIZES = [1, 3, 7, 13, 31, 67] as const;

/** Batch sizes around the linear kernel's 2-row blocking: one row, one block, a block + tail, two blocks + tail. */
export const ROWS = [1, 2, 3, 5] as const;

/**
 * One f32 rounding of an f64-accurate value is off by at most 2^-24 of its magnitude; allow two
 * roundings (an f32 input table and the f32 output) with 2^-23.
 */
export const F32_REL = 2 ** -23;

/** n uniform values in [-scale, scale), rounded to f32 (what the kernels store). */
export function randomF32(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng.uniform() - 1) * scale;
  return a;
}

/**
 * Checks |actual[i] - expected[i]| <= tol(i) for every i (tol as a function of the index, or a
 * relative tolerance plus an absolute floor). Infinities must match exactly; NaN never passes.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: ((i: number) => number) | { rel: number; abs?: number },
  what: string,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const bound = typeof tol === 'function' ? tol : (i: number) => tol.rel * Math.abs(expected[i]!) + (tol.abs ?? 0);
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 5; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = a === e || Math.abs(a - e) <= bound(i);
    if (!ok) bad.push(`[${i}] got ${a}, want ${e} (|diff| ${Math.abs(a - e)} > tol ${bound(i)})`);
  }
  expect(bad, what).toEqual([]);
}

/** Checks bitwise equality element by element (Object.is: -0 differs from 0, NaN equals NaN). */
export function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 5; i++) {
    if (!Object.is(actual[i], expected[i])) bad.push(`[${i}] got ${actual[i]}, want ${expected[i]}`);
  }
  expect(bad, what).toEqual([]);
}

/** A sentinel written past the end of an output, to catch writes beyond `rows`. */
export const SENTINEL = -12345.5;

/**
 * For hand-computed decimals: they are written with 8 significant digits (5e-8 relative) and the
 * output is an f32 (6e-8 relative), so 2e-7 covers both.
 */
export const DECIMAL = { rel: 2e-7 } as const;
