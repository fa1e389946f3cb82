/**
 * JSON records from either of the two layouts benchmark files come in, told apart by the first
 * non-blank character: "[" is one JSON array (HarmfulQA), anything else is JSON lines (one value
 * per line, blank lines ignored). Both are streamed: the array is cut into its top-level elements
 * by a small scanner (strings, escapes and nesting depth) and each element is parsed alone, so a
 * large array never exists as one string.
 *
 * Every record is counted in the report; one that does not parse is reported "not JSON" with its
 * line and skipped, and the rest are still read. In an array a broken string can swallow the
 * elements after it; JSON lines confine damage to one line.
 */
import type { ByteSource } from '../../engine/byte-source.js';
import { readTextChunks, splitLines, type ReadOptions } from './lines.js';
import { addMalformed, type ReadReport } from './report.js';

export interface JsonRecord {
  value: unknown;
  /** 1-based line where the record starts. */
  lineNo: number;
  /** 0-based position among the file's records (array elements or non-blank lines). */
  index: number;
}

/** Pulls the first chunk(s) until a non-blank character shows the layout, then replays them. */
async function peekLayout(chunks: AsyncGenerator<string>): Promise<{ layout: 'array' | 'lines'; chunks: AsyncGenerator<string> }> {
  const seen: string[] = [];
  let layout: 'array' | 'lines' = 'lines';
  for (;;) {
    const next = await chunks.next();
    if (next.done) break;
    seen.push(next.value);
    const m = /\S/.exec(next.value);
    if (m) {
      layout = m[0] === '[' ? 'array' : 'lines';
      break;
    }
  }
  async function* replay(): AsyncGenerator<string> {
    yield* seen;
    yield* chunks;
  }
  return { layout, chunks: replay() };
}

/**
 * Reads every JSON record of a file; `rows` in the report counts them, malformed ones are
 * reported (rows that parse are the caller's to validate and count as used).
 * @example
 *   const src = new MemorySource('x.jsonl', new TextEncoder().encode('{"a":1}\nnot json\n\n[2]\n'));
 *   const report = { file: src.name, rows: 0, used: 0, malformed: [], malformedCount: 0 };
 *   const got = [];
 *   for await (const { value, lineNo } of readJsonRecords(src, report)) got.push([lineNo, value]);
 *   assert(JSON.stringify(got) === '[[1,{"a":1}],[4,[2]]]' && report.malformed[0].reason === 'not JSON');
 */
export async function* readJsonRecords(src: ByteSource, report: ReadReport, opts: ReadOptions = {}): AsyncGenerator<JsonRecord> {
  const { layout, chunks } = await peekLayout(readTextChunks(src, opts));
  const pieces = layout === 'array' ? arrayElements(chunks) : nonBlankLines(chunks);
  let index = 0;
  for await (const { text, lineNo, problem } of pieces) {
    if (problem !== undefined) {
      addMalformed(report, lineNo, problem);
      continue;
    }
    report.rows++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      addMalformed(report, lineNo, 'not JSON');
      index++;
      continue;
    }
    yield { value, lineNo, index: index++ };
  }
}

/** A record's text, or a problem with the file's structure (reported in file order). */
interface Piece {
  text: string;
  lineNo: number;
  problem?: string;
}

async function* nonBlankLines(chunks: AsyncIterable<string>): AsyncGenerator<Piece> {
  for await (const { line, lineNo } of splitLines(chunks)) {
    if (line.trim() !== '') yield { text: line, lineNo };
  }
}

/**
 * The top-level elements of a JSON array, as text. Problems with the array itself (an empty
 * element, text after the closing bracket, a missing closing bracket) are reported as malformed.
 */
async function* arrayElements(chunks: AsyncIterable<string>): AsyncGenerator<Piece> {
  let depth = 0; // 0 before "[", 1 inside the top-level array, more inside an element
  let closed = false;
  let inString = false;
  let escaped = false;
  let lineNo = 1;
  let parts: string[] = []; // the current element's text from earlier chunks
  let start = -1; // where the current element starts in this chunk (-1: not in this chunk / none)
  let elemLine = 0; // 0: no element started
  let afterClose = false;
  const out: Piece[] = [];
  const problem = (lineNo: number, problem: string) => out.push({ text: '', lineNo, problem });

  const endElement = (text: string, end: number) => {
    const elem = (parts.join('') + (start >= 0 ? text.slice(start, end) : '')).trim();
    if (elemLine > 0) out.push({ text: elem, lineNo: elemLine });
    parts = [];
    start = -1;
    elemLine = 0;
  };

  for await (const text of chunks) {
    if (elemLine > 0) start = 0; // an element continuing from the previous chunk
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) lineNo++;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92) escaped = true; // backslash
        else if (c === 34) inString = false;
        continue;
      }
      if (closed) {
        if (!afterClose && !isSpace(c)) {
          afterClose = true;
          problem(lineNo, 'text after the closing ] of the JSON array');
        }
        continue;
      }
      if (depth === 0) {
        if (c === 91) depth = 1; // "[" (peekLayout saw it first)
        continue;
      }
      if (depth === 1) {
        if (c === 44 || c === 93) {
          // "," or "]" ends an element
          if (elemLine === 0 && c === 44) problem(lineNo, 'empty element in the JSON array');
          endElement(text, i);
          if (c === 93) closed = true;
          continue;
        }
        if (elemLine === 0 && !isSpace(c)) {
          elemLine = lineNo;
          start = i;
        }
      }
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) depth--;
    }
    if (elemLine > 0) {
      parts.push(text.slice(start));
      start = -1;
    }
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  if (depth > 0 && !closed) {
    if (elemLine > 0) endElement('', 0);
    problem(lineNo, 'the JSON array is never closed (file truncated?)');
  }
  yield* out;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}
