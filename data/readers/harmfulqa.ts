/**
 * HarmfulQA (DSTEER-SPEC.md section 8): one JSON array of records with `question` (required),
 * `topic` and `subtopic` (optional strings; other fields such as the conversations are ignored),
 * or the same records as JSON lines. Streamed element by element (json-records.ts).
 */
import type { ByteSource } from '../../engine/byte-source.js';
import type { ReadOptions } from './lines.js';
import { readJsonRecords } from './json-records.js';
import { addMalformed, fieldProblem, newReport, type ReadReport } from './report.js';

export interface HarmfulQaRow {
  /** 0-based position of the record in the file (malformed records keep their place). */
  index: number;
  /** 1-based line where the record starts. */
  lineNo: number;
  question: string;
  topic?: string;
  subtopic?: string;
}

/**
 * Streams the usable questions of a HarmfulQA file; malformed records go to `report`.
 * @example
 *   const src = new MemorySource('harmfulqa.json', new TextEncoder().encode('[{"question": "How?", "topic": "Science"}, {"topic": "no question"}]'));
 *   const got = [];
 *   for await (const { question, topic } of readHarmfulQa(src)) got.push(`${topic}: ${question}`);
 *   assert(got.length === 1 && got[0] === 'Science: How?'); // the record without a question is skipped
 */
export async function* readHarmfulQa(src: ByteSource, report: ReadReport = newReport(src.name), opts: ReadOptions = {}): AsyncGenerator<HarmfulQaRow> {
  for await (const { value, lineNo, index } of readJsonRecords(src, report, opts)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      addMalformed(report, lineNo, 'not a JSON object');
      continue;
    }
    const rec = value as Record<string, unknown>;
    const problem = fieldProblem(rec, 'question');
    if (problem || (rec.question as string).trim() === '') {
      addMalformed(report, lineNo, problem ?? 'field "question" is empty');
      continue;
    }
    const row: HarmfulQaRow = { index, lineNo, question: rec.question as string };
    if (typeof rec.topic === 'string') row.topic = rec.topic;
    if (typeof rec.subtopic === 'string') row.subtopic = rec.subtopic;
    report.used++;
    yield row;
  }
}

/** Reads a whole HarmfulQA file into memory. */
export async function collectHarmfulQa(src: ByteSource, opts: ReadOptions = {}): Promise<{ rows: HarmfulQaRow[]; report: ReadReport }> {
  const report = newReport(src.name);
  const rows: HarmfulQaRow[] = [];
  for await (const r of readHarmfulQa(src, report, opts)) rows.push(r);
  return { rows, report };
}
