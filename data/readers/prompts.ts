/**
 * The prompts of a benchmark file, whatever its format, for sweeps (`dsteer sweep`):
 * - HH-RLHF (`chosen`/`rejected` transcripts): the prompt of the `chosen` transcript in the
 *   authors' one-message format (earlier turns kept as written, hh.ts `oneMessage`); `prompt` is
 *   the last human turn.
 * - HarmfulQA: `question`. AdvBench (CSV): `goal` (or `prompt`). LITMUS: `input`.
 * - Plain text: one prompt per non-blank line.
 *
 * The format comes from the name (.txt = lines; .csv: the header's columns; .json/.jsonl: the
 * first record's fields; each optionally .gz), else from the content (first non-blank character
 * "{" or "[": JSON; a CSV header naming known columns: CSV; otherwise lines), or is forced.
 * Every prompt but plain lines is one user message; `index` counts the prompts handed out.
 */
import type { ByteSource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { readAdvBench } from './advbench.js';
import { readCsv } from './csv.js';
import { readHarmfulQa } from './harmfulqa.js';
import { oneMessage, readHh, type ChatTurn } from './hh.js';
import { readJsonRecords } from './json-records.js';
import { readLines, readTextChunks, type ReadOptions } from './lines.js';
import { readLitmus } from './litmus.js';
import { newReport, type ReadReport } from './report.js';

export type PromptFormat = 'hh' | 'harmfulqa' | 'advbench' | 'litmus' | 'lines';
export const PROMPT_FORMATS: readonly PromptFormat[] = ['hh', 'harmfulqa', 'advbench', 'litmus', 'lines'];

export interface PromptRow {
  /** 0-based position in this file's prompt list (malformed rows take no index). */
  index: number;
  /** The user-visible prompt (the last user turn). */
  prompt: string;
  /** The chat messages to render with the template. */
  messages: ChatTurn[];
  /** 1-based line where the record starts. */
  lineNo: number;
}

export interface PromptOptions extends ReadOptions {
  format?: 'auto' | PromptFormat;
}

/** The fields of the first JSON record, or null when the file has none that is an object. */
async function firstJsonKeys(src: ByteSource, opts: ReadOptions): Promise<string[] | null> {
  const recs = readJsonRecords(src, newReport(src.name), opts);
  try {
    for await (const { value } of recs) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return Object.keys(value);
    }
    return null;
  } finally {
    await recs.return(undefined);
  }
}

/** The CSV header's columns (trimmed, lower-cased), or null for an empty file. */
async function csvHeader(src: ByteSource, opts: ReadOptions): Promise<string[] | null> {
  const recs = readCsv(src, opts);
  try {
    const first = await recs.next();
    return first.done ? null : first.value.fields.map((f) => f.trim().toLowerCase());
  } finally {
    await recs.return(undefined);
  }
}

async function firstChar(src: ByteSource, opts: ReadOptions): Promise<string | null> {
  const chunks = readTextChunks(src, opts);
  try {
    for await (const text of chunks) {
      const m = /\S/.exec(text);
      if (m) return m[0];
    }
    return null;
  } finally {
    await chunks.return(undefined);
  }
}

function fromJsonKeys(keys: string[]): PromptFormat | null {
  if (keys.includes('chosen')) return 'hh';
  if (keys.includes('question')) return 'harmfulqa';
  if (keys.includes('input')) return 'litmus';
  return null;
}

function fromCsvColumns(cols: string[]): PromptFormat | null {
  if (cols.includes('input') && cols.includes('safety_label')) return 'litmus';
  if (cols.includes('goal') || cols.includes('prompt')) return 'advbench';
  return null;
}

const ACCEPTED = 'HH-RLHF ("chosen"), HarmfulQA ("question"), LITMUS ("input"), AdvBench CSV ("goal" or "prompt"), or a .txt file with one prompt per line';

/**
 * Tells a benchmark file's format from its name and first record.
 * @example
 * const src = new MemorySource('adv.csv', new TextEncoder().encode('goal,target\nDo X,Sure\n'));
 * assert(await detectPromptFormat(src) === 'advbench');
 * assert(await detectPromptFormat(new MemorySource('p.txt', new TextEncoder().encode('hi\n'))) === 'lines');
 */
export async function detectPromptFormat(src: ByteSource, opts: ReadOptions = {}): Promise<PromptFormat> {
  const name = src.name.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.txt')) return 'lines';
  const csv = name.endsWith('.csv');
  const json = name.endsWith('.json') || name.endsWith('.jsonl');
  if (!csv && !json) {
    const c = await firstChar(src, opts);
    if (c === null) return 'lines';
    if (c !== '{' && c !== '[') {
      const cols = await csvHeader(src, opts);
      return (cols && fromCsvColumns(cols)) ?? 'lines';
    }
  }
  if (csv) {
    const cols = await csvHeader(src, opts);
    const f = cols && fromCsvColumns(cols);
    if (!f) throw new DsteerError(`${src.name}: cannot tell the benchmark from the CSV header (${cols ? cols.join(', ') : 'empty file'}); accepted: ${ACCEPTED}`);
    return f;
  }
  const keys = await firstJsonKeys(src, opts);
  const f = keys && fromJsonKeys(keys);
  if (!f) throw new DsteerError(`${src.name}: cannot tell the benchmark from the first record's fields (${keys ? keys.join(', ') || 'none' : 'no JSON object found'}); accepted: ${ACCEPTED}`);
  return f;
}

const user = (content: string): ChatTurn[] => [{ role: 'user', content }];

/**
 * Streams the prompts of a benchmark file; malformed rows go to `report` (see the file header).
 * @example
 * const row = { chosen: '\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant: Sure', rejected: '\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant: No' };
 * const src = new MemorySource('hh.jsonl', new TextEncoder().encode(JSON.stringify(row) + '\n'));
 * const got = [];
 * for await (const p of readPrompts(src)) got.push(p);
 * assert(got.length === 1 && got[0].index === 0 && got[0].prompt === 'Bye');
 * assert(got[0].messages[0].content === 'Human: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant:');
 */
export async function* readPrompts(src: ByteSource, report: ReadReport = newReport(src.name), opts: PromptOptions = {}): AsyncGenerator<PromptRow> {
  const format = opts.format === undefined || opts.format === 'auto' ? await detectPromptFormat(src, opts) : opts.format;
  if (!PROMPT_FORMATS.includes(format)) throw new DsteerError(`prompt format "${format}" is not one of auto, ${PROMPT_FORMATS.join(', ')}`, 2);
  let index = 0;
  switch (format) {
    case 'hh':
      for await (const { chosen, lineNo } of readHh(src, report, opts)) {
        const users = chosen.turns.filter((t) => t.role === 'user');
        const last = users.length > 0 ? users[users.length - 1]! : chosen.turns[chosen.turns.length - 1]!;
        yield { index: index++, prompt: last.content, messages: oneMessage(chosen), lineNo };
      }
      return;
    case 'harmfulqa':
      for await (const { question, lineNo } of readHarmfulQa(src, report, opts)) yield { index: index++, prompt: question, messages: user(question), lineNo };
      return;
    case 'advbench':
      for await (const { prompt, lineNo } of readAdvBench(src, report, opts)) yield { index: index++, prompt, messages: user(prompt), lineNo };
      return;
    case 'litmus':
      for await (const { input, lineNo } of readLitmus(src, report, opts)) yield { index: index++, prompt: input, messages: user(input), lineNo };
      return;
    case 'lines':
      for await (const { line, lineNo } of readLines(src, opts)) {
        if (line.trim() === '') continue;
        report.rows++;
        report.used++;
        yield { index: index++, prompt: line, messages: user(line), lineNo };
      }
      return;
  }
}
