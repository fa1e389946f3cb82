/**
 * Hugging Face tokenizers: `tokenizer.json` (through @huggingface/tokenizers), the chat template
 * (through @huggingface/jinja) and the special ids from `tokenizer_config.json`,
 * `generation_config.json` and `config.json`. Reads through a FileDir, so it runs in a browser.
 *
 * BOS rules (ARCHITECTURE.md, "Tokenization rules"; they decide which token is "last"):
 * - Plain text is encoded as Hugging Face's `tokenizer(text)` does: with the post-processor, which
 *   may add BOS (and, for some non-Llama tokenizers, a trailing EOS).
 * - Chat is rendered with the template, encoded WITHOUT special tokens, and BOS is prepended only if
 *   the post-processor would add one and the ids do not already start with BOS. Never two BOS.
 * - Prompt + continuation: the full string is encoded once by the prompt's rule; the prompt's own
 *   token count marks the boundary; no EOS is appended (a post-processor suffix is dropped).
 * Whether the post-processor adds BOS is measured, not parsed: a probe is encoded with and without
 * special tokens and compared. An explicit `add_bos_token`/`add_eos_token` in tokenizer_config.json
 * overrides it, as transformers does (v5 rebuilds the post-processor from them; v4 did for Llama).
 *
 * Library quirks worked around here (@huggingface/tokenizers 0.2.0):
 * - its .d.ts files use extensionless imports, so under NodeNext its types resolve to `any`; the
 *   narrow LibTokenizer interface below restores checking for what we call;
 * - a WordLevel model takes its unk token from tokenizer_config.json (`unk_token`, as a plain
 *   string) instead of tokenizer.json's `model.unk_token`, so unknown words became `undefined` ids:
 *   we pass model.unk_token, and any id still missing is a DsteerError;
 * - `decode([])` throws and unknown ids decode to the unk token or "": we return "" and drop ids
 *   with no token, as the Rust library does;
 * - `clean_up_tokenization_spaces` defaults to true there but to false in current transformers:
 *   we pass false unless tokenizer_config.json says otherwise;
 * - it needs every top-level key of tokenizer.json present (null is fine): missing ones are filled.
 * A null post_processor adds nothing (as in Rust); added tokens inside text (special or not) are
 * split out as single tokens before pre-tokenization (as transformers does by default).
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type { FileDir } from '../engine/byte-source.js';
import { DsteerError } from '../engine/errors.js';

/** One chat turn. */
export interface ChatMessage {
  role: string;
  content: string;
}

/** A prompt: plain text (HF `tokenizer(text)` rule) or chat messages (rendered with the generation prompt). */
export type PromptSpec = { text: string } | { messages: ChatMessage[] };

/** The part of @huggingface/tokenizers' Tokenizer we use (its own types do not resolve, see header). */
interface LibTokenizer {
  encode(text: string, opts: { add_special_tokens: boolean }): { ids: (number | undefined)[]; tokens: string[] };
  decode(ids: number[], opts: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens: boolean): Map<string | undefined, number>;
}

type Json = Record<string, unknown>;

const TOKENIZER_KEYS = ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const;

function parseJsonObject(text: string, path: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DsteerError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DsteerError(`${path}: expected a JSON object`);
  return v as Json;
}

async function readJson(dir: FileDir, file: string): Promise<Json | null> {
  const text = await dir.readText(file);
  return text === null ? null : parseJsonObject(text, dir.path(file));
}

/** A special-token field: a string, an AddedToken object `{content: ...}`, or null. */
function tokenField(cfg: Json, path: string, field: string): string | null {
  const v = cfg[field];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  throw new DsteerError(`${path}: field "${field}" is ${JSON.stringify(v)} (expected a string, {"content": "..."} or null)`);
}

function idField(cfg: Json, path: string, field: string): number[] {
  const v = cfg[field];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new DsteerError(`${path}: field "${field}" is ${JSON.stringify(v)} (expected a token id or a list of token ids)`);
    }
  }
  return list as number[];
}

function optBool(cfg: Json, path: string, field: string): boolean | null {
  const v = cfg[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') throw new DsteerError(`${path}: field "${field}" is ${JSON.stringify(v)} (expected true or false)`);
  return v;
}

/** The chat template's text and where it came from, or why there is none usable. */
interface TemplateSource {
  text: string | null;
  origin: string;
  problem: string | null;
}

async function findChatTemplate(dir: FileDir, tokCfg: Json): Promise<TemplateSource> {
  // transformers lets chat_template.jinja clobber any template in tokenizer_config.json.
  const file = await dir.readText('chat_template.jinja');
  if (file !== null) return { text: file, origin: dir.path('chat_template.jinja'), problem: null };
  const origin = `${dir.path('tokenizer_config.json')} field "chat_template"`;
  const ct = tokCfg.chat_template;
  if (ct === undefined || ct === null) {
    return { text: null, origin, problem: `${dir.name} has no chat_template in tokenizer_config.json and no chat_template.jinja` };
  }
  if (typeof ct === 'string') return { text: ct, origin, problem: null };
  const named = Array.isArray(ct) ? (ct as Json[]) : null;
  if (!named || !named.every((t) => t !== null && typeof t === 'object' && typeof t.name === 'string' && typeof t.template === 'string')) {
    throw new DsteerError(`${origin} is neither a string nor a list of {"name", "template"} objects`);
  }
  const def = named.find((t) => t.name === 'default');
  if (def) return { text: def.template as string, origin: `${origin} (template "default")`, problem: null };
  const names = named.map((t) => JSON.stringify(t.name)).join(', ');
  return { text: null, origin, problem: `${origin} lists templates ${names} but none named "default"` };
}

/**
 * Loads `tokenizer.json` (required) with `tokenizer_config.json`, `chat_template.jinja` and
 * `generation_config.json` (all optional) from a model folder. `cfg` is the model's config.json view
 * (models/config.ts), which contributes BOS/EOS ids.
 * @example
 * const tok = await loadTokenizer(await NodeDir.open(modelDir));
 * assert(tok.encode('<1> <5>').join() === '1,5');
 * assert(tok.decode([1, 5, 9]) === '<5> <9>'); // <1> is BOS, a special token: skipped
 */
export async function loadTokenizer(
  dir: FileDir,
  cfg?: { bosTokenId: number | null; eosTokenIds: number[] },
): Promise<ModelTokenizer> {
  const jsonPath = dir.path('tokenizer.json');
  const text = await dir.readText('tokenizer.json');
  if (text === null) throw new DsteerError(`${jsonPath}: missing (a model folder needs the Hugging Face tokenizer.json)`);
  const json = parseJsonObject(text, jsonPath);
  const model = json.model;
  if (model === null || typeof model !== 'object') throw new DsteerError(`${jsonPath}: field "model" is missing (expected the tokenizer model object)`);
  const filled: Json = { added_tokens: [], ...json };
  for (const k of TOKENIZER_KEYS) if (filled[k] === undefined) filled[k] = null;

  const cfgPath = dir.path('tokenizer_config.json');
  const tokCfg = (await readJson(dir, 'tokenizer_config.json')) ?? {};
  const bosToken = tokenField(tokCfg, cfgPath, 'bos_token');
  const eosToken = tokenField(tokCfg, cfgPath, 'eos_token');
  const libCfg: Json = {
    clean_up_tokenization_spaces: optBool(tokCfg, cfgPath, 'clean_up_tokenization_spaces') ?? false,
    remove_space: tokCfg.remove_space,
    do_lowercase_and_remove_accent: tokCfg.do_lowercase_and_remove_accent,
    bos_token: bosToken,
    eos_token: eosToken,
    pad_token: tokenField(tokCfg, cfgPath, 'pad_token'),
    unk_token: tokenField(tokCfg, cfgPath, 'unk_token'),
  };
  const m = model as Json;
  if (m.type === 'WordLevel' && typeof m.unk_token === 'string') libCfg.unk_token = m.unk_token;

  let lib: LibTokenizer;
  try {
    lib = new Tokenizer(filled, libCfg) as LibTokenizer;
  } catch (e) {
    throw new DsteerError(`${jsonPath}: rejected by @huggingface/tokenizers (${(e as Error).message})`);
  }

  const genPath = dir.path('generation_config.json');
  const gen = (await readJson(dir, 'generation_config.json')) ?? {};
  const idOf = (t: string | null): number | null => (t === null ? null : (lib.token_to_id(t) ?? null));
  const bosId = idOf(bosToken) ?? idField(gen, genPath, 'bos_token_id')[0] ?? cfg?.bosTokenId ?? null;
  const eosIds = [...idField(gen, genPath, 'eos_token_id'), ...(cfg?.eosTokenIds ?? []), idOf(eosToken)];
  const uniqueEos = [...new Set(eosIds.filter((id): id is number => id !== null))];

  return new ModelTokenizer({
    name: dir.name,
    jsonPath,
    lib,
    bosId,
    eosIds: uniqueEos,
    bosToken: bosToken ?? (bosId !== null ? (lib.id_to_token(bosId) ?? '') : ''),
    eosToken: eosToken ?? (uniqueEos.length > 0 ? (lib.id_to_token(uniqueEos[0]!) ?? '') : ''),
    addBosToken: optBool(tokCfg, cfgPath, 'add_bos_token'),
    addEosToken: optBool(tokCfg, cfgPath, 'add_eos_token'),
    eosTokenId: idOf(eosToken),
    template: await findChatTemplate(dir, tokCfg),
  });
}

interface TokenizerParts {
  name: string;
  jsonPath: string;
  lib: LibTokenizer;
  bosId: number | null;
  eosIds: number[];
  bosToken: string;
  eosToken: string;
  addBosToken: boolean | null;
  addEosToken: boolean | null;
  eosTokenId: number | null;
  template: TemplateSource;
}

/** A model's tokenizer with the project's BOS rules (see the file header). Build with loadTokenizer. */
export class ModelTokenizer {
  /** The model folder, for messages. */
  readonly name: string;
  readonly bosId: number | null;
  /** generation_config.json ids, then config.json ids, then tokenizer_config.json's eos_token; deduplicated. */
  readonly eosIds: number[];
  /** Highest token id + 1 (the embedding table may be larger). */
  readonly vocabSize: number;
  /** Whether encoding with special tokens (the post-processor) prepends BOS. */
  readonly addsBos: boolean;
  readonly hasChatTemplate: boolean;
  /** Ids the post-processor puts before and after a single sequence. */
  private readonly prefix: number[];
  private readonly suffix: number[];
  private compiled: Template | null = null;

  constructor(private readonly parts: TokenizerParts) {
    this.name = parts.name;
    this.bosId = parts.bosId;
    this.eosIds = parts.eosIds;
    let maxId = -1;
    for (const [tok, id] of parts.lib.get_vocab(true)) if (tok !== undefined) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    [this.prefix, this.suffix] = this.measurePostProcessor();
    this.addsBos = this.bosId !== null && this.prefix[0] === this.bosId;
    this.hasChatTemplate = parts.template.text !== null;
  }

  /** Encodes a probe with and without special tokens; an explicit add_bos/eos_token wins. */
  private measurePostProcessor(): [number[], number[]] {
    const { addBosToken, addEosToken, bosId, eosTokenId, lib } = this.parts;
    if (addBosToken !== null || addEosToken !== null) {
      return [addBosToken && bosId !== null ? [bosId] : [], addEosToken && eosTokenId !== null ? [eosTokenId] : []];
    }
    const probe = 'a';
    const raw = lib.encode(probe, { add_special_tokens: false }).ids;
    const full = lib.encode(probe, { add_special_tokens: true }).ids;
    for (let at = 0; at + raw.length <= full.length; at++) {
      if (raw.every((id, i) => full[at + i] === id)) {
        return [full.slice(0, at) as number[], full.slice(at + raw.length) as number[]];
      }
    }
    return [bosId !== null && full[0] === bosId ? [bosId] : [], []];
  }

  /**
   * Encodes like Hugging Face's `tokenizer(text)`: with the post-processor (may add BOS).
   * @example
   * assert(tokenizer.encode('<1> <5>').join() === '1,5'); // this tokenizer's post-processor adds nothing
   */
  encode(text: string): number[] {
    return [...this.prefix, ...this.encodeRaw(text), ...this.suffix];
  }

  /**
   * Encodes without special tokens (added tokens written in the text still become their ids).
   * @example
   * assert(tokenizer.encodeRaw('<1> <5>').join() === '1,5');
   */
  encodeRaw(text: string): number[] {
    const { ids, tokens } = this.parts.lib.encode(text, { add_special_tokens: false });
    const bad = ids.findIndex((id) => id === undefined);
    if (bad >= 0) {
      throw new DsteerError(`${this.parts.jsonPath}: text piece ${JSON.stringify(tokens[bad])} is not in the vocabulary and the model has no unk_token`);
    }
    return ids as number[];
  }

  /**
   * Renders chat messages with the model's template (`messages`, `bos_token`, `eos_token`,
   * `add_generation_prompt` and `raise_exception` are available to it).
   * @example
   * const text = chatTokenizer.renderChat([{ role: 'user', content: '<5> <9>' }], { addGenerationPrompt: true });
   * assert(text === '<1><3> <5> <9> <4>'); // BOS, the turn (<3> marks it), the generation prompt <4>
   */
  renderChat(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    const src = this.parts.template;
    if (src.text === null) throw new DsteerError(src.problem ?? `${this.name} has no chat template`);
    if (this.compiled === null) {
      try {
        this.compiled = new Template(src.text);
      } catch (e) {
        throw new DsteerError(`${src.origin}: chat template does not parse (${(e as Error).message})`);
      }
    }
    let out: unknown;
    try {
      out = this.compiled.render({
        messages,
        bos_token: this.parts.bosToken,
        eos_token: this.parts.eosToken,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (e) {
      throw new DsteerError(`${src.origin}: chat template failed to render (${(e as Error).message})`);
    }
    if (typeof out !== 'string') throw new DsteerError(`${src.origin}: chat template rendered ${typeof out}, not text`);
    return out;
  }

  /** The chat rule on already-rendered text: no special tokens, then BOS if the post-processor adds one. */
  private chatIds(rendered: string): number[] {
    const ids = this.encodeRaw(rendered);
    return this.addsBos && ids[0] !== this.bosId ? [this.bosId!, ...ids] : ids;
  }

  /**
   * Renders and encodes a chat (ARCHITECTURE.md's chat rule: exactly one BOS when the
   * post-processor adds one, whether or not the template writes `{{ bos_token }}`).
   * @example
   * const ids = chatTokenizer.encodeChat([{ role: 'user', content: '<5> <9>' }], { addGenerationPrompt: true });
   * assert(ids.join() === '1,3,5,9,4'); // one BOS: the template wrote it
   */
  encodeChat(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): number[] {
    return this.chatIds(this.renderChat(messages, opts));
  }

  /** The prompt's text and the rule that encodes it (plain: post-processor prefix, no suffix). */
  private promptRule(prompt: PromptSpec): [string, (s: string) => number[]] {
    if ('messages' in prompt) return [this.renderChat(prompt.messages, { addGenerationPrompt: true }), (s) => this.chatIds(s)];
    return [prompt.text, (s) => [...this.prefix, ...this.encodeRaw(s)]];
  }

  /**
   * Encodes a prompt for generation: plain text as `tokenizer(text)` (without a trailing EOS a
   * post-processor might add), messages by the chat rule with the generation prompt.
   * Equals `encodePromptContinuation(prompt, '').ids`.
   * @example
   * assert(tokenizer.encodePrompt({ text: '<1> <5>' }).join() === '1,5');
   */
  encodePrompt(prompt: PromptSpec): number[] {
    const [text, rule] = this.promptRule(prompt);
    return rule(text);
  }

  /**
   * Encodes prompt + continuation once; the continuation's tokens are `ids.slice(promptLen)`.
   * A token that straddles the boundary counts as the continuation's; no EOS is appended.
   * @example
   * const { ids, promptLen } = tokenizer.encodePromptContinuation({ text: '<1> <5>' }, ' <9>');
   * assert(ids.join() === '1,5,9' && promptLen === 2);
   */
  encodePromptContinuation(prompt: PromptSpec, continuation: string): { ids: number[]; promptLen: number } {
    const [text, rule] = this.promptRule(prompt);
    return { ids: rule(text + continuation), promptLen: rule(text).length };
  }

  /**
   * Decodes ids to text; ids with no token are dropped (as the Rust library does).
   * @example
   * assert(tokenizer.decode([1, 5, 9]) === '<5> <9>'); // BOS skipped
   * assert(tokenizer.decode([1, 5], { skipSpecial: false }) === '<1> <5>');
   */
  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    const known = ids.filter((id) => Number.isInteger(id) && this.parts.lib.id_to_token(id) !== undefined);
    if (known.length === 0) return '';
    return this.parts.lib.decode(known, { skip_special_tokens: opts.skipSpecial ?? true });
  }

  /**
   * The vocabulary string of one token id.
   * @example
   * assert(tokenizer.tokenString(5) === '<5>');
   */
  tokenString(id: number): string {
    const s = Number.isInteger(id) ? this.parts.lib.id_to_token(id) : undefined;
    if (s === undefined) throw new DsteerError(`token id ${id} is not in the vocabulary of ${this.parts.jsonPath} (ids 0..${this.vocabSize - 1})`);
    return s;
  }
}

function firstDiff(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Compares two tokenizers (e.g. an SFT and a DPO checkpoint): null when BOS, EOS ids, the BOS rule
 * and the ids of every probe (plain, and as a one-message chat when both have a template) agree;
 * otherwise a message naming the first difference.
 * @example
 * const again = await loadTokenizer(dir); // e.g. the DPO model's tokenizer beside the SFT one's
 * assert(sameTokenization(tokenizer, again, ['<5> <9>']) === null); // null when they agree
 */
export function sameTokenization(a: ModelTokenizer, b: ModelTokenizer, probes: string[]): string | null {
  const head = `tokenizers of ${a.name} and ${b.name} differ`;
  if (a.bosId !== b.bosId) return `${head}: BOS id ${a.bosId} vs ${b.bosId}`;
  if (a.addsBos !== b.addsBos) return `${head}: the post-processor ${a.addsBos ? 'adds' : 'does not add'} BOS vs ${b.addsBos ? 'adds' : 'does not add'}`;
  if (firstDiff(a.eosIds, b.eosIds) >= 0) return `${head}: EOS ids [${a.eosIds}] vs [${b.eosIds}]`;
  const chat = a.hasChatTemplate && b.hasChatTemplate;
  for (const p of probes) {
    const kinds: [string, (t: ModelTokenizer) => number[]][] = [['text', (t) => t.encode(p)]];
    if (chat) kinds.push(['chat', (t) => t.encodeChat([{ role: 'user', content: p }], { addGenerationPrompt: true })]);
    for (const [kind, enc] of kinds) {
      const x = enc(a);
      const y = enc(b);
      const i = firstDiff(x, y);
      if (i >= 0) return `${head} on ${kind} probe ${JSON.stringify(p)}: token ${i} is ${x[i] ?? 'absent'} vs ${y[i] ?? 'absent'}`;
    }
  }
  return null;
}
