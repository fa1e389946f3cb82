/**
 * The run directory's append-only JSONL (cli/jsonl.ts): complete rows are read across chunk
 * boundaries, a torn last line (no newline, or not JSON) is dropped and cut off by the appender,
 * any other bad line is an error naming the file and line.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DsteerError } from '../../engine/errors.js';
import { openAppender, readJsonl } from '../../cli/jsonl.js';

const dir = mkdtempSync(join(tmpdir(), 'dsteer-jsonl-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('readJsonl / openAppender', () => {
  it('reads complete rows, including rows that straddle the 1 MiB read chunks', () => {
    const big = 'x'.repeat(700_000);
    const p = file('big.jsonl', [1, 2, 3].map((i) => JSON.stringify({ i, big })).join('\n') + '\n');
    const r = readJsonl<{ i: number }>(p);
    expect(r.rows.map((x) => x.i)).toEqual([1, 2, 3]);
    expect(r.tornTail).toBe(false);
    expect(r.validBytes).toBe(readFileSync(p).length);
    expect(readJsonl(join(dir, 'absent.jsonl'))).toEqual({ rows: [], validBytes: 0, tornTail: false });
  });

  it('drops a torn last line (cut mid-row, or a whole row without its newline) and the appender cuts it off', () => {
    for (const tail of ['{"i": 3, "te', '{"i": 3}']) {
      const head = '{"i":1}\n{"i":2}\n';
      const p = file('torn.jsonl', head + tail);
      const r = readJsonl<{ i: number }>(p);
      expect(r.rows.map((x) => x.i)).toEqual([1, 2]);
      expect(r).toMatchObject({ tornTail: true, validBytes: head.length });
      const a = openAppender(p, r.validBytes);
      a.append({ i: 3 });
      a.close();
      expect(readFileSync(p, 'utf8')).toBe(head + '{"i":3}\n');
    }
  });

  it('a bad line that is not the last is an error naming file and line', () => {
    const p = file('bad.jsonl', '{"i":1}\nnot json\n{"i":3}\n');
    expect(() => readJsonl(p)).toThrow(DsteerError);
    expect(() => readJsonl(p)).toThrow(/bad\.jsonl:2: not valid JSON/);
  });
});
