/**
 * What a reader did with a file: rows read, rows used, and every malformed row counted with its
 * line number (the first MAX_MALFORMED_KEPT kept with their reasons). A malformed row is never a
 * crash and never silently dropped: the readers skip it and record it here.
 */
import { baseName } from './lines.js';

export interface Malformed {
  /** 1-based line in the (decompressed) file where the row starts. */
  lineNo: number;
  reason: string;
}

export interface ReadReport {
  /** The source's name (path or URL). */
  file: string;
  /** Records found (blank lines are not records). */
  rows: number;
  /** Records handed to the caller. */
  used: number;
  /** The first MAX_MALFORMED_KEPT malformed records, in file order. */
  malformed: Malformed[];
  /** All malformed records, including those beyond the kept list. */
  malformedCount: number;
}

export const MAX_MALFORMED_KEPT = 20;

/** An empty report for a file. */
export function newReport(file: string): ReadReport {
  return { file, rows: 0, used: 0, malformed: [], malformedCount: 0 };
}

/** Counts one malformed record (and keeps its reason while fewer than MAX_MALFORMED_KEPT are kept). */
export function addMalformed(report: ReadReport, lineNo: number, reason: string): void {
  report.malformedCount++;
  if (report.malformed.length < MAX_MALFORMED_KEPT) report.malformed.push({ lineNo, reason });
}

/**
 * One line for the user.
 * @example
 *   const r = newReport('data/micro-hh.test.jsonl');
 *   r.rows = 3; r.used = 2; addMalformed(r, 2, 'not JSON');
 *   assert(formatReport(r) === 'micro-hh.test.jsonl: 3 rows read, 2 used, 1 malformed (line 2: not JSON)');
 */
export function formatReport(r: ReadReport): string {
  let s = `${baseName(r.file)}: ${r.rows} rows read, ${r.used} used, ${r.malformedCount} malformed`;
  if (r.malformedCount > 0) {
    const listed = r.malformed.map((m) => `line ${m.lineNo}: ${m.reason}`);
    const more = r.malformedCount - r.malformed.length;
    if (more > 0) listed.push(`and ${more} more`);
    s += ` (${listed.join('; ')})`;
  }
  return s;
}

/** Why `row[name]` is not a string ("field \"x\" is missing", "... is null", ...), or null when it is one. */
export function fieldProblem(row: Record<string, unknown>, name: string): string | null {
  if (!(name in row)) return `field "${name}" is missing`;
  const v = row[name];
  if (v === null) return `field "${name}" is null`;
  if (typeof v !== 'string') return `field "${name}" is ${Array.isArray(v) ? 'an array' : `a ${typeof v}`}, expected a string`;
  return null;
}
