/**
 * The one benchmark report writer: every result states its conditions (backend, shapes, dtype,
 * version) with a median and a spread, printed as a table and appended as JSON lines.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { arch, cpus, platform } from 'node:os';

export interface BenchResult {
  suite: string;
  name: string;
  backend: string;
  shape: string;
  dtype: string;
  version: string;
  /** Median of the measured quantity and its unit. */
  value: number;
  unit: string;
  /** Spread: the interquartile range of the samples, in the same unit. */
  spread: number;
  samples: number;
  /** Ratio against the reference named in `ratioOf`, when the result is a comparison. */
  ratio?: number;
  ratioOf?: string;
  target?: string;
  /** Extra fields written into the JSON line (e.g. gflops, gbps, peak_fraction). */
  extra?: Record<string, unknown>;
}

export function machine(): string {
  const c = cpus();
  return `${platform()}-${arch()} ${c.length}x ${c[0]?.model ?? 'cpu'} node ${process.version}`;
}

export function quantiles(xs: number[]): { median: number; iqr: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => {
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
  };
  return { median: q(0.5), iqr: q(0.75) - q(0.25) };
}

function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

export function printTable(rows: BenchResult[]): void {
  const head = ['suite', 'name', 'shape', 'dtype', 'median', 'iqr', 'unit', 'ratio', 'target'];
  const body = rows.map((r) => [r.suite, r.name, r.shape, r.dtype, fmt(r.value), fmt(r.spread), r.unit, r.ratio === undefined ? '' : `${r.ratio.toFixed(3)} (${r.ratioOf})`, r.target ?? '']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  process.stdout.write([line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n') + '\n');
}

export function appendJsonLines(file: string, rows: BenchResult[], meta: Record<string, unknown>): void {
  mkdirSync(dirname(file), { recursive: true });
  const at = new Date().toISOString();
  appendFileSync(file, rows.map((r) => JSON.stringify(jsonLine(r, { at, machine: machine(), ...meta }))).join('\n') + '\n');
}

/** One JSON line: `{"suite", "name", "value", "unit", ...conditions, ...extra}`. */
export function jsonLine(r: BenchResult, meta: Record<string, unknown> = {}): Record<string, unknown> {
  const { extra, ...rest } = r;
  return { ...rest, ...meta, ...(extra ?? {}) };
}
