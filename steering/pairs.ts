/**
 * Preference pairs scored by teacher forcing: for each (prompt, chosen, rejected), the summed and
 * length-normalised log-likelihood of each answer under a model and, with a reference model, the
 * DPO implicit reward r = log p_model(answer) - log p_ref(answer). Used by `dsteer score-pairs`
 * and by extraction's pair filters (DSTEER-SPEC.md section 2).
 */
import { promptMessages, type HhPair, type HhPromptFormat } from '../data/readers/hh.js';
import { DsteerError } from '../engine/errors.js';
import type { Model } from '../models/llama.js';
import { score } from '../models/score.js';
import type { ModelTokenizer, PromptSpec } from '../models/tokenizer.js';

export interface PreferencePair {
  prompt: PromptSpec;
  chosen: string;
  rejected: string;
}

export interface PairScore {
  /** Summed log-likelihood of the chosen and rejected answers under the model. */
  chosen: number;
  rejected: number;
  /** Per-token means (length-normalised). */
  chosenMean: number;
  rejectedMean: number;
  chosenTokens: number;
  rejectedTokens: number;
  /** Implicit rewards (model - ref, summed), with a reference model only. */
  chosenReward?: number;
  rejectedReward?: number;
}

export interface PairSummary {
  pairs: number;
  /** Fraction of pairs whose chosen answer has the higher summed log-likelihood. */
  accuracy: number;
  /** The same with per-token means. */
  normalized_accuracy: number;
  /** Mean of (chosen - rejected) summed log-likelihood. */
  mean_margin: number;
  /** With a reference: fraction with chosen reward > rejected reward, and the mean reward margin. */
  reward_accuracy?: number;
  mean_reward_margin?: number;
}

/** Token ids of prompt + answer and the prompt length, by the tokenizer's prompt+continuation rule. */
function encode(tok: ModelTokenizer, p: PreferencePair, which: 'chosen' | 'rejected', i: number): { ids: number[]; promptLen: number } {
  const e = tok.encodePromptContinuation(p.prompt, p[which]);
  if (e.ids.length === e.promptLen) throw new DsteerError(`pair ${i}: the ${which} answer encodes to no tokens`);
  return e;
}

async function sums(m: Model, reqs: { ids: number[]; promptLen: number }[]): Promise<{ sum: number; n: number }[]> {
  const res = await score(m, reqs);
  return res.map((r) => ({ sum: r.sum, n: r.logprobs.length }));
}

/**
 * Scores pairs under `model` (and `ref` for implicit rewards); both must share the tokenizer.
 * Pairs longer than a model's context are skipped (their indices are returned in `skipped`).
 * @example
 * const pairs = [{ prompt: { text: '<1> <5>' }, chosen: ' <9> <13>', rejected: ' <20>' }];
 * const { scores, summary } = await scorePairs(model, tokenizer, pairs, null);
 * assert(scores.length === 1 && summary.pairs === 1 && scores[0].chosenTokens === 2);
 */
export async function scorePairs(
  model: Model,
  tok: ModelTokenizer,
  pairs: PreferencePair[],
  ref: Model | null,
): Promise<{ scores: PairScore[]; summary: PairSummary; skipped: number[] }> {
  // pairs longer than a model's context cannot be scored: they are skipped and listed, not cut
  const limit = Math.min(model.cfg.maxContext, ref?.cfg.maxContext ?? Infinity);
  const skipped: number[] = [];
  const reqs: { ids: number[]; promptLen: number }[] = [];
  pairs.forEach((p, i) => {
    const c = encode(tok, p, 'chosen', i);
    const r = encode(tok, p, 'rejected', i);
    if (c.ids.length > limit || r.ids.length > limit) skipped.push(i);
    else reqs.push(c, r);
  });
  const a = await sums(model, reqs);
  const b = ref ? await sums(ref, reqs) : null;
  const scores: PairScore[] = Array.from({ length: reqs.length / 2 }, (_, i) => {
    const c = a[2 * i]!;
    const r = a[2 * i + 1]!;
    const s: PairScore = { chosen: c.sum, rejected: r.sum, chosenMean: c.sum / c.n, rejectedMean: r.sum / r.n, chosenTokens: c.n, rejectedTokens: r.n };
    if (b) {
      s.chosenReward = c.sum - b[2 * i]!.sum;
      s.rejectedReward = r.sum - b[2 * i + 1]!.sum;
    }
    return s;
  });
  const n = scores.length;
  const frac = (f: (s: PairScore) => boolean): number => (n === 0 ? 0 : scores.filter(f).length / n);
  const mean = (f: (s: PairScore) => number): number => (n === 0 ? 0 : scores.reduce((t, s) => t + f(s), 0) / n);
  const summary: PairSummary = {
    pairs: n,
    accuracy: frac((s) => s.chosen > s.rejected),
    normalized_accuracy: frac((s) => s.chosenMean > s.rejectedMean),
    mean_margin: mean((s) => s.chosen - s.rejected),
  };
  if (b) {
    summary.reward_accuracy = frac((s) => s.chosenReward! > s.rejectedReward!);
    summary.mean_reward_margin = mean((s) => s.chosenReward! - s.rejectedReward!);
  }
  return { scores, summary, skipped };
}

/**
 * An HH-RLHF row as a preference pair: with the chat template, the prompt is rendered as chat
 * messages (the authors' one-message format, or one message per turn); without it, the raw
 * transcript text up to and including the last "\n\nAssistant:" marker, answers after a space.
 * @example
 * const split = { promptText: '\n\nHuman: Hi', answer: 'Hello', turns: [{ role: 'user' as const, content: 'Hi' }] };
 * const p = hhToPair({ lineNo: 1, chosen: split, rejected: { ...split, answer: 'No' } }, { chat: false, format: 'one-message' });
 * assert('text' in p.prompt && p.prompt.text === '\n\nHuman: Hi\n\nAssistant:' && p.chosen === ' Hello');
 */
export function hhToPair(row: HhPair, mode: { chat: boolean; format: HhPromptFormat }): PreferencePair {
  if (!mode.chat) return { prompt: { text: `${row.chosen.promptText}\n\nAssistant:` }, chosen: ` ${row.chosen.answer}`, rejected: ` ${row.rejected.answer}` };
  return { prompt: { messages: promptMessages(row.chosen, mode.format) }, chosen: row.chosen.answer, rejected: row.rejected.answer };
}
