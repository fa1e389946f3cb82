/**
 * LITMUS (DSTEER-SPEC.md sections 5 and 8): rows with `input`, `axiom` and `safety_label`, as CSV
 * (with a header) or JSON lines / a JSON array. The layout comes from the name (.csv, .json,
 * .jsonl, each optionally .gz), else from the first non-blank character ("{" or "[": JSON).
 *
 * Label mapping (case and surrounding spaces ignored):
 *   safe:   "safe",   "harmless", and 0 / "0" / false / "false" / "no"
 *   unsafe: "unsafe", "harmful",  and 1 / "1" / true  / "true"  / "yes"
 * i.e. the numeric and boolean spellings follow the usual binary-harm convention: the positive
 * class (1, true, yes) is unsafe, safe = harmless = 0. A file that means the opposite (1 = safe)
 * is read with `{ oneMeans: 'safe' }`, which flips exactly those spellings, never the words. Any
 * other label is reported as malformed, never guessed.
 */
import type { ByteSource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { readCsvRows } from './csv.js';
import { readJsonRecords } from './json-records.js';
import { readTextChunks, type ReadOptions } from './lines.js';
import { addMalformed, newReport, type ReadReport } from './report.js';

export interface LitmusRow {
  lineNo: number;
  input: string;
  axiom: string;
  safe: boolean;
}

export interface LitmusOptions extends ReadOptions {
  /** What 1 / true / yes mean (default 'unsafe'). */
  oneMeans?: 'safe' | 'unsafe';
}

const WORDS: Record<string, boolean> = { safe: true, harmless: true, unsafe: false, harmful: false };
const POSITIVE = new Set(['1', 'true', 'yes']);
const NEGATIVE = new Set(['0', 'false', 'no']);

/**
 * true for a safe label, false for an unsafe one, null when the label is not one of the spellings.
 * @example
 *   assert(parseSafetyLabel('Unsafe') === false);
 *   assert(parseSafetyLabel(0) === true); // 0 = safe
 *   assert(parseSafetyLabel(1, 'safe') === true);
 *   assert(parseSafetyLabel('maybe') === null);
 */
export function parseSafetyLabel(v: unknown, oneMeans: 'safe' | 'unsafe' = 'unsafe'): boolean | null {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return null;
  const s = String(v).trim().toLowerCase();
  if (s in WORDS) return WORDS[s]!;
  if (POSITIVE.has(s)) return oneMeans === 'safe';
  if (NEGATIVE.has(s)) return oneMeans !== 'safe';
  return null;
}

const COLUMNS = ['input', 'axiom', 'safety_label'] as const;

async function isJson(src: ByteSource, opts: ReadOptions): Promise<boolean> {
  const name = src.name.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return false;
  if (name.endsWith('.json') || name.endsWith('.jsonl')) return true;
  const chunks = readTextChunks(src, opts);
  try {
    for await (const text of chunks) {
      const m = /\S/.exec(text);
      if (m) return m[0] === '{' || m[0] === '[';
    }
    return false;
  } finally {
    await chunks.return(undefined);
  }
}

/** The raw records of either layout, as field maps with their line numbers. */
async function* records(src: ByteSource, report: ReadReport, opts: ReadOptions): AsyncGenerator<{ rec: Record<string, unknown>; lineNo: number }> {
  if (await isJson(src, opts)) {
    for await (const { value, lineNo } of readJsonRecords(src, report, opts)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) addMalformed(report, lineNo, 'not a JSON object');
      else yield { rec: value as Record<string, unknown>, lineNo };
    }
    return;
  }
  const checkHeader = (columns: string[]) => {
    const missing = COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      throw new DsteerError(`${src.name}: the CSV header lacks ${missing.map((c) => `"${c}"`).join(', ')} (needs ${COLUMNS.join(', ')}; found: ${columns.join(', ')})`);
    }
  };
  for await (const { row, lineNo } of readCsvRows(src, report, checkHeader, opts)) yield { rec: row, lineNo };
}

/**
 * Streams the rows of a LITMUS file; malformed records go to `report`.
 * @example
 *   const src = new MemorySource('litmus.csv', new TextEncoder().encode('input,axiom,safety_label\nHi,be kind,safe\nHack it,no harm,1\n'));
 *   const got = [];
 *   for await (const { input, axiom, safe } of readLitmus(src)) got.push(`${input} (${axiom}): ${safe ? 'safe' : 'unsafe'}`);
 *   assert(got.join(' | ') === 'Hi (be kind): safe | Hack it (no harm): unsafe');
 */
export async function* readLitmus(src: ByteSource, report: ReadReport = newReport(src.name), opts: LitmusOptions = {}): AsyncGenerator<LitmusRow> {
  for await (const { rec, lineNo } of records(src, report, opts)) {
    const bad = ['input', 'axiom'].find((f) => typeof rec[f] !== 'string' || (rec[f] as string).trim() === '');
    if (bad !== undefined) {
      const v = rec[bad];
      const why = v === undefined ? 'is missing' : v === null ? 'is null' : typeof v !== 'string' ? `is a ${typeof v}, expected a string` : 'is empty';
      addMalformed(report, lineNo, `field "${bad}" ${why}`);
      continue;
    }
    const safe = parseSafetyLabel(rec.safety_label, opts.oneMeans);
    if (safe === null) {
      const shown = rec.safety_label === undefined ? 'missing' : JSON.stringify(rec.safety_label);
      addMalformed(report, lineNo, `field "safety_label" is ${shown}, expected safe/unsafe, harmless/harmful, 1/0, true/false or yes/no`);
      continue;
    }
    report.used++;
    yield { lineNo, input: rec.input as string, axiom: rec.axiom as string, safe };
  }
}

/** Reads a whole LITMUS file into memory. */
export async function collectLitmus(src: ByteSource, opts: LitmusOptions = {}): Promise<{ rows: LitmusRow[]; report: ReadReport }> {
  const report = newReport(src.name);
  const rows: LitmusRow[] = [];
  for await (const r of readLitmus(src, report, opts)) rows.push(r);
  return { rows, report };
}
