/**
 * A small streaming RFC 4180 CSV parser: fields separated by commas, records by LF or CRLF,
 * quoted fields may hold commas, line breaks and doubled quotes (""), and a record may span many
 * lines and many chunks. Input is text chunks (readTextChunks), so records are cut wherever the
 * chunks fall.
 *
 * Lenient where files in the wild are sloppy, but never silently: a quote inside an unquoted
 * field, text after a closing quote, or a quote still open at the end of the file keep the text
 * as read and mark the record with `error` (the readers report it as malformed). Blank lines are
 * not records. A lone "\r" (not before "\n") is kept as a character.
 */
import type { ByteSource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { readTextChunks, type ReadOptions } from './lines.js';
import { addMalformed, type ReadReport } from './report.js';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  lineNo: number;
  /** Set when the record breaks RFC 4180 (the first problem found). */
  error?: string;
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote seen inside a quoted field: either the first of "" or the closing quote. */
  QuoteInQuoted,
  AfterQuoted,
}

/**
 * Parses CSV text arriving in chunks into records.
 * @example
 *   const rows = [];
 *   for await (const r of parseCsv(['a,"b,\n""c"""\r\n1,2\n'])) rows.push(r.fields);
 *   assert(JSON.stringify(rows) === JSON.stringify([['a', 'b,\n"c"'], ['1', '2']]));
 */
export async function* parseCsv(chunks: AsyncIterable<string> | Iterable<string>): AsyncGenerator<CsvRecord> {
  let fields: string[] = [];
  let field = '';
  let state = State.FieldStart;
  let lineNo = 1;
  let recordLine = 1;
  let quoteLine = 1;
  let error: string | undefined;
  let pendingCR = false;
  let hasContent = false; // a comma or a quoted field: the record is not a blank line
  const out: CsvRecord[] = [];

  const fail = (msg: string) => {
    if (error === undefined) error = msg;
  };
  const endRecord = () => {
    fields.push(field);
    if (hasContent || fields.length > 1 || fields[0] !== '') {
      out.push(error === undefined ? { fields, lineNo: recordLine } : { fields, lineNo: recordLine, error });
    }
    fields = [];
    field = '';
    state = State.FieldStart;
    error = undefined;
    hasContent = false;
    recordLine = lineNo;
  };

  for await (const text of chunks) {
    for (let i = 0; i < text.length; i++) {
      if (state === State.Quoted) {
        // Fast path: copy up to the next quote.
        const q = text.indexOf('"', i);
        const end = q < 0 ? text.length : q;
        const piece = text.slice(i, end);
        field += piece;
        for (let k = piece.indexOf('\n'); k >= 0; k = piece.indexOf('\n', k + 1)) lineNo++;
        if (q < 0) break;
        i = q;
        state = State.QuoteInQuoted;
        continue;
      }
      const c = text[i]!;
      if (state === State.QuoteInQuoted) {
        if (c === '"') {
          field += '"';
          state = State.Quoted;
          continue;
        }
        state = State.AfterQuoted;
      }
      if (pendingCR) {
        pendingCR = false;
        if (c !== '\n') {
          addChar('\r');
        }
      }
      if (c === '\r') {
        pendingCR = true;
      } else if (c === ',') {
        fields.push(field);
        field = '';
        state = State.FieldStart;
        hasContent = true;
      } else if (c === '\n') {
        lineNo++;
        endRecord();
      } else if (c === '"' && state === State.FieldStart) {
        state = State.Quoted;
        quoteLine = lineNo;
        hasContent = true;
      } else {
        addChar(c);
      }
    }
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  if (state === State.Quoted) fail(`a quoted field opened on line ${quoteLine} is never closed`);
  if (fields.length > 0 || field !== '' || hasContent) endRecord();
  yield* out;

  function addChar(c: string) {
    if (state === State.AfterQuoted) fail('text after a closing quote');
    else if (c === '"') fail('a quote inside an unquoted field');
    if (state !== State.AfterQuoted) state = State.Unquoted;
    field += c;
  }
}

/** Reads a CSV file (optionally gzip) record by record. */
export function readCsv(src: ByteSource, opts: ReadOptions = {}): AsyncGenerator<CsvRecord> {
  return parseCsv(readTextChunks(src, opts));
}

/** A CSV data row keyed by the header's column names (trimmed, lower-cased). */
export interface CsvRow {
  row: Record<string, string>;
  lineNo: number;
}

/**
 * Reads a CSV file with a header line. `checkHeader` gets the column names (trimmed, lower-cased)
 * and throws a DsteerError when a needed column is missing. Every data record counts as a row in
 * the report; one that breaks RFC 4180 or has a different number of fields than the header is
 * reported as malformed and skipped.
 */
export async function* readCsvRows(
  src: ByteSource,
  report: ReadReport,
  checkHeader: (columns: string[]) => void,
  opts: ReadOptions = {},
): AsyncGenerator<CsvRow> {
  let columns: string[] | null = null;
  for await (const rec of readCsv(src, opts)) {
    if (columns === null) {
      if (rec.error !== undefined) throw new DsteerError(`${src.name}: line ${rec.lineNo}: the CSV header is malformed (${rec.error})`);
      columns = rec.fields.map((f) => f.trim().toLowerCase());
      checkHeader(columns);
      continue;
    }
    report.rows++;
    if (rec.error !== undefined) {
      addMalformed(report, rec.lineNo, `bad CSV: ${rec.error}`);
      continue;
    }
    if (rec.fields.length !== columns.length) {
      addMalformed(report, rec.lineNo, `${rec.fields.length} fields, the header has ${columns.length}`);
      continue;
    }
    const row: Record<string, string> = {};
    columns.forEach((c, k) => (row[c] = rec.fields[k]!));
    yield { row, lineNo: rec.lineNo };
  }
}
