/**
 * Append-only JSONL files of a run directory (docs/RUNS.md). Reading tolerates exactly one kind
 * of damage, the one a crash leaves: a last line without its newline that does not parse; it is
 * dropped and the appender cuts it off before writing. Any other bad line is an error naming the
 * file and line, because silently skipping it would lose or duplicate rows.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { DsteerError } from '../engine/errors.js';

export interface JsonlContent<T> {
  rows: T[];
  /** Bytes of complete lines (where an appender continues). */
  validBytes: number;
  /** A torn last line was found (and ignored). */
  tornTail: boolean;
}

const CHUNK = 1 << 20;

/**
 * Streams the rows of `path` (nothing when the file does not exist), one chunk in memory at a
 * time: `onRow` sees each parsed row with its line number. The last line may be torn (no newline,
 * or not JSON): it is skipped, reported, and cut off by the appender; any other bad line throws,
 * naming the file and line.
 */
export function scanJsonl(path: string, onRow: (row: unknown, lineNo: number) => void): { validBytes: number; tornTail: boolean } {
  if (!existsSync(path)) return { validBytes: 0, tornTail: false };
  const fd = openSync(path, 'r');
  const size = statSync(path).size;
  const buf = Buffer.alloc(CHUNK);
  let carry = Buffer.alloc(0);
  let offset = 0;
  let lineNo = 0;
  let validBytes = 0;
  // the newest complete line is held back: only once another follows is it known not to be the last
  let held: { text: string; end: number; lineNo: number } | null = null;
  const take = (l: { text: string; end: number; lineNo: number }): void => {
    const text = l.text.trim();
    if (text.length > 0) {
      let row: unknown;
      try {
        row = JSON.parse(text);
      } catch {
        throw new DsteerError(`${path}:${l.lineNo}: not valid JSON; the file is append-only and only its last line may be torn (remove or fix this line)`);
      }
      onRow(row, l.lineNo);
    }
    validBytes = l.end;
  };
  try {
    while (offset < size) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n === 0) break;
      const data = Buffer.concat([carry, buf.subarray(0, n)]);
      const base = offset - carry.length;
      offset += n;
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
        if (held) take(held);
        held = { text: data.subarray(start, nl).toString('utf8'), end: base + nl + 1, lineNo: ++lineNo };
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    closeSync(fd);
  }
  const tail = carry.toString('utf8').trim();
  let tornTail = false;
  const last = held as { text: string; end: number; lineNo: number } | null;
  if (tail.length > 0) {
    // bytes after the last newline: a write the crash cut short (even if they parse, the newline
    // is missing); they are dropped and recomputed
    if (last) take(last);
    tornTail = true;
  } else if (last) {
    let ok = true;
    try {
      JSON.parse(last.text.trim() || 'null');
    } catch {
      ok = false;
    }
    if (ok) take(last);
    else tornTail = true;
  }
  return { validBytes, tornTail };
}

/** Reads every complete row of `path` (see scanJsonl). */
export function readJsonl<T>(path: string): JsonlContent<T> {
  const rows: T[] = [];
  const r = scanJsonl(path, (row) => rows.push(row as T));
  return { rows, ...r };
}

export interface Appender<T> {
  append(row: T): void;
  close(): void;
}

/** Opens `path` for appending rows, first cutting off a torn last line (see the file header). */
export function openAppender<T>(path: string, validBytes: number): Appender<T> {
  const fd = openSync(path, existsSync(path) ? 'r+' : 'w');
  ftruncateSync(fd, validBytes);
  let pos = validBytes;
  return {
    append(row) {
      const b = Buffer.from(JSON.stringify(row) + '\n', 'utf8');
      pos += writeSync(fd, b, 0, b.length, pos);
    },
    close() {
      closeSync(fd);
    },
  };
}
