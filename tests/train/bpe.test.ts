// The byte-level BPE trainer (train/bpe.ts) and its files (train/bpe-files.ts), checked through our
// own tokenizer layer (models/tokenizer.ts over a MemoryDir), the way a trained model is loaded.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryDir } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { Rng } from '../../engine/rng.js';
import { loadTokenizer, type ModelTokenizer } from '../../models/tokenizer.js';
import { repoPath } from '../helpers.js';
import { BYTE_TO_CHAR, CHAT_TOKENS, chatTemplate, toTokenizerConfig, toTokenizerJson, trainBpe, type BpeModel } from '../../train/bpe.js';

const SPECIALS = Object.values(CHAT_TOKENS);
const K = SPECIALS.length;

/** Lines that exercise the byte level: unicode, punctuation, runs of spaces, tabs, edges. */
const ODD_LINES = [
  'Hello, world! How are you today?',
  "It's 3:45 p.m.; we'll leave at 4 -- don't be late...",
  'Multiple   spaces  between\twords\tand tabs',
  '  leading and trailing spaces  ',
  ' ',
  '',
  'Ünïcödé: café, naïve, jalapeño, Straße, Œuvre',
  '日本語のテキストと中文文本，还有한국어.',
  'Emoji 🙂🚀 and a family 👨‍👩‍👧 (ZWJ), flags 🇫🇷',
  'Combining e\u0301 vs é; RTL: שלום עולם, مرحبا',
  'Symbols: <>{}[]()!@#$%^&*_+=|\\/~`"\'?',
  'line one\nline two\r\nline three\n\n',
  'numbers 1234567890 3.14159 -42 1e-9 0x1F',
  '\u0000 control \u0007 bytes \u007f and a lone \u00a0 nbsp',
];

/** A seeded, micro-world-like English corpus of short dialogue lines. */
function englishCorpus(lines: number, seed = 1): string[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const topics = ['the garden', 'my dog', 'a bike tyre', 'the soup', 'my homework', 'the trip to the coast', 'a leaky tap', 'the board game', 'our budget', 'the science fair', 'the bread dough', 'a broken shelf'];
  const asks = ['Can you help me with', 'How should I deal with', 'What is the best way to handle', 'Could you explain', 'I need some advice about', 'Tell me something about'];
  const openers = ['Sure.', 'Of course.', 'Good question.', 'Happy to help.', 'Here is what I would do.', 'That depends a little.'];
  const steps = ['First, check what you already have', 'then make a short plan', 'take it one step at a time', 'ask someone who has done it before', 'write down what worked', 'keep the area clean and safe', 'give it a day and look again', 'start small and be patient'];
  const closers = ['Good luck!', 'Let me know how it goes.', 'You can do it.', 'That should be enough for now.', 'I hope this helps.'];
  const refusals = ["I can't help with that.", "I won't help with that, because it could hurt someone.", 'That is not something I can assist with, but I can suggest a safer idea.'];
  const syllables = ['ka', 'lo', 'mi', 'ren', 'tha', 'dor', 'bel', 'sun', 'vi', 'qua', 'zet', 'om', 'ar', 'is', 'gle', 'fen', 'pro', 'wy', 'chu', 'nax'];
  const name = (): string => {
    const n = 2 + rng.int(2);
    const w = Array.from({ length: n }, () => pick(syllables)).join('');
    return w[0]!.toUpperCase() + w.slice(1);
  };
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const r = rng.int(4);
    if (r === 3) out.push(`My friend ${name()} from ${name()} says hello to ${name()}.`);
    else if (r === 0) out.push(`${pick(asks)} ${pick(topics)}?`);
    else if (r === 1) out.push(`${pick(openers)} ${pick(steps)}, ${pick(steps)}, and ${pick(steps)}. ${pick(closers)}`);
    else out.push(`${pick(refusals)} Maybe try ${pick(topics)} instead; it takes about ${1 + rng.int(59)} minutes.`);
  }
  return out;
}

async function loadTrained(model: BpeModel): Promise<ModelTokenizer> {
  return loadTokenizer(new MemoryDir('bpe', { 'tokenizer.json': toTokenizerJson(model), 'tokenizer_config.json': toTokenizerConfig(model) }));
}

/** The slow, obvious twin: recount every pair of every word before each merge. */
function naiveMerges(corpus: string[], vocabSize: number, minFrequency: number): string[] {
  const enc = new TextEncoder();
  const words = new Map<string, number>();
  const split = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  for (const line of corpus) for (const m of line.matchAll(split)) words.set(m[0], (words.get(m[0]) ?? 0) + 1);
  const list = [...words].map(([w, n]) => ({ syms: Array.from(enc.encode(w), (b) => BYTE_TO_CHAR[b]!), n }));
  const merges: string[] = [];
  const vocab = new Set(BYTE_TO_CHAR);
  while (K + vocab.size < vocabSize) {
    const counts = new Map<string, [string, string, number]>();
    for (const { syms, n } of list) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const key = JSON.stringify([syms[i], syms[i + 1]]);
        const c = counts.get(key) ?? [syms[i]!, syms[i + 1]!, 0];
        c[2] += n;
        counts.set(key, c);
      }
    }
    let best: [string, string, number] | null = null;
    for (const c of counts.values()) {
      if (!best || c[2] > best[2] || (c[2] === best[2] && (c[0] < best[0] || (c[0] === best[0] && c[1] < best[1])))) best = c;
    }
    if (!best || best[2] < minFrequency) break;
    const [a, b] = best;
    merges.push(`${a} ${b}`);
    vocab.add(a + b);
    for (const w of list) {
      for (let i = 0; i + 1 < w.syms.length; i++) if (w.syms[i] === a && w.syms[i + 1] === b) w.syms.splice(i, 2, a + b);
    }
  }
  return merges;
}

describe('trainBpe', () => {
  const corpus = englishCorpus(400);

  it('is deterministic: same merges on a rerun and on the corpus in another order', () => {
    const a = trainBpe(corpus, { vocabSize: 600, specialTokens: SPECIALS });
    const b = trainBpe(corpus, { vocabSize: 600, specialTokens: SPECIALS, seed: 7 });
    const c = trainBpe([...corpus].reverse(), { vocabSize: 600, specialTokens: SPECIALS });
    expect(b.merges).toEqual(a.merges);
    expect(c.merges).toEqual(a.merges);
    expect(c.vocab).toEqual(a.vocab);
  });

  it('breaks ties by the pair strings: count first, then the left token, then the right', () => {
    // Words "cd", "Ġab" x2, "Ġcd", "Ġxy" x3. Counts: Ġx = xy = 3; then Ġa = ab = cd = 2 (Ġ is U+0120,
    // so it sorts after ASCII: "x y" before "Ġ x", "a b" before "c d" before "Ġ a").
    const m = trainBpe(['cd ab cd ab xy xy xy'], { vocabSize: 256 + 5, specialTokens: [] });
    expect(m.merges.map((p) => p.join(' '))).toEqual(['x y', 'Ġ xy', 'a b', 'c d', 'Ġ ab']);
  });

  it('matches a full recount per merge (the incremental counts are right)', () => {
    const small = [...englishCorpus(120, 3), 'aaaa aaaaa abab ababab aaa', 'banana bandana ananas', ...ODD_LINES];
    const fast = trainBpe(small, { vocabSize: K + 256 + 250, specialTokens: SPECIALS, minFrequency: 2 });
    const slow = naiveMerges(small, K + 256 + 250, 2);
    expect(fast.merges.map((p) => p.join(' '))).toEqual(slow);
    expect(fast.merges.length).toBe(250);
  });

  it('reaches the vocabulary size, or stops when the corpus is exhausted (documented in stats)', async () => {
    const m = trainBpe(englishCorpus(3000), { vocabSize: 1024, specialTokens: SPECIALS });
    expect(m.vocab.length).toBe(1024);
    expect(m.stats.stopReason).toBe('vocab-size');
    expect((await loadTrained(m)).vocabSize).toBe(1024);

    const rare = trainBpe(['abc abc xyz'], { vocabSize: 1000, specialTokens: SPECIALS });
    expect(rare.stats.stopReason).toBe('min-frequency'); // "Ġx y z" pairs occur once
    const all = trainBpe(['abc abc xyz'], { vocabSize: 1000, specialTokens: SPECIALS, minFrequency: 1 });
    expect(all.stats.stopReason).toBe('exhausted'); // every word is one token
    expect(all.vocab).toContain('abc');
    expect(all.vocab).toContain('Ġxyz');
    expect(all.vocab.length).toBeLessThan(1000);
  });

  it('refuses bad options with the option named', () => {
    expect(() => trainBpe([], { vocabSize: 100, specialTokens: [] })).toThrow(new DsteerError('trainBpe: vocabSize 100 must be an integer from 256 (0 special tokens + 256 bytes) to 1048576'));
    expect(() => trainBpe([], { vocabSize: 300, specialTokens: ['<a>', '<a>'] })).toThrow(/special token "<a>" is empty or listed twice/);
    expect(() => trainBpe([], { vocabSize: 300, specialTokens: [], minFrequency: 0 })).toThrow(/minFrequency 0/);
    const m = trainBpe(['hi'], { vocabSize: 300, specialTokens: ['<s>'] });
    expect(() => toTokenizerConfig(m)).toThrow(/the pad token "<\|pad\|>" is not one of the model's special tokens \("<s>"\)/);
    expect(() => toTokenizerJson(m)).toThrow(/bosToken "<\|bos\|>" is not one/);
    expect(JSON.parse(toTokenizerJson(m, { bosToken: null })).post_processor).toBeNull();
  });
});

describe('trained tokenizer files through models/tokenizer.ts', () => {
  const corpus = [...englishCorpus(600, 2), ...ODD_LINES];

  it('round-trips every line exactly, with and without the BOS the post-processor adds', async () => {
    const m = trainBpe(corpus, { vocabSize: 800, specialTokens: SPECIALS });
    const tok = await loadTrained(m);
    const bos = SPECIALS.indexOf(CHAT_TOKENS.bos);
    expect(tok.bosId).toBe(bos);
    expect(tok.addsBos).toBe(true);
    for (const line of [...corpus, ...ODD_LINES.map((l) => `${l} unseen wörds ⊕ ${l}`)]) {
      const raw = tok.encodeRaw(line);
      expect(tok.decode(raw), JSON.stringify(line)).toBe(line);
      const full = tok.encode(line);
      expect(full[0]).toBe(bos);
      expect(full.slice(1)).toEqual(raw);
      expect(tok.decode(full)).toBe(line);
      for (const id of raw) expect(id).toBeGreaterThanOrEqual(K); // no special id from plain text
    }
  });

  it('keeps special tokens as single ids that no merge builds or crosses', async () => {
    // Special tokens inside the training text are cut out before counting.
    const withSpecials = corpus.map((l, i) => (i % 2 ? `${CHAT_TOKENS.user}${l}${CHAT_TOKENS.eos}` : l));
    const m = trainBpe(withSpecials, { vocabSize: 900, specialTokens: SPECIALS });
    expect(m.vocab.slice(0, K)).toEqual(SPECIALS);
    for (const t of m.vocab.slice(K)) for (const s of SPECIALS) expect(t.includes(s) || t.includes('<|')).toBe(false);
    const tok = await loadTrained(m);
    const ids = tok.encodeRaw(`${CHAT_TOKENS.user}Hi<|end|>x${CHAT_TOKENS.assistant}${CHAT_TOKENS.eos}`);
    expect(ids[0]).toBe(SPECIALS.indexOf(CHAT_TOKENS.user));
    expect(ids.at(-2)).toBe(SPECIALS.indexOf(CHAT_TOKENS.assistant));
    expect(ids.at(-1)).toBe(SPECIALS.indexOf(CHAT_TOKENS.eos));
    expect(ids.filter((id) => id < K)).toHaveLength(4);
    expect(tok.eosIds).toEqual([SPECIALS.indexOf(CHAT_TOKENS.eos)]);
    expect(tok.decode(ids)).toBe('Hix'); // special tokens skipped
    expect(tok.decode(ids, { skipSpecial: false })).toBe('<|user|>Hi<|end|>x<|assistant|><|end|>');
  });

  it('renders a 2-turn chat with one BOS and the generation prompt; continuation boundaries are exact', async () => {
    const m = trainBpe(corpus, { vocabSize: 800, specialTokens: SPECIALS });
    const tok = await loadTrained(m);
    const id = (t: string): number => SPECIALS.indexOf(t);
    const chat = [
      { role: 'user', content: 'Can you help me with the garden?' },
      { role: 'assistant', content: 'Sure. First, check what you already have.' },
      { role: 'user', content: 'And then?' },
    ];
    expect(tok.renderChat(chat.slice(0, 2))).toBe(
      '<|bos|><|user|>Can you help me with the garden?<|end|><|assistant|>Sure. First, check what you already have.<|end|>',
    );
    expect(tok.renderChat(chat.slice(0, 1), { addGenerationPrompt: true })).toBe('<|bos|><|user|>Can you help me with the garden?<|end|><|assistant|>');

    const ids = tok.encodeChat(chat, { addGenerationPrompt: true });
    expect(ids.filter((x) => x === id(CHAT_TOKENS.bos))).toEqual([id(CHAT_TOKENS.bos)]);
    expect(ids[0]).toBe(id(CHAT_TOKENS.bos));
    expect(ids.at(-1)).toBe(id(CHAT_TOKENS.assistant));
    expect(ids.filter((x) => x === id(CHAT_TOKENS.eos))).toHaveLength(3);

    const continuation = 'Then water it every morning. Good luck!';
    const { ids: all, promptLen } = tok.encodePromptContinuation({ messages: chat }, continuation);
    expect(all.slice(0, promptLen)).toEqual(tok.encodePrompt({ messages: chat }));
    expect(all[promptLen - 1]).toBe(id(CHAT_TOKENS.assistant));
    expect(tok.decode(all.slice(promptLen))).toBe(continuation);
    expect(all.slice(promptLen)).toEqual(tok.encodeRaw(continuation));
    // plain prompts follow the plain rule: BOS from the post-processor, the boundary at the prompt's length
    const plain = tok.encodePromptContinuation({ text: 'Sure.' }, ' First, check.');
    expect(plain.ids[0]).toBe(id(CHAT_TOKENS.bos));
    expect(tok.decode(plain.ids.slice(plain.promptLen))).toBe(' First, check.');

    expect(() => tok.renderChat([{ role: 'tool', content: 'x' }])).toThrow(/unknown chat role: tool/);
    expect(chatTemplate()).toBe(JSON.parse(toTokenizerConfig(m)).chat_template);
  });

  it('compresses English dialogue text at vocab 1024 (>= 2.5 characters per token), and trains fast', async () => {
    const big = englishCorpus(20_000, 5); // ~1.5 MB
    const chars = big.reduce((s, l) => s + l.length, 0);
    const t0 = performance.now();
    const m = trainBpe(big, { vocabSize: 1024, specialTokens: SPECIALS });
    const ms = performance.now() - t0;
    const tok = await loadTrained(m);
    const sample = big.slice(0, 2000);
    const tokens = sample.reduce((s, l) => s + tok.encodeRaw(l).length, 0);
    const ratio = sample.reduce((s, l) => s + l.length, 0) / tokens;
    console.log(`bpe: ${(chars / 1e6).toFixed(2)} MB, ${m.stats.wordTypes} word types, vocab ${m.vocab.length} in ${ms.toFixed(0)} ms; ${ratio.toFixed(2)} chars/token`);
    expect(ratio).toBeGreaterThanOrEqual(2.5);
    expect(ms).toBeLessThan(5000);

    // Real prose with code in it: this repository's own README and architecture notes.
    const docs = ['README.md', 'docs/ARCHITECTURE.md'].map((f) => readFileSync(repoPath(f), 'utf8')).join('\n').split('\n');
    const d = trainBpe(docs, { vocabSize: 1024, specialTokens: SPECIALS });
    const dtok = await loadTrained(d);
    const dRatio = docs.reduce((s, l) => s + l.length, 0) / docs.reduce((s, l) => s + dtok.encodeRaw(l).length, 0);
    console.log(`bpe: repo docs ${docs.join('\n').length} chars, vocab ${d.vocab.length} (${d.stats.stopReason}); ${dRatio.toFixed(2)} chars/token`);
    expect(dRatio).toBeGreaterThanOrEqual(2); // docs change; this is a floor, the log line is the measurement
  });

  it('writes files that parse and name their parts', () => {
    const m = trainBpe(corpus, { vocabSize: 400, specialTokens: SPECIALS });
    const json = JSON.parse(toTokenizerJson(m));
    expect(json.model.type).toBe('BPE');
    expect(json.model.merges[0]).toEqual(m.merges[0]);
    expect(Object.keys(json.model.vocab)).toHaveLength(m.vocab.length);
    expect(json.added_tokens.map((t: { content: string; special: boolean }) => [t.content, t.special])).toEqual(SPECIALS.map((s) => [s, true]));
    expect(json.pre_tokenizer.type).toBe('ByteLevel');
    expect(json.decoder.type).toBe('ByteLevel');
    expect(json.post_processor.single[0]).toEqual({ SpecialToken: { id: '<|bos|>', type_id: 0 } });
    const cfg = JSON.parse(toTokenizerConfig(m, { modelMaxLength: 256 }));
    expect([cfg.bos_token, cfg.eos_token, cfg.pad_token, cfg.model_max_length]).toEqual(['<|bos|>', '<|end|>', '<|pad|>', 256]);
  });
});
