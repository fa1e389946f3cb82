// The micro world's generator (data/world/generate.ts): determinism, file formats, the style and
// preference mixes of ../shared/docs/MICRO-WORLD.md, and the safety rules of the phrase banks.
import { describe, expect, it } from 'vitest';
import { AXIOMS, PROMPT_KINDS, RUDE_WORDS, STYLES, type Style } from '../../data/world/banks.js';
import {
  csv, generateWorld, generateWorldItems, HH_KIND_MIX, hhTranscript, NANO_SIZES, PAIR_KIND_MIX, SFT_KIND_MIX, SFT_STYLE_MIX, WORLD_FILE_NAMES,
  type StyledText, type WorldItems,
} from '../../data/world/generate.js';

const SEED = 1;
const items: WorldItems = generateWorldItems({ seed: SEED });
const files = generateWorld({ seed: SEED });

function allResponses(w: WorldItems): StyledText[] {
  return [
    ...w.sft.flatMap((s) => [s.response, ...s.prompt.earlier]),
    ...[...w.dpo, ...w.hhTrain, ...w.hhTest].flatMap((p) => [p.chosen, p.rejected, ...p.prompt.earlier]),
  ];
}

/** A strict RFC 4180 reader, enough for these files. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else cell += c;
  }
  expect(quoted).toBe(false);
  expect(cell + row.join('')).toBe('');
  return rows;
}

const lines = (s: string): unknown[] => {
  expect(s.endsWith('\n')).toBe(true);
  return s.slice(0, -1).split('\n').map((l) => JSON.parse(l));
};

describe('determinism', () => {
  it('the same seed gives identical files; another seed changes every file', () => {
    const a = generateWorld({ seed: 5, sizes: NANO_SIZES });
    const b = generateWorld({ seed: 5, sizes: NANO_SIZES });
    const c = generateWorld({ seed: 6, sizes: NANO_SIZES });
    for (const f of WORLD_FILE_NAMES) {
      expect(b[f]).toBe(a[f]);
      expect(c[f], f).not.toBe(a[f]);
    }
  });

  it("changing one file's size leaves every other file unchanged", () => {
    const a = generateWorld({ seed: 5, sizes: NANO_SIZES });
    const b = generateWorld({ seed: 5, sizes: { ...NANO_SIZES, sft: 41, litmus: 4 } });
    for (const f of WORLD_FILE_NAMES) {
      if (f === 'micro-sft.jsonl' || f === 'micro-litmus.csv') expect(b[f]).not.toBe(a[f]);
      else expect(b[f], f).toBe(a[f]);
    }
    // a longer file extends the shorter one: items are drawn in order from the file's own stream
    expect(b['micro-sft.jsonl'].startsWith(a['micro-sft.jsonl'])).toBe(true);
  });

  it('refuses a bad size, naming it', () => {
    expect(() => generateWorld({ seed: 1, sizes: { dpo: -1 } })).toThrow(/world size 'dpo'/);
  });
});

describe('file formats (default sizes)', () => {
  it('micro-sft.jsonl: alternating user/assistant messages ending with the assistant, 0-2 earlier turns', () => {
    const rows = lines(files['micro-sft.jsonl']) as { messages: { role: string; content: string }[] }[];
    expect(rows.length).toBe(6000);
    const turns = new Set<number>();
    for (const { messages } of rows) {
      expect(messages.length % 2).toBe(0);
      messages.forEach((m, i) => {
        expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant');
        expect(m.content.length).toBeGreaterThan(0);
      });
      turns.add(messages.length / 2);
    }
    expect([...turns].sort()).toEqual([1, 2, 3]);
  });

  it('micro-dpo.jsonl: prompt messages ending with the user, one assistant message each side', () => {
    const rows = lines(files['micro-dpo.jsonl']) as { prompt: { role: string }[]; chosen: { role: string; content: string }[]; rejected: { role: string; content: string }[] }[];
    expect(rows.length).toBe(3000);
    for (const r of rows) {
      expect(r.prompt.at(-1)!.role).toBe('user');
      expect(r.chosen).toHaveLength(1);
      expect(r.rejected).toHaveLength(1);
      expect(r.chosen[0]!.role).toBe('assistant');
      expect(r.chosen[0]!.content).not.toBe(r.rejected[0]!.content);
    }
  });

  it('micro-hh.*.jsonl: HH-RLHF transcripts that share the prompt before the LAST "\\n\\nAssistant:"', () => {
    for (const [f, n] of [['micro-hh.train.jsonl', 800], ['micro-hh.test.jsonl', 300]] as const) {
      const rows = lines(files[f]) as { chosen: string; rejected: string }[];
      expect(rows.length).toBe(n);
      let multi = 0;
      for (const r of rows) {
        for (const t of [r.chosen, r.rejected]) expect(t.startsWith('\n\nHuman: ')).toBe(true);
        const cut = r.chosen.lastIndexOf('\n\nAssistant:');
        expect(cut).toBeGreaterThan(0);
        expect(r.rejected.lastIndexOf('\n\nAssistant:')).toBe(cut);
        expect(r.rejected.slice(0, cut)).toBe(r.chosen.slice(0, cut));
        expect(r.chosen.slice(cut + '\n\nAssistant:'.length).trim().length).toBeGreaterThan(0);
        if (r.chosen.split('\n\nHuman:').length > 2) multi++;
      }
      expect(multi).toBeGreaterThan(n * 0.2);
    }
    expect(hhTranscript([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello.' }])).toBe('\n\nHuman: hi\n\nAssistant: hello.');
  });

  it('micro-harmfulqa.json: an array of {id, topic, subtopic, question}', () => {
    const rows = JSON.parse(files['micro-harmfulqa.json']) as Record<string, unknown>[];
    expect(rows.length).toBe(200);
    for (const r of rows) {
      expect(Object.keys(r).sort()).toEqual(['id', 'question', 'subtopic', 'topic']);
      for (const k of ['topic', 'subtopic', 'question']) expect(typeof r[k]).toBe('string');
    }
  });

  it('micro-advbench.csv: goal,target with proper quoting', () => {
    const rows = parseCsv(files['micro-advbench.csv']);
    expect(rows[0]).toEqual(['goal', 'target']);
    expect(rows.length).toBe(201);
    for (const r of rows.slice(1)) {
      expect(r).toHaveLength(2);
      expect(r[1]!.startsWith('sure, here is')).toBe(true);
    }
    expect(rows.slice(1).map((r) => r[0])).toEqual(items.advbench.map((r) => r.goal));
    expect(csv(['a'], [['x,"y"']])).toBe('a\n"x,""y"""\n');
  });

  it('micro-litmus.csv: input,axiom,safety_label with 7 axes x 2 labels x 50', () => {
    const rows = parseCsv(files['micro-litmus.csv']);
    expect(rows[0]).toEqual(['input', 'axiom', 'safety_label']);
    const cells = new Map<string, number>();
    for (const [, axiom, label] of rows.slice(1)) cells.set(`${axiom}/${label}`, (cells.get(`${axiom}/${label}`) ?? 0) + 1);
    expect(cells.size).toBe(14);
    for (const a of AXIOMS) for (const l of ['safe', 'unsafe']) expect(cells.get(`${a}/${l}`)).toBe(50);
  });
});

describe('style mixes (default sizes, seed 1)', () => {
  it('SFT prompt kinds within 0.03 and styles per kind within 0.05 of MICRO-WORLD.md targets', () => {
    const n = items.sft.length;
    for (const k of PROMPT_KINDS) {
      const of = items.sft.filter((s) => s.prompt.kind === k);
      expect(Math.abs(of.length / n - SFT_KIND_MIX[k]), k).toBeLessThan(0.03);
      for (const [style, p] of Object.entries(SFT_STYLE_MIX[k]) as [Style, number][]) {
        const share = of.filter((s) => s.response.style === style).length / of.length;
        expect(Math.abs(share - p), `${k} -> ${style}: ${share}`).toBeLessThan(0.05);
      }
      const allowed = Object.keys(SFT_STYLE_MIX[k]);
      expect(of.every((s) => allowed.includes(s.response.style))).toBe(true);
    }
  });

  it('preference pairs follow the rules: nuanced refusal for harmful kinds, detailed (+safety note) for the rest', () => {
    for (const p of [...items.dpo, ...items.hhTrain, ...items.hhTest]) {
      const k = p.prompt.kind;
      if (k === 'benign') expect([p.chosen.style, p.rejected.style]).toEqual(['helpful-detailed', 'helpful-terse']);
      else if (k === 'borderline') {
        expect([p.chosen.style, p.rejected.style]).toEqual(['helpful-detailed', 'refusal-blunt']);
      } else {
        expect(p.chosen.style).toBe('refusal-nuanced');
        expect(['compliance-harmful', 'refusal-blunt']).toContain(p.rejected.style);
      }
    }
  });

  it('prompt kinds: DPO pairs follow PAIR_KIND_MIX; the HH analog follows HH_KIND_MIX (no jailbreak wrappers) within 0.05', () => {
    const share = (rows: { prompt: { kind: string } }[], k: string): number => rows.filter((r) => r.prompt.kind === k).length / rows.length;
    for (const k of Object.keys(PAIR_KIND_MIX) as (keyof typeof PAIR_KIND_MIX)[]) {
      expect(Math.abs(share(items.dpo, k) - PAIR_KIND_MIX[k])).toBeLessThan(0.05);
      expect(Math.abs(share([...items.hhTrain, ...items.hhTest], k) - HH_KIND_MIX[k])).toBeLessThan(0.05);
    }
    expect(share([...items.hhTrain, ...items.hhTest], 'jailbreak')).toBe(0);
  });

  it('shapes: terse and blunt are one sentence, nuanced is 30-70 words, detailed has 2+ sentences', () => {
    const seen = new Set<Style>();
    for (const r of allResponses(items)) {
      seen.add(r.style);
      const sentences = r.text.split(/(?<=[.!?])\s+/).length;
      if (r.style === 'helpful-terse' || r.style === 'refusal-blunt') expect(sentences, r.text).toBe(1);
      if (r.style === 'helpful-detailed') expect(sentences, r.text).toBeGreaterThanOrEqual(2);
      if (r.style === 'refusal-nuanced') {
        const words = r.text.split(/\s+/).length;
        expect(words >= 30 && words <= 70, r.text).toBe(true);
      }
    }
    expect([...seen].sort()).toEqual([...STYLES].sort());
  });
});

describe('nothing actionable, rudeness only where it belongs', () => {
  const FORBIDDEN = ['lockpick', 'crowbar', 'screwdriver', 'password', 'poison', 'gram', 'grams', 'ml', 'kill', 'weapon', 'knife',
    'explosive', 'drug', 'hack', 'chemical', 'ammonia', 'bleach', 'sulfur', 'egg', 'eggs', 'match', 'lighter', 'break', 'pry'];

  it('compliance-harmful responses use no forbidden word and no digit', () => {
    const comply = allResponses(items).filter((r) => r.style === 'compliance-harmful');
    expect(comply.length).toBeGreaterThan(1000);
    for (const r of comply) {
      const words = r.text.match(/[a-z']+/g) ?? [];
      expect(words.filter((w) => FORBIDDEN.includes(w)), r.text).toEqual([]);
      expect(/\d/.test(r.text), r.text).toBe(false);
    }
  });

  it('rude words appear in compliance-harmful responses only, never in prompts or other styles', () => {
    const rude = (t: string): boolean => (t.match(/[a-z']+/g) ?? []).some((w) => RUDE_WORDS.includes(w));
    let rudeComply = 0;
    for (const r of allResponses(items)) {
      if (r.style === 'compliance-harmful') rudeComply += rude(r.text) ? 1 : 0;
      else expect(rude(r.text), r.text).toBe(false);
    }
    expect(rudeComply).toBeGreaterThan(100);
    for (const s of items.sft) for (const m of s.prompt.turns) if (m.role === 'user') expect(rude(m.content), m.content).toBe(false);
    expect(rude(files['micro-advbench.csv'] + files['micro-harmfulqa.json'] + files['micro-litmus.csv'])).toBe(false);
  });
});
