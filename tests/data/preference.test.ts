import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readPreferenceFile, type PreferenceRecord, type PreferenceOptions } from '../../data/readers/preference.js';
import { newReport, type ReadReport } from '../../data/readers/report.js';
import type { ByteSource } from '../../engine/byte-source.js';
import { CountingSource, collect, enc, gzip, mem } from './readers-helpers.js';

const msgs = (...pairs: [string, string][]) => pairs.map(([role, content]) => ({ role, content }));

async function read(src: ByteSource, opts: PreferenceOptions = {}): Promise<{ recs: PreferenceRecord[]; report: ReadReport }> {
  const report = newReport(src.name);
  const recs = await collect(readPreferenceFile(src, report, opts));
  return { recs, report };
}

const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

/** UltraFeedback-binarized-like rows, with malformed ones at known lines. */
const UF_ROWS: unknown[] = [
  { prompt: 'Hi', chosen: msgs(['user', 'Hi'], ['assistant', 'Hello']), rejected: msgs(['user', 'Hi'], ['assistant', 'Go away']) },
  'not json',
  { prompt: 'Q', chosen: null, rejected: msgs(['user', 'Q'], ['assistant', 'no']) },
  { prompt: 'Q', chosen: msgs(['user', 'Q'], ['assistant', 'a']), rejected: msgs(['user', 'Other'], ['assistant', 'b']) },
  { chosen: msgs(['user', 'Q'], ['assistant', 'a'], ['user', 'more']), rejected: msgs(['user', 'Q'], ['assistant', 'b']) },
  { chosen: msgs(['user', 'A'], ['assistant', 'B'], ['user', 'C'], ['assistant', 'good']), rejected: msgs(['user', 'A'], ['assistant', 'B'], ['user', 'C'], ['assistant', 'bad']) },
  { prompt: 'only prompt', chosen: msgs(['assistant', 'yes']), rejected: msgs(['assistant', 'no']) },
  { chosen: msgs(['system', 'S'], ['user', 'Q'], ['assistant', 'a']), rejected: msgs(['system', 'S'], ['user', 'Q'], ['assistant', 'b']) },
  [1, 2],
];

function checkUf(recs: PreferenceRecord[], report: ReadReport, lineOf: (i: number) => number): void {
  expect(recs.map((r) => r.kind)).toEqual(['messages', 'messages', 'messages']);
  const m = recs as Extract<PreferenceRecord, { kind: 'messages' }>[];
  expect(m[0]).toEqual({ lineNo: lineOf(0), kind: 'messages', prompt: [{ role: 'user', content: 'Hi' }], chosen: 'Hello', rejected: 'Go away' });
  expect(m[1]!.prompt).toEqual(msgs(['user', 'A'], ['assistant', 'B'], ['user', 'C']));
  expect([m[1]!.chosen, m[1]!.rejected]).toEqual(['good', 'bad']);
  expect(m[2]).toMatchObject({ lineNo: lineOf(6), prompt: [{ role: 'user', content: 'only prompt' }], chosen: 'yes', rejected: 'no' });
  expect(report.used).toBe(3);
}

describe('readPreferenceFile: UltraFeedback / Tulu message rows', () => {
  it('jsonl: prompts from the message lists, malformed rows reported by line', async () => {
    const { recs, report } = await read(mem('uf.jsonl', jsonl(UF_ROWS)));
    checkUf(recs, report, (i) => i + 1);
    expect(report.rows).toBe(9);
    expect(report.malformed).toEqual([
      { lineNo: 2, reason: 'not JSON' },
      { lineNo: 3, reason: 'field "chosen" is null, expected a string or a list of {role, content} messages' },
      { lineNo: 4, reason: 'fields "chosen" and "rejected" have different prompts' },
      { lineNo: 5, reason: 'field "chosen" does not end with an assistant message' },
      { lineNo: 8, reason: 'field "chosen" message 0 has role "system"; accepted: "user", "assistant"' },
      { lineNo: 9, reason: 'not a JSON object' },
    ]);
  });

  it('jsonl.gz reads the same', async () => {
    const { recs, report } = await read(mem('uf.jsonl.gz', await gzip(jsonl(UF_ROWS))));
    checkUf(recs, report, (i) => i + 1);
    expect(report.malformedCount).toBe(6);
  });

  it('parquet (list<struct> columns as the real files have), one row group at a time', async () => {
    const good = UF_ROWS.filter((r) => typeof r === 'object' && !Array.isArray(r)) as Record<string, unknown>[];
    const list = (name: string) => [
      { name, repetition_type: 'OPTIONAL' as const, converted_type: 'LIST' as const, num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL' as const, num_children: 2 },
      { name: 'content', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
      { name: 'role', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
    ];
    const buf = parquetWriteBuffer({
      columnData: ['prompt', 'chosen', 'rejected'].map((name) => ({ name, data: good.map((r) => r[name] ?? null) })),
      schema: [{ name: 'root', num_children: 3 }, { name: 'prompt', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }, ...list('chosen'), ...list('rejected')],
      rowGroupSize: 2,
    });
    const src = new CountingSource(mem('train_prefs.parquet', new Uint8Array(buf)));
    const { recs, report } = await read(src);
    // parquet rows are numbered from 1; the object rows of UF_ROWS (indexes 0, 2..7) are rows 1..7
    checkUf(recs, report, (i) => (i === 0 ? 1 : i));
    expect(report.rows).toBe(7);
    expect(report.malformed.map((m) => m.lineNo)).toEqual([2, 3, 4, 7]);
    expect(src.bytesRead).toBeLessThan(buf.byteLength * 3);
  });

  it('a file that is not parquet is a clear error', async () => {
    await expect(read(mem('x.parquet', 'not parquet at all, just text'))).rejects.toThrow(/x\.parquet: not a readable parquet file/);
  });
});

describe('readPreferenceFile: HH-RLHF and generic JSON lines', () => {
  const H = (s: string) => `\n\nHuman: ${s}`;
  const A = (s: string) => `\n\nAssistant: ${s}`;

  it('HH transcripts are delegated to readHh', async () => {
    const text = jsonl([{ chosen: H('Hi') + A('Hello'), rejected: H('Hi') + A('Go') }, { chosen: H('x') + A('y'), rejected: 5 }]);
    for (const src of [mem('hh.jsonl', text), mem('hh.jsonl.gz', await gzip(text))]) {
      const { recs, report } = await read(src);
      expect(recs).toHaveLength(1);
      const r = recs[0]!;
      expect(r.kind).toBe('hh');
      if (r.kind === 'hh') expect([r.lineNo, r.pair.chosen.answer, r.pair.rejected.answer]).toEqual([1, 'Hello', 'Go']);
      expect(report).toMatchObject({ rows: 2, used: 1, malformedCount: 1 });
      expect(report.malformed[0]!.lineNo).toBe(2);
    }
  });

  it('generic fields: strings or message lists, null and missing fields reported', async () => {
    const text = jsonl([
      { q: 'What?', good: 'This.', bad: 'That.' },
      { q: msgs(['user', 'A'], ['assistant', 'B'], ['user', 'C']), good: msgs(['assistant', 'yes']), bad: 'no' },
      { q: null, good: 'x', bad: 'y' },
      { q: 'Z', good: 'x' },
      { q: 'Z', good: 3, bad: 'y' },
    ]);
    const { recs, report } = await read(mem('g.jsonl', text), { promptField: 'q', chosenField: 'good', rejectedField: 'bad' });
    expect(recs).toEqual([
      { lineNo: 1, kind: 'messages', prompt: [{ role: 'user', content: 'What?' }], chosen: 'This.', rejected: 'That.' },
      { lineNo: 2, kind: 'messages', prompt: msgs(['user', 'A'], ['assistant', 'B'], ['user', 'C']), chosen: 'yes', rejected: 'no' },
    ]);
    expect(report.malformed).toEqual([
      { lineNo: 3, reason: 'field "q" is null and "good" has no messages before its answer' },
      { lineNo: 4, reason: 'field "bad" is missing' },
      { lineNo: 5, reason: 'field "good" is a number, expected a string or a list of {role, content} messages' },
    ]);
  });

  it('streams a 160k-line file: bounded reads, each byte read once, stopping early reads little', async () => {
    const N = 160_000;
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      lines.push(i % 10_000 === 9_999 ? '{"prompt": "p", "chosen": null, "rejected": "r"}' : JSON.stringify({ prompt: `p${i}`, chosen: `c${i}`, rejected: `r${i}` }));
    }
    const bytes = enc.encode(lines.join('\n') + '\n');
    const src = new CountingSource(mem('big.jsonl', bytes));
    const report = newReport(src.name);
    let n = 0;
    let last = '';
    for await (const r of readPreferenceFile(src, report)) {
      n++;
      if (r.kind === 'messages') last = r.chosen;
    }
    expect(n).toBe(N - 16);
    expect(last).toBe(`c${N - 2}`);
    expect(report).toMatchObject({ rows: N, used: N - 16, malformedCount: 16 });
    expect(src.maxRead).toBeLessThanOrEqual(1 << 20);
    expect(src.maxInFlight).toBe(1);
    // the first-record peek reads one chunk; the pass reads every byte once more
    expect(src.bytesRead).toBeLessThanOrEqual(bytes.length + (1 << 20));

    const early = new CountingSource(mem('big.jsonl', bytes));
    let k = 0;
    for await (const _ of readPreferenceFile(early, newReport(early.name))) if (++k === 5) break;
    expect(early.bytesRead).toBeLessThan(bytes.length / 2);
  });
});
