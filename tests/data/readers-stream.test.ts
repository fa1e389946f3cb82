import { describe, expect, it } from 'vitest';
import { readHh } from '../../data/readers/hh.js';
import { readLines } from '../../data/readers/lines.js';
import { newReport } from '../../data/readers/report.js';
import { CountingSource, enc, gzip, mem } from './readers-helpers.js';

const N = 50_000;
const H = (s: string) => `\n\nHuman: ${s}`;
const A = (s: string) => `\n\nAssistant: ${s}`;

/** 50k HH rows (~6 MB), every 1000th one malformed. */
function bigHh(): string {
  const rows: string[] = [];
  for (let i = 0; i < N; i++) {
    if (i % 1000 === 999) rows.push(`{"chosen": null, "rejected": "x"}`);
    else rows.push(JSON.stringify({ chosen: H(`question ${i} ✓ ${'é'.repeat(i % 17)}`) + A(`good ${i}`), rejected: H(`question ${i} ✓ ${'é'.repeat(i % 17)}`) + A(`bad ${i}`) }));
  }
  return rows.join('\n') + '\n';
}

describe('streaming', () => {
  const text = bigHh();
  const bytes = enc.encode(text);
  const chunkSize = 64 * 1024;

  it('readLines reads one chunk at a time, each byte once, and only as far as the consumer has got', async () => {
    const src = new CountingSource(mem('big.jsonl', bytes));
    let n = 0;
    let consumedBytes = 0;
    for await (const { line, lineNo } of readLines(src, { chunkSize })) {
      n++;
      expect(lineNo).toBe(n);
      consumedBytes += enc.encode(line).length + 1;
      // Never more than one chunk beyond the text already handed out.
      if (src.bytesRead > consumedBytes + chunkSize) throw new Error(`read ${src.bytesRead} bytes ahead of line ${lineNo} (${consumedBytes} bytes consumed)`);
    }
    expect(n).toBe(N);
    expect(src.maxInFlight).toBe(1);
    expect(src.maxRead).toBeLessThanOrEqual(chunkSize);
    expect(src.bytesRead).toBe(bytes.length);
    expect(src.reads).toBe(Math.ceil(bytes.length / chunkSize));
  });

  it('gzip streams too: one read at a time, and stopping early leaves most of the file unread', async () => {
    const gz = await gzip(bytes);
    const src = new CountingSource(mem('big.jsonl.gz', gz));
    let n = 0;
    for await (const _ of readLines(src, { chunkSize: 4096 })) if (++n === 10) break;
    expect(src.bytesRead).toBeLessThan(gz.length / 4);
    expect(src.maxInFlight).toBe(1);

    const all = new CountingSource(mem('big.jsonl.gz', gz));
    const report = newReport(all.name);
    let used = 0;
    for await (const pair of readHh(all, report, { chunkSize: 4096 })) if (pair.chosen.answer.startsWith('good')) used++;
    expect(used).toBe(N - N / 1000);
    expect(report).toMatchObject({ rows: N, used: N - N / 1000, malformedCount: N / 1000 });
    expect(report.malformed).toHaveLength(20);
    expect(report.malformed[0]).toEqual({ lineNo: 1000, reason: 'field "chosen" is null' });
    expect(all.maxInFlight).toBe(1);
    expect(all.maxRead).toBeLessThanOrEqual(4096);
    expect(all.bytesRead).toBe(gz.length);
  });
});
