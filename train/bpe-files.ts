/**
 * Writes a trained BpeModel (train/bpe.ts) as Hugging Face files: `tokenizer.json` and
 * `tokenizer_config.json` (with the chat template). They load with models/tokenizer.ts (tested) and
 * follow the layout Python's `tokenizers` >= 0.20 writes (merges as [left, right] pairs; older
 * versions read only "left right" strings); loading them in Python is not tested here.
 *
 * BOS (ARCHITECTURE.md's tokenization rules): the post-processor is a TemplateProcessing that puts
 * BOS before a sequence (Llama-3 style), so plain text is encoded with BOS, as the model sees every
 * training sequence begin. The chat template writes `{{ bos_token }}` itself; the chat rule encodes
 * the rendered text without special tokens and adds BOS only when it is not already there, so a chat
 * has exactly one BOS either way. `add_bos_token` is not written: the post-processor is the one
 * place that says it (our loader measures it; transformers uses tokenizer.json as is).
 *
 * Chat format (no separators, so every character of a turn is its content):
 *   <|bos|><|system|>...<|end|><|user|>...<|end|><|assistant|>...<|end|>   (+ <|assistant|> as the
 *   generation prompt). Every turn ends with the end token, which is the eos token, so generation
 *   stops where an assistant turn ends.
 */
import { DsteerError } from '../engine/errors.js';
import type { BpeModel } from './bpe.js';

/** The special tokens the chat format uses, by role. */
export interface ChatTokens {
  pad: string;
  bos: string;
  /** Ends every turn; the eos token. */
  eos: string;
  system: string;
  user: string;
  assistant: string;
}

/** The micro world's special tokens; pass `Object.values(CHAT_TOKENS)` to trainBpe (pad is id 0). */
export const CHAT_TOKENS: Readonly<ChatTokens> = Object.freeze({
  pad: '<|pad|>',
  bos: '<|bos|>',
  eos: '<|end|>',
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
});

function requireSpecial(model: BpeModel, token: string, what: string): number {
  const id = model.specialTokens.indexOf(token);
  if (id < 0) {
    throw new DsteerError(`${what} ${JSON.stringify(token)} is not one of the model's special tokens (${model.specialTokens.map((t) => JSON.stringify(t)).join(', ')})`);
  }
  return id;
}

/** Jinja for a string literal (the tokens contain no quote or backslash, but be safe). */
const lit = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The chat template for these tokens (see the file header). Unknown roles raise an error.
 * @example
 * assert(chatTemplate(CHAT_TOKENS).startsWith('{{ bos_token }}'));
 */
export function chatTemplate(t: ChatTokens = CHAT_TOKENS): string {
  return (
    '{{ bos_token }}{% for message in messages %}' +
    `{% if message['role'] == 'system' %}{{ ${lit(t.system)} }}` +
    `{% elif message['role'] == 'user' %}{{ ${lit(t.user)} }}` +
    `{% elif message['role'] == 'assistant' %}{{ ${lit(t.assistant)} }}` +
    "{% else %}{{ raise_exception('unknown chat role: ' + message['role']) }}{% endif %}" +
    `{{ message['content'] }}{{ ${lit(t.eos)} }}{% endfor %}` +
    `{% if add_generation_prompt %}{{ ${lit(t.assistant)} }}{% endif %}`
  );
}

/**
 * `tokenizer.json` for a trained model: BPE (merges as [left, right] pairs), the ByteLevel
 * pre-tokenizer and decoder, the special tokens as added tokens, and a post-processor that puts
 * `bosToken` first (pass null for none).
 * @example
 * const m = { vocab: ['<|bos|>', 'a', 'b', 'ab'], merges: [['a', 'b']], specialTokens: ['<|bos|>'], stats: {} };
 * assert(JSON.parse(toTokenizerJson(m)).model.merges[0].join(' ') === 'a b');
 */
export function toTokenizerJson(model: BpeModel, opts: { bosToken?: string | null } = {}): string {
  const bos = opts.bosToken === undefined ? CHAT_TOKENS.bos : opts.bosToken;
  let postProcessor: unknown = null;
  if (bos !== null) {
    const id = requireSpecial(model, bos, 'toTokenizerJson: bosToken');
    const st = (typeId: number): unknown => ({ SpecialToken: { id: bos, type_id: typeId } });
    const seq = (s: 'A' | 'B', typeId: number): unknown => ({ Sequence: { id: s, type_id: typeId } });
    postProcessor = {
      type: 'TemplateProcessing',
      single: [st(0), seq('A', 0)],
      pair: [st(0), seq('A', 0), st(1), seq('B', 1)],
      special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } },
    };
  }
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: model.specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(model.vocab.map((t, i) => [t, i])),
      merges: model.merges,
    },
  };
  return JSON.stringify(json, null, 1) + '\n';
}

/**
 * `tokenizer_config.json`: bos/eos/pad tokens, the added tokens and the chat template.
 * @example
 * const m = { vocab: Object.values(CHAT_TOKENS), merges: [], specialTokens: Object.values(CHAT_TOKENS), stats: {} };
 * assert(JSON.parse(toTokenizerConfig(m)).eos_token === '<|end|>');
 */
export function toTokenizerConfig(model: BpeModel, opts: { tokens?: Partial<ChatTokens>; modelMaxLength?: number } = {}): string {
  const t: ChatTokens = { ...CHAT_TOKENS, ...opts.tokens };
  for (const [role, token] of Object.entries(t)) requireSpecial(model, token, `toTokenizerConfig: the ${role} token`);
  const cfg: Record<string, unknown> = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: t.bos,
    eos_token: t.eos,
    pad_token: t.pad,
    unk_token: null,
    clean_up_tokenization_spaces: false,
    added_tokens_decoder: Object.fromEntries(
      model.specialTokens.map((content, id) => [
        String(id),
        { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
      ]),
    ),
    chat_template: chatTemplate(t),
  };
  if (opts.modelMaxLength !== undefined) cfg.model_max_length = opts.modelMaxLength;
  return JSON.stringify(cfg, null, 2) + '\n';
}
