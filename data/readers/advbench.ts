/**
 * AdvBench `harmful_behaviors.csv` (DSTEER-SPEC.md section 8): a header with `goal,target`, or a
 * `prompt` column as some mirrors have it (either is accepted; `goal` wins when both exist).
 * `target` (the affirmative reply the attack aims for) is optional.
 */
import type { ByteSource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { readCsvRows } from './csv.js';
import type { ReadOptions } from './lines.js';
import { addMalformed, newReport, type ReadReport } from './report.js';

export interface AdvBenchRow {
  /** 1-based line where the record starts (the header is line 1). */
  lineNo: number;
  prompt: string;
  target?: string;
}

/**
 * Streams the behaviours of an AdvBench CSV; malformed records go to `report`.
 * @example
 *   const src = new MemorySource('harmful_behaviors.csv', new TextEncoder().encode('goal,target\nDo X,"Sure, here is X"\n'));
 *   const got = [];
 *   for await (const { prompt, target } of readAdvBench(src)) got.push(`${prompt} -> ${target}`);
 *   assert(got.length === 1 && got[0] === 'Do X -> Sure, here is X');
 */
export async function* readAdvBench(src: ByteSource, report: ReadReport = newReport(src.name), opts: ReadOptions = {}): AsyncGenerator<AdvBenchRow> {
  let promptCol = 'goal';
  let hasTarget = false;
  const checkHeader = (columns: string[]) => {
    if (!columns.includes('goal')) {
      if (!columns.includes('prompt')) {
        throw new DsteerError(`${src.name}: the CSV header has neither a "goal" nor a "prompt" column (found: ${columns.join(', ')})`);
      }
      promptCol = 'prompt';
    }
    hasTarget = columns.includes('target');
  };
  for await (const { row, lineNo } of readCsvRows(src, report, checkHeader, opts)) {
    const prompt = row[promptCol]!;
    if (prompt.trim() === '') {
      addMalformed(report, lineNo, `field "${promptCol}" is empty`);
      continue;
    }
    const out: AdvBenchRow = { lineNo, prompt };
    if (hasTarget) out.target = row.target!;
    report.used++;
    yield out;
  }
}

/** Reads a whole AdvBench file into memory. */
export async function collectAdvBench(src: ByteSource, opts: ReadOptions = {}): Promise<{ rows: AdvBenchRow[]; report: ReadReport }> {
  const report = newReport(src.name);
  const rows: AdvBenchRow[] = [];
  for await (const r of readAdvBench(src, report, opts)) rows.push(r);
  return { rows, report };
}
