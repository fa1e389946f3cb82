import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { newReport } from '../../data/readers/report.js';
import { detectPromptFormat, readPrompts, type PromptFormat, type PromptRow } from '../../data/readers/prompts.js';
import { repoPath } from '../helpers.js';
import { FileSource } from '../../engine/byte-source-node.js';

const enc = (s: string) => new TextEncoder().encode(s);

async function all(name: string, text: string | Uint8Array, format?: PromptFormat) {
  const src = new MemorySource(name, typeof text === 'string' ? enc(text) : text);
  const report = newReport(name);
  const rows: PromptRow[] = [];
  for await (const r of readPrompts(src, report, format ? { format, chunkSize: 7 } : { chunkSize: 7 })) rows.push(r);
  return { rows, report };
}

const hhLine = (chosen: string, rejected: string) => JSON.stringify({ chosen, rejected });

describe('readPrompts', () => {
  it('HH: the chosen prompt as one message; prompt = the last human turn', async () => {
    const a = hhLine('\n\nHuman: fix my bike?\n\nAssistant: sure.\n\nHuman: and the tire?\n\nAssistant: patch it.', '\n\nHuman: fix my bike?\n\nAssistant: sure.\n\nHuman: and the tire?\n\nAssistant: no.');
    const b = hhLine('\n\nHuman: hi\n\nAssistant: hello', '\n\nHuman: other\n\nAssistant: x'); // prompts differ: malformed
    const c = hhLine('\n\nHuman: bye\n\nAssistant: ok', '\n\nHuman: bye\n\nAssistant: go');
    const { rows, report } = await all('hh.jsonl', [a, b, 'not json', c].join('\n') + '\n');
    expect(rows.map((r) => [r.index, r.prompt, r.lineNo])).toEqual([
      [0, 'and the tire?', 1],
      [1, 'bye', 4],
    ]);
    expect(rows[0]!.messages).toEqual([{ role: 'user', content: 'Human: fix my bike?\n\nAssistant: sure.\n\nHuman: and the tire?\n\nAssistant:' }]);
    expect(report.malformedCount).toBe(2);
  });

  it('HarmfulQA (array), AdvBench (goal and prompt columns), LITMUS (csv and jsonl), plain lines', async () => {
    const q = await all('h.json', '[{"question": "q one?", "topic": "t"}, {"topic": "none"}, {"question": "q two?"}]');
    expect(q.rows.map((r) => `${r.index}:${r.prompt}`)).toEqual(['0:q one?', '1:q two?']);
    expect(q.rows[1]!.messages).toEqual([{ role: 'user', content: 'q two?' }]);
    const adv = await all('a.csv', 'goal,target\n"Do X, now",Sure\nDo Y,Sure\n');
    expect(adv.rows.map((r) => r.prompt)).toEqual(['Do X, now', 'Do Y']);
    const adv2 = await all('a.csv', 'prompt\nP1\n');
    expect(adv2.rows.map((r) => r.prompt)).toEqual(['P1']);
    const lit = await all('l.csv', 'input,axiom,safety_label\nwhy blue?,x,safe\nhack,y,unsafe\n');
    expect(lit.rows.map((r) => r.prompt)).toEqual(['why blue?', 'hack']);
    const litJ = await all('l.jsonl', '{"input": "a?", "axiom": "x", "safety_label": 0}\n');
    expect(litJ.rows.map((r) => r.prompt)).toEqual(['a?']);
    const lines = await all('p.txt', 'first\n\n  \nsecond\r\nthird');
    expect(lines.rows.map((r) => [r.index, r.prompt, r.lineNo])).toEqual([
      [0, 'first', 1],
      [1, 'second', 4],
      [2, 'third', 5],
    ]);
    expect(lines.report.used).toBe(3);
  });

  it('detects the format from the extension or the content; gzip is undone', async () => {
    const d = (name: string, text: string) => detectPromptFormat(new MemorySource(name, enc(text)));
    expect(await d('x.jsonl', '{"chosen": "a", "rejected": "b"}\n')).toBe('hh');
    expect(await d('x.json', '[{"question": "a"}]')).toBe('harmfulqa');
    expect(await d('x.json', '[{"input": "a", "axiom": "b", "safety_label": "safe"}]')).toBe('litmus');
    expect(await d('x.csv', 'input,axiom,safety_label\n')).toBe('litmus');
    expect(await d('x.csv', 'Goal,target\n')).toBe('advbench');
    expect(await d('data', '  {"question": "a"}\n')).toBe('harmfulqa');
    expect(await d('data', 'goal,target\nx,y\n')).toBe('advbench');
    expect(await d('data', 'just a prompt\n')).toBe('lines');
    expect(await d('x.txt', 'goal,target\n')).toBe('lines'); // .txt is always lines
    const gz = await all('p.jsonl.gz', gzipSync(enc('{"question": "zipped?"}\n')));
    expect(gz.rows.map((r) => r.prompt)).toEqual(['zipped?']);
  });

  it('a forced format wins over detection', async () => {
    const r = await all('a.csv', 'goal,target\nDo X,Sure\n', 'lines');
    expect(r.rows.map((x) => x.prompt)).toEqual(['goal,target', 'Do X,Sure']);
  });

  it('unknown layouts are one-line errors naming the file and what is accepted', async () => {
    const e1 = await detectPromptFormat(new MemorySource('x.csv', enc('a,b\n1,2\n'))).catch((e) => e);
    expect(e1).toBeInstanceOf(DsteerError);
    expect(e1.message).toMatch(/^x\.csv: cannot tell the benchmark from the CSV header \(a, b\); accepted: .*AdvBench/);
    const e2 = await detectPromptFormat(new MemorySource('x.jsonl', enc('{"foo": 1}\n'))).catch((e) => e);
    expect(e2.message).toMatch(/^x\.jsonl: .*first record's fields \(foo\)/);
    expect(e2.message).not.toMatch(/\n/);
  });

  it('reads the shipped micro benchmarks', async () => {
    for (const [file, fmt] of [
      ['micro-advbench.csv', 'advbench'],
      ['micro-harmfulqa.json', 'harmfulqa'],
      ['micro-litmus.csv', 'litmus'],
      ['micro-hh.test.jsonl', 'hh'],
    ] as const) {
      const src = await FileSource.open(repoPath(`assets/data/${file}`));
      try {
        expect(await detectPromptFormat(src)).toBe(fmt);
        const report = newReport(file);
        let n = 0;
        for await (const r of readPrompts(src, report)) {
          expect(r.index).toBe(n++);
          expect(r.prompt.trim().length).toBeGreaterThan(0);
        }
        expect(n).toBe(report.used);
        expect(n).toBeGreaterThan(0);
        expect(report.malformedCount).toBe(0);
      } finally {
        await src.close();
      }
    }
  });
});
