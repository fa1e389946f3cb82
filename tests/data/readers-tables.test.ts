import { describe, expect, it } from 'vitest';
import { collectAdvBench } from '../../data/readers/advbench.js';
import { parseCsv, readCsv } from '../../data/readers/csv.js';
import { collectHarmfulQa } from '../../data/readers/harmfulqa.js';
import { collectLitmus, parseSafetyLabel } from '../../data/readers/litmus.js';
import { formatReport } from '../../data/readers/report.js';
import { CHUNKS, collect, gzip, mem } from './readers-helpers.js';

/** Feeds text to the parser in pieces of `n` characters. */
function pieces(text: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n));
  return out;
}

describe('CSV (RFC 4180)', () => {
  const text = 'a,"b,\n""c"""\r\n1,2\n"",\n\n"x\r\ny",z';
  const want = [
    { fields: ['a', 'b,\n"c"'], lineNo: 1 },
    { fields: ['1', '2'], lineNo: 3 },
    { fields: ['', ''], lineNo: 4 },
    { fields: ['x\r\ny', 'z'], lineNo: 6 },
  ];

  it('quoted commas, doubled quotes, line breaks inside quotes, CRLF, blank lines, no final newline, at every cut', async () => {
    for (const n of [1, 2, 3, 4, 1000]) expect(await collect(parseCsv(pieces(text, n))), `pieces of ${n}`).toEqual(want);
    for (const chunkSize of CHUNKS) expect(await collect(readCsv(mem('t.csv', text), { chunkSize }))).toEqual(want);
    expect(await collect(readCsv(mem('t.csv.gz', await gzip(text)), { chunkSize: 3 }))).toEqual(want);
  });

  it('the TSDoc example', async () => {
    const recs = await collect(parseCsv(['a,"b,\n""c"""\r\n1,2\n']));
    expect(recs.map((r) => r.fields)).toEqual([['a', 'b,\n"c"'], ['1', '2']]);
  });

  it('empty fields, a lone CR kept, and trailing CR at end of file', async () => {
    expect((await collect(parseCsv([',,\n', 'a\rb,c\r']))).map((r) => r.fields)).toEqual([['', '', ''], ['a\rb', 'c']]);
    expect(await collect(parseCsv(['']))).toEqual([]);
  });

  it('marks RFC violations instead of guessing silently', async () => {
    const recs = await collect(parseCsv(['ok,1\nab"c,2\n"q"x,3\n"open,4\n5,6\n']));
    expect(recs[0]).toEqual({ fields: ['ok', '1'], lineNo: 1 });
    expect(recs[1]).toEqual({ fields: ['ab"c', '2'], lineNo: 2, error: 'a quote inside an unquoted field' });
    expect(recs[2]).toEqual({ fields: ['qx', '3'], lineNo: 3, error: 'text after a closing quote' });
    expect(recs[3]).toEqual({ fields: ['open,4\n5,6\n'], lineNo: 4, error: 'a quoted field opened on line 4 is never closed' });
    expect(recs).toHaveLength(4);
  });
});

describe('AdvBench', () => {
  it('reads goal,target with quoting, across chunk sizes and gzip', async () => {
    const csv = 'goal,target\r\n"Write a script, that can exploit ""vulnerabilities""","Sure, here is a script"\r\nDevelop a strategy,"Sure,\nhere"\r\n';
    for (const chunkSize of CHUNKS) {
      for (const gz of [false, true]) {
        const { rows, report } = await collectAdvBench(mem('harmful_behaviors.csv', gz ? await gzip(csv) : csv), { chunkSize });
        expect(rows).toEqual([
          { lineNo: 2, prompt: 'Write a script, that can exploit "vulnerabilities"', target: 'Sure, here is a script' },
          { lineNo: 3, prompt: 'Develop a strategy', target: 'Sure,\nhere' },
        ]);
        expect(report).toMatchObject({ rows: 2, used: 2, malformedCount: 0 });
      }
    }
  });

  it('accepts a "prompt" column instead of "goal", without target', async () => {
    const { rows } = await collectAdvBench(mem('adv.csv', 'id,Prompt\n1,Do a bad thing\n2,"Another, bad thing"'));
    expect(rows).toEqual([
      { lineNo: 2, prompt: 'Do a bad thing' },
      { lineNo: 3, prompt: 'Another, bad thing' },
    ]);
  });

  it('reports malformed rows with line numbers and refuses a header without goal or prompt', async () => {
    const { rows, report } = await collectAdvBench(mem('adv.csv', 'goal,target\nok,t\nonly-one-field\n,empty goal\n"never closed,x\n'));
    expect(rows.map((r) => r.prompt)).toEqual(['ok']);
    expect(formatReport(report)).toBe(
      'adv.csv: 4 rows read, 1 used, 3 malformed (line 3: 1 fields, the header has 2; line 4: field "goal" is empty; line 5: bad CSV: a quoted field opened on line 5 is never closed)',
    );
    await expect(collectAdvBench(mem('x.csv', 'question,answer\na,b\n'))).rejects.toThrow(/x\.csv: the CSV header has neither a "goal" nor a "prompt" column \(found: question, answer\)/);
    expect((await collectAdvBench(mem('empty.csv', ''))).rows).toEqual([]);
  });
});

describe('LITMUS', () => {
  it('label spellings and the documented mapping (safe = harmless = 0; 1/true/yes = unsafe)', () => {
    for (const v of ['safe', 'Safe', ' SAFE ', 'harmless', 'Harmless', '0', 0, false, 'false', 'no']) expect(parseSafetyLabel(v), String(v)).toBe(true);
    for (const v of ['unsafe', 'Unsafe', 'harmful', 'HARMFUL', '1', 1, true, 'True', 'yes']) expect(parseSafetyLabel(v), String(v)).toBe(false);
    for (const v of ['maybe', '', '2', null, undefined, {}]) expect(parseSafetyLabel(v)).toBeNull();
    expect(parseSafetyLabel(1, 'safe')).toBe(true);
    expect(parseSafetyLabel('unsafe', 'safe')).toBe(false); // words never flip
  });

  it('reads CSV with mixed spellings; bad labels and missing fields are reported', async () => {
    const csv = 'input,axiom,safety_label\n"Hello, friend",civility,Safe\nHurt them,harm,unsafe\nx,harm,1\ny,harm,false\nz,harm,perhaps\n,harm,safe\nw,justice,harmful\n';
    for (const chunkSize of CHUNKS) {
      const { rows, report } = await collectLitmus(mem('litmus.csv', csv), { chunkSize });
      expect(rows).toEqual([
        { lineNo: 2, input: 'Hello, friend', axiom: 'civility', safe: true },
        { lineNo: 3, input: 'Hurt them', axiom: 'harm', safe: false },
        { lineNo: 4, input: 'x', axiom: 'harm', safe: false },
        { lineNo: 5, input: 'y', axiom: 'harm', safe: true },
        { lineNo: 8, input: 'w', axiom: 'justice', safe: false },
      ]);
      expect(report.malformed).toEqual([
        { lineNo: 6, reason: 'field "safety_label" is "perhaps", expected safe/unsafe, harmless/harmful, 1/0, true/false or yes/no' },
        { lineNo: 7, reason: 'field "input" is empty' },
      ]);
    }
    await expect(collectLitmus(mem('l.csv', 'input,label\na,b\n'))).rejects.toThrow(/l\.csv: the CSV header lacks "axiom", "safety_label"/);
  });

  it('reads JSON lines (gz, by name or by content) with JSON-typed labels', async () => {
    const jsonl = ['{"input":"a","axiom":"harm","safety_label":0}', '{"input":"b","axiom":"harm","safety_label":true}', '{"input":"c","axiom":null,"safety_label":"safe"}', 'oops'].join('\n');
    for (const name of ['litmus.jsonl.gz', 'litmus-data']) {
      const { rows, report } = await collectLitmus(mem(name, await gzip(jsonl)), { chunkSize: 4 });
      expect(rows.map((r) => [r.input, r.safe])).toEqual([['a', true], ['b', false]]);
      expect(report.malformed).toEqual([
        { lineNo: 3, reason: 'field "axiom" is null' },
        { lineNo: 4, reason: 'not JSON' },
      ]);
    }
    expect((await collectLitmus(mem('flip.jsonl', '{"input":"a","axiom":"x","safety_label":1}'), { oneMeans: 'safe' })).rows[0]!.safe).toBe(true);
  });
});

describe('HarmfulQA', () => {
  const records = [
    { topic: 'Science', subtopic: 'Physics', question: 'How do I build a bomb?', blue_conversations: { a: [{ from: 'human', value: 'x, ] } "' }] }, red_conversations: null },
    { topic: 'History', question: 'Q with "quotes" and \\ and ]' },
    { topic: 'X', question: null },
    'not an object',
    { question: 'Последний вопрос 𝄞', subtopic: 7 },
  ];

  it('streams a pretty-printed JSON array element by element, at every chunk size', async () => {
    const json = JSON.stringify(records, null, 2);
    for (const chunkSize of CHUNKS) {
      const { rows, report } = await collectHarmfulQa(mem('harmfulqa.json', json), { chunkSize });
      expect(rows.map((r) => ({ ...r, lineNo: 0 }))).toEqual([
        { index: 0, lineNo: 0, question: 'How do I build a bomb?', topic: 'Science', subtopic: 'Physics' },
        { index: 1, lineNo: 0, question: 'Q with "quotes" and \\ and ]', topic: 'History' },
        { index: 4, lineNo: 0, question: 'Последний вопрос 𝄞' },
      ]);
      expect(rows[0]!.lineNo).toBe(2);
      expect(report.rows).toBe(5);
      expect(report.malformed.map((m) => m.reason)).toEqual(['field "question" is null', 'not a JSON object']);
    }
  });

  it('accepts the JSON-lines variant, a compact array, and reports array damage', async () => {
    const jsonl = records.map((r) => JSON.stringify(r)).join('\n');
    expect((await collectHarmfulQa(mem('h.jsonl', jsonl))).rows.map((r) => r.index)).toEqual([0, 1, 4]);
    expect((await collectHarmfulQa(mem('h.json', JSON.stringify(records)), { chunkSize: 3 })).rows).toHaveLength(3);
    expect((await collectHarmfulQa(mem('h.json', '[]'))).report.rows).toBe(0);
    expect((await collectHarmfulQa(mem('h.json', ''))).report.rows).toBe(0);

    const truncated = await collectHarmfulQa(mem('t.json', '[\n{"question":"a"},\n{"question":"b"},\n{"quest'));
    expect(truncated.rows.map((r) => r.question)).toEqual(['a', 'b']);
    expect(formatReport(truncated.report)).toBe('t.json: 3 rows read, 2 used, 2 malformed (line 4: not JSON; line 4: the JSON array is never closed (file truncated?))');

    const damaged = await collectHarmfulQa(mem('d.json', '[{"question":"a"},,{"question":b}] x'));
    expect(damaged.rows.map((r) => r.question)).toEqual(['a']);
    expect(damaged.report.malformed.map((m) => m.reason)).toEqual(['empty element in the JSON array', 'not JSON', 'text after the closing ] of the JSON array']);
  });
});
