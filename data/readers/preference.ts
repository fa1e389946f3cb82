/**
 * Preference pairs for extraction (DSTEER-SPEC.md sections 2 and 8), from any of three layouts:
 *
 * - HH-RLHF (`.jsonl`, `.jsonl.gz`): `chosen` and `rejected` are whole transcripts; delegated to
 *   readHh (data/readers/hh.ts), records come back as `{kind: 'hh', pair}`.
 * - UltraFeedback-binarized / Tulu-3 preference rows (`.jsonl`, `.jsonl.gz`, `.parquet`): `chosen`
 *   and `rejected` are lists of `{role, content}` messages whose last message is the assistant's
 *   answer and whose earlier messages are the prompt (the two prompts must agree); `prompt` is a
 *   string, or absent. When the lists hold only the answer, the `prompt` string becomes one user
 *   message.
 * - Generic JSONL (or parquet) named by `promptField`, `chosenField`, `rejectedField` (any flag
 *   given selects it): each field holds a string or a message list, read by the rule above.
 *
 * The layout is chosen from the extension (`.parquet`) and, for JSON lines, from the first record
 * that is a JSON object: string `chosen` and `rejected` mean HH, anything else message rows.
 * Everything streams: JSON lines through readJsonRecords, parquet one row group at a time through
 * ranged reads of the ByteSource. Malformed rows are counted in the report with their line number
 * (for parquet, the 1-based row number) and skipped; `report.used` counts the records yielded.
 */
import type { AsyncBuffer } from 'hyparquet';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { ByteSource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { readHh, type ChatTurn, type HhPair } from './hh.js';
import { readJsonRecords } from './json-records.js';
import { addMalformed, newReport, type ReadReport } from './report.js';

export type PreferenceRecord =
  | { lineNo: number; kind: 'hh'; pair: HhPair }
  | { lineNo: number; kind: 'messages'; prompt: ChatTurn[]; chosen: string; rejected: string };

export interface PreferenceOptions {
  promptField?: string;
  chosenField?: string;
  rejectedField?: string;
}

interface Fields {
  prompt: string;
  chosen: string;
  rejected: string;
}

/** A side of a pair: its answer, and the messages before it (null when the field was a string). */
interface Side {
  prefix: ChatTurn[] | null;
  answer: string;
}

/** Messages from a list of `{role, content}`, or the reason they are not usable. */
function readMessages(v: unknown[], field: string): ChatTurn[] | string {
  const out: ChatTurn[] = [];
  for (let i = 0; i < v.length; i++) {
    const m = v[i] as { role?: unknown; content?: unknown } | null;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return `field "${field}" message ${i} is not an object with role and content`;
    if (m.role !== 'user' && m.role !== 'assistant') return `field "${field}" message ${i} has role ${JSON.stringify(m.role)}; accepted: "user", "assistant"`;
    if (typeof m.content !== 'string') return `field "${field}" message ${i} has no string "content"`;
    out.push({ role: m.role, content: m.content });
  }
  return out;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/** One side of a pair from a string or a message list ending in the assistant's answer. */
function readSide(row: Record<string, unknown>, field: string): Side | string {
  if (!(field in row) || row[field] === undefined) return `field "${field}" is missing`;
  const v = row[field];
  if (typeof v === 'string') return { prefix: null, answer: v };
  if (!Array.isArray(v)) return `field "${field}" is ${describe(v)}, expected a string or a list of {role, content} messages`;
  const msgs = readMessages(v, field);
  if (typeof msgs === 'string') return msgs;
  const last = msgs.at(-1);
  if (!last || last.role !== 'assistant') return `field "${field}" does not end with an assistant message`;
  return { prefix: msgs.slice(0, -1), answer: last.content };
}

const sameTurns = (a: ChatTurn[], b: ChatTurn[]) => a.length === b.length && a.every((t, i) => t.role === b[i]!.role && t.content === b[i]!.content);

/** A message-style record from one row, or the reason the row cannot be used. */
function messageRecord(value: unknown, fields: Fields): { prompt: ChatTurn[]; chosen: string; rejected: string } | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const row = value as Record<string, unknown>;
  const chosen = readSide(row, fields.chosen);
  if (typeof chosen === 'string') return chosen;
  const rejected = readSide(row, fields.rejected);
  if (typeof rejected === 'string') return rejected;
  if (chosen.prefix && rejected.prefix && !sameTurns(chosen.prefix, rejected.prefix)) return `fields "${fields.chosen}" and "${fields.rejected}" have different prompts`;
  const prefix = chosen.prefix?.length ? chosen.prefix : rejected.prefix?.length ? rejected.prefix : null;
  if (prefix) return { prompt: prefix, chosen: chosen.answer, rejected: rejected.answer };
  const p = row[fields.prompt];
  if (typeof p === 'string') return { prompt: [{ role: 'user', content: p }], chosen: chosen.answer, rejected: rejected.answer };
  if (Array.isArray(p)) {
    const msgs = readMessages(p, fields.prompt);
    if (typeof msgs === 'string') return msgs;
    if (msgs.length === 0) return `field "${fields.prompt}" is an empty list`;
    return { prompt: msgs, chosen: chosen.answer, rejected: rejected.answer };
  }
  const what = p === undefined ? 'is missing' : `is ${describe(p)}`;
  return `field "${fields.prompt}" ${what} and "${fields.chosen}" has no messages before its answer`;
}

/** The file's name without a trailing `.gz`, lower-cased, to look at its extension. */
const stem = (name: string) => name.toLowerCase().replace(/\.gz$/, '');

/** A hyparquet AsyncBuffer over a ByteSource: every slice is one ranged read. */
function asyncBuffer(src: ByteSource): AsyncBuffer {
  return {
    byteLength: src.size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const to = Math.min(end ?? src.size, src.size);
      const bytes = await src.read(start, Math.max(0, to - start));
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** Rows of a parquet file, one row group in memory at a time, numbered from 1. */
async function* parquetRows(src: ByteSource): AsyncGenerator<{ value: unknown; lineNo: number }> {
  const file = asyncBuffer(src);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new DsteerError(`${src.name}: not a readable parquet file (${(e as Error).message})`);
  }
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end });
    for (let i = 0; i < rows.length; i++) yield { value: rows[i], lineNo: start + i + 1 };
    start = end;
  }
}

/** The first JSON object of a JSON-lines file (null when there is none); reads only up to it. */
async function firstObject(src: ByteSource): Promise<Record<string, unknown> | null> {
  const records = readJsonRecords(src, newReport(src.name));
  try {
    for await (const { value } of records) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    }
    return null;
  } finally {
    await records.return(undefined);
  }
}

/**
 * Reads preference pairs from HH-RLHF, UltraFeedback/Tulu or generic JSON lines, or parquet.
 * @example
 *   const text = '{"chosen":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}],' +
 *     '"rejected":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Go"}]}\nnot json\n';
 *   const src = new MemorySource('uf.jsonl', new TextEncoder().encode(text));
 *   const report = { file: src.name, rows: 0, used: 0, malformed: [], malformedCount: 0 };
 *   const got = [];
 *   for await (const r of readPreferenceFile(src, report)) got.push(r);
 *   assert(got.length === 1 && got[0].kind === 'messages' && got[0].chosen === 'Hello' && got[0].prompt[0].content === 'Hi');
 *   assert(report.used === 1 && report.malformed[0].lineNo === 2);
 */
export async function* readPreferenceFile(src: ByteSource, report: ReadReport, opts: PreferenceOptions = {}): AsyncGenerator<PreferenceRecord> {
  const generic = opts.promptField !== undefined || opts.chosenField !== undefined || opts.rejectedField !== undefined;
  const fields: Fields = { prompt: opts.promptField ?? 'prompt', chosen: opts.chosenField ?? 'chosen', rejected: opts.rejectedField ?? 'rejected' };
  const parquet = stem(src.name).endsWith('.parquet');
  let rows: AsyncIterable<{ value: unknown; lineNo: number }>;
  if (parquet) {
    rows = parquetRows(src);
  } else {
    if (!generic) {
      const first = await firstObject(src);
      if (first && typeof first.chosen === 'string' && typeof first.rejected === 'string' && !('prompt' in first)) {
        for await (const pair of readHh(src, report)) yield { lineNo: pair.lineNo, kind: 'hh', pair };
        return;
      }
    }
    rows = readJsonRecords(src, report);
  }
  for await (const { value, lineNo } of rows) {
    if (parquet) report.rows++;
    const r = messageRecord(value, fields);
    if (typeof r === 'string') {
      addMalformed(report, lineNo, r);
      continue;
    }
    report.used++;
    yield { lineNo, kind: 'messages', ...r };
  }
}
