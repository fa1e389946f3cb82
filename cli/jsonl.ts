/**
 * Append-only JSONL files of a run directory (docs/RUNS.md). Reading tolerates exactly one kind
 * of damage, the one a crash leaves: a last line without its newline that does not parse; it is
 * dropped and the appender cuts it off before writing. Any other bad line is an error naming the
 * file and line, because silently skipping it would lose or duplicate rows.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { DsteerError } from '../engine/errors.js';

export interface JsonlContent<T> {
  rows: T[];
  /** Bytes of complete lines (where an appender continues). */
  validBytes: number;
  /** A torn last line was found (and ignored). */
  tornTail: boolean;
}

/** Reads every complete row of `path` (none when the file does not exist). */
export function readJsonl<T>(path: string): JsonlContent<T> {
  if (!existsSync(path)) return { rows: [], validBytes: 0, tornTail: false };
  const buf = readFileSync(path);
  const rows: T[] = [];
  let start = 0;
  let line = 0;
  while (start < buf.length) {
    line++;
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 ? buf.length : nl;
    const text = buf.subarray(start, end).toString('utf8').trim();
    if (text.length > 0) {
      try {
        rows.push(JSON.parse(text) as T);
      } catch {
        if (nl < 0) return { rows, validBytes: start, tornTail: true };
        throw new DsteerError(`${path}:${line}: not valid JSON; the file is append-only and this line was not written by dsteer (remove or fix it)`);
      }
    }
    if (nl < 0) return { rows, validBytes: buf.length, tornTail: false };
    start = nl + 1;
  }
  return { rows, validBytes: buf.length, tornTail: false };
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
