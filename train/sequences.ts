/**
 * Conversations and preference pairs as token sequences for training: ids by the chat template
 * (models/tokenizer.ts rules), a per-token flag for the tokens in the loss (assistant turns,
 * their end token included), and packing into fixed [B, T] batches with next-token targets.
 */
import { DsteerError } from '../engine/errors.js';
import type { ChatMessage, ModelTokenizer } from '../models/tokenizer.js';
import type { TrainBatch } from './model-train.js';

export interface Sequence {
  ids: number[];
  /** 1 for tokens whose prediction is trained (assistant tokens), else 0; same length as ids. */
  weight: number[];
}

/**
 * Encodes a conversation; assistant turns (from their first token through their end token) are in
 * the loss. Each assistant span is found by encoding the conversation up to the turn with the
 * generation prompt and up to its end; the template's role tokens are special tokens, so prefixes
 * encode stably (checked).
 */
export function encodeConversation(tok: ModelTokenizer, messages: ChatMessage[]): Sequence {
  const ids = tok.encodeChat(messages, { addGenerationPrompt: false });
  const weight = new Array<number>(ids.length).fill(0);
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const start = tok.encodeChat(messages.slice(0, i), { addGenerationPrompt: true }).length;
    const upto = tok.encodeChat(messages.slice(0, i + 1), { addGenerationPrompt: false });
    for (let t = 0; t < upto.length; t++) {
      if (upto[t] !== ids[t]) throw new DsteerError(`conversation prefix ${i} does not encode as a prefix of the whole (token ${t}); the chat template must separate turns with special tokens`);
    }
    for (let t = start; t < upto.length; t++) weight[t] = 1;
  });
  return { ids, weight };
}

/** Packs sequences (truncated to T + 1 tokens) into one batch of B rows; unused rows and tails weigh 0. */
export function packBatch(seqs: Sequence[], B: number, T: number, batch?: TrainBatch): TrainBatch {
  const b = batch ?? { ids: new Int32Array(B * T), targets: new Int32Array(B * T), mask: new Float32Array(B * T), B, T };
  b.ids.fill(0);
  b.targets.fill(0);
  b.mask.fill(0);
  for (let r = 0; r < Math.min(B, seqs.length); r++) {
    const s = seqs[r]!;
    const n = Math.min(T, s.ids.length - 1);
    for (let t = 0; t < n; t++) {
      b.ids[r * T + t] = s.ids[t]!;
      b.targets[r * T + t] = s.ids[t + 1]!;
      b.mask[r * T + t] = s.weight[t + 1]!;
    }
  }
  return b;
}
