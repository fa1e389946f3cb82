import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MemoryDir } from '../../engine/byte-source.js';
import { NodeDir } from '../../engine/byte-source-node.js';
import { DsteerError } from '../../engine/errors.js';
import { loadTokenizer, sameTokenization, type ModelTokenizer } from '../../models/tokenizer.js';

// ---- tokenizer.json builders -------------------------------------------------------------------

const SPECIALS = ['<unk>', '<s>', '</s>', '<|user|>', '<|assistant|>', '<|end|>'];

function addedTokens(): object[] {
  return SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}

/** TemplateProcessing that prepends `<s>` (id 1), as Llama's tokenizer.json does. */
const BOS_PROCESSOR = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [
    { SpecialToken: { id: '<s>', type_id: 0 } },
    { Sequence: { id: 'A', type_id: 0 } },
    { SpecialToken: { id: '<s>', type_id: 1 } },
    { Sequence: { id: 'B', type_id: 1 } },
  ],
  special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
};

const WORDS = ['hello', 'world', 'the', 'cat', 'sat', 'on', 'mat', '.', 'hi', 'there'];

/** A WordLevel tokenizer with a Whitespace pre-tokenizer; ids: specials 0-5, then WORDS from 6. */
function wordLevelJson(opts: { bos: boolean; words?: string[] }): string {
  const vocab = Object.fromEntries([...SPECIALS, ...(opts.words ?? WORDS)].map((w, i) => [w, i]));
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: opts.bos ? BOS_PROCESSOR : null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  });
}

/** GPT-2's byte -> printable character map, for the byte-level BPE vocabulary. */
function byteChar(b: number): string {
  const keep = (x: number) => (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
  if (keep(b)) return String.fromCharCode(b);
  let n = 0;
  for (let x = 0; x < b; x++) if (!keep(x)) n++;
  return String.fromCharCode(256 + n);
}

/** A byte-level BPE tokenizer (every byte has a token, a few merges), optionally adding BOS. */
function bpeJson(opts: { bos: boolean }): string {
  const sp = byteChar(32); // 'Ġ'
  const merges = [['h', 'e'], [sp, 't'], [`${sp}t`, 'he'], ['a', 't'], [sp, 'c'], [`${sp}c`, 'at'], [sp, 's'], [`${sp}s`, 'at']];
  const vocab: Record<string, number> = {};
  for (const s of SPECIALS) vocab[s] = Object.keys(vocab).length;
  for (let b = 0; b < 256; b++) vocab[byteChar(b)] = Object.keys(vocab).length;
  for (const [x, y] of merges) vocab[x! + y!] = Object.keys(vocab).length;
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: opts.bos ? BOS_PROCESSOR : null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: merges.map((m) => m.join(' ')) },
  });
}

const TEMPLATE_WITH_BOS =
  "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|> {{ m.content }} <|end|> {% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
const TEMPLATE_NO_BOS =
  "{% for m in messages %}<|{{ m.role }}|> {{ m.content }} <|end|> {% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

function tokConfig(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', ...extra });
}

async function load(files: Record<string, string>, cfg?: { bosTokenId: number | null; eosTokenIds: number[] }): Promise<ModelTokenizer> {
  return loadTokenizer(new MemoryDir('m', files), cfg);
}

const USER = [{ role: 'user', content: 'hello world' }];
const count = (ids: number[], id: number) => ids.filter((x) => x === id).length;

// ---- BOS rules ---------------------------------------------------------------------------------

describe('BOS rules', () => {
  it('plain text gets exactly one BOS from a BOS-adding post-processor', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig() });
    expect(tok.addsBos).toBe(true);
    expect(tok.bosId).toBe(1);
    expect(tok.encode('hello world')).toEqual([1, 6, 7]);
    expect(tok.encodeRaw('hello world')).toEqual([6, 7]);
    expect(tok.encodePrompt({ text: 'hello world' })).toEqual([1, 6, 7]);
  });

  it('plain text gets no BOS without a post-processor (post_processor: null)', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: false }), 'tokenizer_config.json': tokConfig() });
    expect(tok.addsBos).toBe(false);
    expect(tok.encode('hello world')).toEqual([6, 7]);
  });

  it('plain text that writes <s> itself keeps it, as HF tokenizer(text) does', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig() });
    expect(tok.encode('<s>hello')).toEqual([1, 1, 6]);
  });

  it('chat: a template that writes bos_token plus a BOS-adding post-processor gives one BOS, not two', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_WITH_BOS }) });
    expect(tok.renderChat(USER, { addGenerationPrompt: true })).toBe('<s><|user|> hello world <|end|> <|assistant|>');
    const ids = tok.encodeChat(USER, { addGenerationPrompt: true });
    expect(ids).toEqual([1, 3, 6, 7, 5, 4]);
    expect(count(ids, 1)).toBe(1);
  });

  it('chat: a template without bos_token plus a BOS-adding post-processor gets one BOS prepended', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_NO_BOS }) });
    expect(tok.encodeChat(USER, { addGenerationPrompt: true })).toEqual([1, 3, 6, 7, 5, 4]);
  });

  it('chat: no BOS is added when the post-processor adds none', async () => {
    const noBos = await load({ 'tokenizer.json': wordLevelJson({ bos: false }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_NO_BOS }) });
    expect(noBos.encodeChat(USER)).toEqual([3, 6, 7, 5]);
    const templateBos = await load({ 'tokenizer.json': wordLevelJson({ bos: false }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_WITH_BOS }) });
    expect(templateBos.encodeChat(USER)).toEqual([1, 3, 6, 7, 5]); // the template's own <s> only
  });

  it('an explicit add_bos_token in tokenizer_config.json overrides the post-processor', async () => {
    const off = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ add_bos_token: false }) });
    expect(off.addsBos).toBe(false);
    expect(off.encode('hello')).toEqual([6]);
    const on = await load({ 'tokenizer.json': wordLevelJson({ bos: false }), 'tokenizer_config.json': tokConfig({ add_bos_token: true }) });
    expect(on.addsBos).toBe(true);
    expect(on.encode('hello')).toEqual([1, 6]);
  });
});

// ---- prompt + continuation ---------------------------------------------------------------------

describe('prompt + continuation boundaries', () => {
  const cases: [string, () => string][] = [
    ['word-level', () => wordLevelJson({ bos: true })],
    ['byte-level BPE', () => bpeJson({ bos: true })],
  ];
  for (const [kind, json] of cases) {
    for (const prompt of [{ text: 'hello world' }, { messages: USER }]) {
      const label = 'text' in prompt ? 'plain' : 'chat';
      it(`${kind}, ${label} prompt: full string encoded once, promptLen = the prompt's own count`, async () => {
        const tok = await load({ 'tokenizer.json': json(), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_WITH_BOS }) });
        const continuation = ' the cat sat on the mat.';
        const { ids, promptLen } = tok.encodePromptContinuation(prompt, continuation);
        const promptText = 'text' in prompt ? prompt.text : tok.renderChat(prompt.messages, { addGenerationPrompt: true });
        // Plain: HF tokenizer(full). Chat: the template already writes <s>, so nothing is prepended.
        const full = 'text' in prompt ? tok.encode(promptText + continuation) : tok.encodeRaw(promptText + continuation);
        expect(ids).toEqual(full);
        expect(promptLen).toBe(tok.encodePrompt(prompt).length);
        expect(ids.slice(0, promptLen)).toEqual(tok.encodePrompt(prompt));
        expect(count(ids, 1)).toBe(1);
        expect(ids.at(-1)).not.toBe(2); // no EOS appended
        const decoded = tok.decode(ids.slice(promptLen));
        // Word-level has no decoder (tokens joined by spaces); byte-level decodes exactly.
        expect(decoded).toBe(kind === 'byte-level BPE' ? continuation : 'the cat sat on the mat .');
      });
    }
  }

  it('chat prompt without bos in the template: BOS prepended to the full string and counted in promptLen', async () => {
    const tok = await load({ 'tokenizer.json': bpeJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_NO_BOS }) });
    const { ids, promptLen } = tok.encodePromptContinuation({ messages: USER }, ' the cat');
    const rendered = tok.renderChat(USER, { addGenerationPrompt: true });
    expect(ids).toEqual([1, ...tok.encodeRaw(rendered + ' the cat')]);
    expect(promptLen).toBe(1 + tok.encodeRaw(rendered).length);
    expect(tok.decode(ids.slice(promptLen))).toBe(' the cat');
  });

  it('encodePrompt(p) equals encodePromptContinuation(p, "").ids', async () => {
    const tok = await load({ 'tokenizer.json': bpeJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_NO_BOS }) });
    for (const p of [{ text: 'the cat' }, { messages: USER }]) {
      const r = tok.encodePromptContinuation(p, '');
      expect(r.ids).toEqual(tok.encodePrompt(p));
      expect(r.promptLen).toBe(r.ids.length);
    }
  });
});

// ---- files and fields --------------------------------------------------------------------------

describe('loading', () => {
  it('eos ids are the union of generation_config, config and tokenizer_config, in that order', async () => {
    const tok = await load(
      {
        'tokenizer.json': wordLevelJson({ bos: true }),
        'tokenizer_config.json': tokConfig({ eos_token: { content: '<|end|>', special: true }, bos_token: { content: '<s>' } }),
        'generation_config.json': JSON.stringify({ eos_token_id: [2, 7], bos_token_id: 1 }),
      },
      { bosTokenId: 1, eosTokenIds: [7, 9] },
    );
    expect(tok.eosIds).toEqual([2, 7, 9, 5]);
    expect(tok.bosId).toBe(1);
    expect(tok.vocabSize).toBe(SPECIALS.length + WORDS.length);
  });

  it('generation_config eos_token_id may be a single int; bos falls back to config.json', async () => {
    const tok = await load(
      { 'tokenizer.json': wordLevelJson({ bos: false }), 'generation_config.json': JSON.stringify({ eos_token_id: 2 }) },
      { bosTokenId: 1, eosTokenIds: [2] },
    );
    expect(tok.eosIds).toEqual([2]);
    expect(tok.bosId).toBe(1);
  });

  it('chat_template.jinja is used (and wins over tokenizer_config.json, as in transformers)', async () => {
    const files = { 'tokenizer.json': wordLevelJson({ bos: true }), 'chat_template.jinja': TEMPLATE_NO_BOS };
    const tok = await load({ ...files, 'tokenizer_config.json': tokConfig() });
    expect(tok.hasChatTemplate).toBe(true);
    expect(tok.renderChat(USER)).toBe('<|user|> hello world <|end|> ');
    const both = await load({ ...files, 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_WITH_BOS }) });
    expect(both.renderChat(USER)).toBe('<|user|> hello world <|end|> ');
  });

  it('a chat_template given as a named list uses "default"', async () => {
    const list = [
      { name: 'tool_use', template: 'TOOLS' },
      { name: 'default', template: TEMPLATE_NO_BOS },
    ];
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: list }) });
    expect(tok.renderChat(USER)).toBe('<|user|> hello world <|end|> ');
    const noDefault = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: [list[0]] }) });
    expect(noDefault.hasChatTemplate).toBe(false);
    expect(() => noDefault.renderChat(USER)).toThrow(/"tool_use" but none named "default"/);
  });

  it('a missing tokenizer.json is an error naming the path', async () => {
    await expect(load({ 'tokenizer_config.json': tokConfig() })).rejects.toThrow(new DsteerError('m/tokenizer.json: missing (a model folder needs the Hugging Face tokenizer.json)'));
  });

  it('a corrupt tokenizer.json is an error naming the path', async () => {
    await expect(load({ 'tokenizer.json': '{"model": ' })).rejects.toThrow(/^m\/tokenizer\.json: not valid JSON/);
    await expect(load({ 'tokenizer.json': '[1, 2]' })).rejects.toThrow('m/tokenizer.json: expected a JSON object');
    await expect(load({ 'tokenizer.json': '{"version": "1.0"}' })).rejects.toThrow('m/tokenizer.json: field "model" is missing');
    const unknown = JSON.stringify({ ...JSON.parse(wordLevelJson({ bos: false })), post_processor: { type: 'Bogus' } });
    await expect(load({ 'tokenizer.json': unknown })).rejects.toThrow(/^m\/tokenizer\.json: rejected by @huggingface\/tokenizers \(Unknown PostProcessor type: Bogus\)/);
  });

  it('a corrupt tokenizer_config.json or a bad field names the file and field', async () => {
    const json = wordLevelJson({ bos: false });
    await expect(load({ 'tokenizer.json': json, 'tokenizer_config.json': '{' })).rejects.toThrow(/^m\/tokenizer_config\.json: not valid JSON/);
    await expect(load({ 'tokenizer.json': json, 'tokenizer_config.json': '{"bos_token": 5}' })).rejects.toThrow('m/tokenizer_config.json: field "bos_token" is 5');
    await expect(load({ 'tokenizer.json': json, 'generation_config.json': '{"eos_token_id": "x"}' })).rejects.toThrow('m/generation_config.json: field "eos_token_id" is "x"');
  });

  it('renderChat without a template names the model folder', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig() });
    expect(tok.hasChatTemplate).toBe(false);
    expect(() => tok.renderChat(USER)).toThrow(new DsteerError('m has no chat_template in tokenizer_config.json and no chat_template.jinja'));
  });

  it('a template that fails to render is a DsteerError naming its source', async () => {
    const strict = "{% if messages[0].role != 'system' %}{{ raise_exception('first message must be system') }}{% endif %}";
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: strict }) });
    expect(() => tok.renderChat(USER)).toThrow(DsteerError);
    expect(() => tok.renderChat(USER)).toThrow(/tokenizer_config\.json field "chat_template": chat template failed to render \(first message must be system\)/);
    const broken = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'chat_template.jinja': '{% if %}' });
    expect(() => broken.renderChat(USER)).toThrow(/^m\/chat_template\.jinja: chat template does not parse/);
  });
});

// ---- library behaviour we rely on or work around ---------------------------------------------

describe('@huggingface/tokenizers behaviour', () => {
  it('splits added tokens out of text, special or not, with and without the post-processor', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig() });
    expect(tok.encodeRaw('the<s>cat</s> <|end|>hello')).toEqual([8, 1, 9, 2, 5, 6]);
  });

  it('WordLevel unknown words map to model.unk_token even when tokenizer_config.json has no unk_token', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: false }) });
    expect(tok.encodeRaw('hello zebra')).toEqual([6, 0]);
  });

  it('a word with no token and no unk_token is a DsteerError, not an undefined id', async () => {
    const json = JSON.parse(wordLevelJson({ bos: false }));
    delete json.model.unk_token;
    const tok = await load({ 'tokenizer.json': JSON.stringify(json) });
    expect(() => tok.encodeRaw('hello zebra')).toThrow('m/tokenizer.json: text piece "zebra" is not in the vocabulary');
  });

  it('decode: empty -> "", unknown ids dropped, specials skipped by default', async () => {
    const tok = await load({ 'tokenizer.json': bpeJson({ bos: true }), 'tokenizer_config.json': tokConfig() });
    const ids = tok.encode('the cat');
    expect(tok.decode([])).toBe('');
    expect(tok.decode(ids)).toBe('the cat');
    expect(tok.decode(ids, { skipSpecial: false })).toBe('<s>the cat');
    expect(tok.decode([...ids, 99999])).toBe('the cat');
    expect(tok.tokenString(1)).toBe('<s>');
    expect(() => tok.tokenString(99999)).toThrow(/token id 99999 is not in the vocabulary of m\/tokenizer\.json/);
  });
});

// ---- sameTokenization --------------------------------------------------------------------------

describe('sameTokenization', () => {
  const probes = ['hello world', 'the cat sat on the mat.'];
  it('returns null for identical tokenizers', async () => {
    const files = { 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_NO_BOS }) };
    expect(sameTokenization(await load(files), await load(files), probes)).toBeNull();
  });

  it('names the first differing probe and token', async () => {
    const a = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig() });
    const swapped = [...WORDS];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!]; // 'cat' and 'sat' trade ids
    const b = await loadTokenizer(new MemoryDir('n', { 'tokenizer.json': wordLevelJson({ bos: true, words: swapped }), 'tokenizer_config.json': tokConfig() }));
    expect(sameTokenization(a, b, probes)).toBe('tokenizers of m and n differ on text probe "the cat sat on the mat.": token 2 is 9 vs 10');
  });

  it('detects differing BOS behaviour and EOS ids', async () => {
    const a = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig() });
    const noBos = await load({ 'tokenizer.json': wordLevelJson({ bos: false }), 'tokenizer_config.json': tokConfig() });
    expect(sameTokenization(a, noBos, probes)).toMatch(/adds BOS vs does not add/);
    const otherEos = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ eos_token: '<|end|>' }) });
    expect(sameTokenization(a, otherEos, probes)).toMatch(/EOS ids \[2\] vs \[5\]/);
  });

  it('compares chat encodings when both have templates', async () => {
    const a = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_NO_BOS }) });
    const b = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_NO_BOS.replace('<|end|> ', '') }) });
    expect(sameTokenization(a, b, probes)).toMatch(/on chat probe "hello world": token 4 is 5 vs 4/);
  });
});

// ---- real id-level tokenizers outside the project (../shared) ----------------------------------

function sharedDir(rel: string): { path: string; present: boolean } {
  const path = fileURLToPath(new URL(`../../../shared/${rel}`, import.meta.url));
  const present = existsSync(join(path, 'tokenizer.json'));
  if (!present) console.warn(`tokenizer tests: ${path}/tokenizer.json not found; its tests are skipped`);
  return { path, present };
}

for (const [rel, vocab] of [['models/stories260k', 512], ['fixtures/tiny-qwen2-f16-tied', 320]] as const) {
  const { path, present } = sharedDir(rel);
  const title = `${rel}: id-level tokenizer (token i is "<i>")`;
  if (!present) {
    it.skip(`${title} [skipped: ${path} is absent]`, () => {});
    continue;
  }
  it(title, async () => {
    const tok = await loadTokenizer(await NodeDir.open(path));
    expect(tok.vocabSize).toBe(vocab);
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toEqual([2]);
    expect(tok.addsBos).toBe(false); // post_processor is null
    expect(tok.encode('<1> <5>')).toEqual([1, 5]);
    expect(tok.decode([1, 5, 9], { skipSpecial: false })).toBe('<1> <5> <9>');
    expect(tok.decode([1, 5, 9])).toBe('<5> <9>');
    expect(tok.tokenString(7)).toBe('<7>');
    expect(tok.hasChatTemplate).toBe(false);
  });
}

// ---- the TSDoc examples of models/tokenizer.ts -------------------------------------------------

describe('TSDoc examples', () => {
  const { path, present } = sharedDir('models/stories260k');
  if (!present) {
    it.skip(`examples run on stories260k [skipped: ${path} is absent]`, () => {});
    return;
  }
  it('run as written on stories260k', async () => {
    const tok = await loadTokenizer(await NodeDir.open(path));
    expect(tok.encode('<1> <5>')).toEqual([1, 5]);
    expect(tok.encodeRaw('<1> <5>')).toEqual([1, 5]);
    expect(tok.decode([1, 5, 9])).toBe('<5> <9>');
    expect(tok.decode([1, 5], { skipSpecial: false })).toBe('<1> <5>');
    expect(tok.encodePrompt({ text: '<1> <5>' })).toEqual([1, 5]);
    expect(tok.encodePromptContinuation({ text: '<1> <5>' }, ' <9>')).toEqual({ ids: [1, 5, 9], promptLen: 2 });
    expect(tok.tokenString(5)).toBe('<5>');
    expect(sameTokenization(tok, tok, ['<1> <5>'])).toBeNull();
  });
  it('chat examples run on an in-memory tokenizer with a template', async () => {
    const tok = await load({ 'tokenizer.json': wordLevelJson({ bos: true }), 'tokenizer_config.json': tokConfig({ chat_template: TEMPLATE_NO_BOS }) });
    expect(tok.renderChat([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).toBe('<|user|> hi <|end|> <|assistant|>');
    expect(tok.encodeChat([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).toEqual([1, 3, 14, 5, 4]);
  });
});
