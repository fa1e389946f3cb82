/**
 * Flag value parsers. Each throws a usage error (exit 2) naming the flag and what is accepted.
 */
import { DsteerError } from '../engine/errors.js';

function usage(msg: string): never {
  throw new DsteerError(msg, 2);
}

/** A finite number. */
export function parseNumber(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) usage(`${flag}: "${v}" is not a number`);
  return x;
}

/** An integer within [min, max]. */
export function parseIntIn(flag: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < min || x > max) {
    usage(`${flag}: "${v}" is not an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}`);
  }
  return x;
}

/** A comma-separated list of numbers (`0.4` or `0.4,-0.2`). */
export function parseNumberList(flag: string, v: string): number[] {
  const parts = v.split(',');
  if (parts.some((p) => p.trim() === '')) usage(`${flag}: "${v}" is not a comma-separated list of numbers`);
  return parts.map((p) => parseNumber(flag, p));
}

/** A comma-separated list of non-negative integers (`27,28`). */
export function parseIntList(flag: string, v: string): number[] {
  const parts = v.split(',');
  if (parts.some((p) => p.trim() === '')) usage(`${flag}: "${v}" is not a comma-separated list of integers`);
  return parts.map((p) => parseIntIn(flag, p.trim(), 0));
}

/**
 * A lambda grid: `a:b:step` (both ends included, values rounded to 6 decimals) or a comma list.
 * @example
 * assert(parseGrid('--lambdas', '-0.2:0.2:0.1').join() === '-0.2,-0.1,0,0.1,0.2');
 */
export function parseGrid(flag: string, v: string): number[] {
  if (!v.includes(':')) return parseNumberList(flag, v);
  const parts = v.split(':');
  if (parts.length !== 3) usage(`${flag}: "${v}" is not a grid (expected a:b:step or a comma list)`);
  const [a, b, step] = parts.map((p) => parseNumber(flag, p)) as [number, number, number];
  if (step <= 0) usage(`${flag}: step ${step} must be > 0`);
  if (b < a) usage(`${flag}: end ${b} is below start ${a}`);
  const n = Math.floor((b - a) / step + 1e-9);
  if (n > 100_000) usage(`${flag}: "${v}" has more than 100000 values`);
  const out: number[] = [];
  for (let i = 0; i <= n; i++) out.push(Math.round((a + i * step) * 1e6) / 1e6 + 0);
  if (Math.abs(out[out.length - 1]! - b) > 1e-9 && Math.abs(a + n * step - b) < 1e-6) out[out.length - 1] = b;
  return out;
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(flag: string, v: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(v)) usage(`${flag}: "${v}" is not one of ${choices.join(', ')}`);
  return v as T;
}
