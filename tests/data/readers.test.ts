import { describe, expect, it } from 'vitest';
import { DsteerError } from '../../engine/errors.js';
import { asTurns, collectHh, oneMessage, promptMessages, readHh, splitTranscript, type Split } from '../../data/readers/hh.js';
import { readLines } from '../../data/readers/lines.js';
import { addMalformed, formatReport, MAX_MALFORMED_KEPT, newReport } from '../../data/readers/report.js';
import { CHUNKS, collect, gzip, mem } from './readers-helpers.js';

const lines = async (src: Parameters<typeof readLines>[0], opts = {}) => (await collect(readLines(src, opts))).map((l) => l.line);

describe('readLines', () => {
  const text = 'héllo wörld\r\n€uro 𝄞 clef\n\nlast line ✓';
  const want = ['héllo wörld', '€uro 𝄞 clef', '', 'last line ✓'];

  it('decodes multi-byte UTF-8 split across every chunk boundary, CRLF and LF, no trailing newline', async () => {
    for (const chunkSize of CHUNKS) {
      const got = await collect(readLines(mem('a.txt', text), { chunkSize }));
      expect(got.map((l) => l.line), `chunkSize ${chunkSize}`).toEqual(want);
      expect(got.map((l) => l.lineNo)).toEqual([1, 2, 3, 4]);
    }
  });

  it('a CR and its LF in different chunks still end one line', async () => {
    expect(await lines(mem('a.txt', 'ab\r\ncd\r\n'), { chunkSize: 3 })).toEqual(['ab', 'cd']);
  });

  it('an empty file has no lines; a final newline adds no empty line; a BOM is dropped', async () => {
    expect(await lines(mem('e.txt', ''))).toEqual([]);
    expect(await lines(mem('e.txt', 'a\n'))).toEqual(['a']);
    expect(await lines(mem('e.txt', '\n'))).toEqual(['']);
    expect(await lines(mem('b.txt', '\uFEFFx\ny'), { chunkSize: 1 })).toEqual(['x', 'y']);
  });

  it('gunzips by magic bytes and by name, in tiny chunks', async () => {
    const gz = await gzip(text);
    for (const chunkSize of CHUNKS) {
      expect(await lines(mem('noext', gz), { chunkSize })).toEqual(want);
      expect(await lines(mem('x.jsonl.gz', gz), { chunkSize })).toEqual(want);
    }
    expect(await lines(mem('forced-off', gz), { gzip: false }).then((l) => l.length)).toBeGreaterThan(0);
    expect(await lines(mem('empty.gz', new Uint8Array(0)))).toEqual([]);
  });

  it('refuses a .gz name without gzip data, and corrupt or truncated gzip, naming the file', async () => {
    await expect(lines(mem('plain.jsonl.gz', 'hello'))).rejects.toThrow(/plain\.jsonl\.gz: .*1f 8b/);
    const gz = await gzip('some text that compresses\n'.repeat(50));
    await expect(lines(mem('cut.gz', gz.slice(0, gz.length - 12)))).rejects.toThrow(DsteerError);
    const bad = gz.slice();
    bad[12] ^= 0xff;
    bad[20] ^= 0xff;
    await expect(lines(mem('bad.gz', bad))).rejects.toThrow(/bad\.gz: the gzip data is corrupt/);
  });

  it('refuses a chunk size that is not a positive integer', async () => {
    await expect(lines(mem('a', 'x'), { chunkSize: 0 })).rejects.toThrow(/chunkSize/);
  });
});

describe('ReadReport', () => {
  it('formats the one-line summary', () => {
    const r = newReport('runs/data/micro-hh.test.jsonl');
    r.rows = 300;
    r.used = 298;
    addMalformed(r, 17, 'not JSON');
    addMalformed(r, 40, 'field "chosen" is null');
    expect(formatReport(r)).toBe('micro-hh.test.jsonl: 300 rows read, 298 used, 2 malformed (line 17: not JSON; line 40: field "chosen" is null)');
    expect(formatReport(newReport('a.csv'))).toBe('a.csv: 0 rows read, 0 used, 0 malformed');
  });

  it('keeps the first 20 reasons and counts all', () => {
    const r = newReport('x');
    for (let i = 1; i <= 25; i++) addMalformed(r, i, 'not JSON');
    expect(r.malformed).toHaveLength(MAX_MALFORMED_KEPT);
    expect(r.malformedCount).toBe(25);
    expect(formatReport(r)).toMatch(/line 20: not JSON; and 5 more\)$/);
  });
});

const H = (s: string) => `\n\nHuman: ${s}`;
const A = (s: string) => `\n\nAssistant: ${s}`;
const row = (chosen: unknown, rejected: unknown) => JSON.stringify({ chosen, rejected });

describe('HH-RLHF', () => {
  const multi = H('Hi') + A('Hello! How can I help?') + H('Tell me a joke') + A('Why did the chicken cross the road?');
  const multiRej = H('Hi') + A('Hello! How can I help?') + H('Tell me a joke') + A('No.');

  it('splits at the LAST "\\n\\nAssistant:" and parses the earlier turns', () => {
    const s = splitTranscript(multi) as Split;
    expect(s.promptText).toBe(H('Hi') + A('Hello! How can I help?') + H('Tell me a joke'));
    expect(s.answer).toBe('Why did the chicken cross the road?');
    expect(s.turns).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello! How can I help?' },
      { role: 'user', content: 'Tell me a joke' },
    ]);
    expect(splitTranscript('\n\nHuman: Hi\n\nAssistant: Hello')).toEqual({ promptText: '\n\nHuman: Hi', answer: 'Hello', turns: [{ role: 'user', content: 'Hi' }] });
    expect(splitTranscript(H('only a question'))).toMatch(/no "\\n\\nAssistant:" turn/);
    expect((splitTranscript('Human: no blank line' + A('ok')) as Split).turns).toEqual([{ role: 'user', content: 'no blank line' }]);
  });

  it('the two prompt formats', () => {
    const s = splitTranscript(multi) as Split;
    expect(oneMessage(s)).toEqual([{ role: 'user', content: 'Human: Hi\n\nAssistant: Hello! How can I help?\n\nHuman: Tell me a joke\n\nAssistant:' }]);
    expect(asTurns(s)).toEqual(s.turns);
    expect(promptMessages(s, 'one-message')).toEqual(oneMessage(s));
    expect(promptMessages(s, 'turns')).toEqual(asTurns(s));
    // Consecutive turns of one role are joined, so alternation-checking templates accept them.
    const twice = splitTranscript(H('a') + H('b') + A('c')) as Split;
    expect(twice.turns).toHaveLength(2);
    expect(asTurns(twice)).toEqual([{ role: 'user', content: 'a\n\nb' }]);
    expect(twice.turns[0]).toEqual({ role: 'user', content: 'a' }); // asTurns does not mutate
  });

  it('reads good rows, and counts malformed ones with line numbers, across chunk sizes and gzip', async () => {
    const file = [
      row(multi, multiRej), // 1 ok
      '{"chosen": "unterminated', // 2 not JSON
      row(null, multiRej), // 3 null
      JSON.stringify({ rejected: multiRej }), // 4 missing
      row(H('no assistant here'), multiRej), // 5 no marker
      row(H('x') + A('y'), H('z') + A('y')), // 6 different prompts
      '', // 7 blank: not a row
      row(42, multiRej), // 8 number
      '[1, 2]', // 9 not an object
      row(H('é 𝄞') + A(' two spaces'), H('é 𝄞') + A('bad')), // 10 ok, no trailing newline
    ].join('\r\n');
    for (const gz of [false, true]) {
      for (const chunkSize of CHUNKS) {
        const bytes = gz ? await gzip(file) : file;
        const { rows, report } = await collectHh(mem(gz ? 'hh.jsonl.gz' : 'hh.jsonl', bytes), { chunkSize });
        expect(rows.map((r) => r.lineNo)).toEqual([1, 10]);
        expect(rows[1]!.chosen.answer).toBe(' two spaces');
        expect(rows[1]!.chosen.turns).toEqual([{ role: 'user', content: 'é 𝄞' }]);
        expect(rows[0]!.rejected.answer).toBe('No.');
        expect(report.rows).toBe(9);
        expect(report.used).toBe(2);
        expect(report.malformedCount).toBe(7);
        expect(report.malformed).toEqual([
          { lineNo: 2, reason: 'not JSON' },
          { lineNo: 3, reason: 'field "chosen" is null' },
          { lineNo: 4, reason: 'field "chosen" is missing' },
          { lineNo: 5, reason: 'field "chosen" has no "\\n\\nAssistant:" turn' },
          { lineNo: 6, reason: 'chosen and rejected have different prompts' },
          { lineNo: 8, reason: 'field "chosen" is a number, expected a string' },
          { lineNo: 9, reason: 'not a JSON object' },
        ]);
      }
    }
  });

  it('an empty file reads as zero rows; the report is filled in while streaming', async () => {
    expect((await collectHh(mem('e.jsonl', ''))).report).toEqual({ file: 'e.jsonl', rows: 0, used: 0, malformed: [], malformedCount: 0 });
    const report = newReport('x.jsonl');
    for await (const pair of readHh(mem('x.jsonl', row(multi, multiRej) + '\nnope\n'), report)) expect(pair.lineNo).toBe(1);
    expect(formatReport(report)).toBe('x.jsonl: 2 rows read, 1 used, 1 malformed (line 2: not JSON)');
  });
});
