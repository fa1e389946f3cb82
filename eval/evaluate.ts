/**
 * Scoring a sweep's generations (docs/RUNS.md): each generations.jsonl row becomes one scores.jsonl
 * row with the text metrics, the refusal call, the likelihoods under the unsteered SFT and DPO
 * models (the judge-free steering shift), the embedding cosines with the two anchor outputs of the
 * same prompt, and the judge: the embedded micro-world judge when it applies, or an outside G-Eval
 * judge (eval/judge/geval.ts, `externalJudge`) whose scores sit beside the judge-free ones.
 *
 * A row is scored only once both anchors of its prompt exist (the cosines and the judge's
 * Steering Shift compare against them), so an interrupted sweep can be evaluated now and again
 * later: rows still waiting for their anchors are counted as pending, never scored with holes.
 */
import { classifyResponse, UNKNOWN_WORD_LIMIT } from '../data/world/classifier.js';
import type { Model } from '../models/llama.js';
import type { ChatMessage, ModelTokenizer } from '../models/tokenizer.js';
import { judgeEmbedded } from './judge/embedded.js';
import { cosine, likelihoodShiftRaw, outputLikelihoods, pooledStates } from './metrics/model.js';
import { detectRefusal } from './metrics/refusal.js';
import { distinctN, lengths, repN, selfPerplexity, validity } from './metrics/text.js';
import type { JudgeScores, ScoreRow } from './aggregate.js';
import type { JudgeInput } from './judge/geval.js';

/** The fields of a generations.jsonl row that scoring reads (docs/RUNS.md). */
export interface GenerationRow {
  key: string;
  dataset: string;
  prompt_index: number;
  prompt: string;
  messages: ChatMessage[];
  model: 'sft' | 'dpo';
  lambda: number;
  text: string;
  logprob_sum: number;
  tokens: number;
}

export type JudgeChoice = 'embedded' | 'none';

export interface EvaluateOptions {
  /** Keys already in scores.jsonl (never recomputed). */
  done: Set<string>;
  judge: JudgeChoice;
  /** Receives each scored row as soon as its chunk is done (the caller appends it). */
  append: (row: ScoreRow) => void;
  /**
   * An outside judge (eval/judge/geval.ts over HTTP): called for every row of a chunk, all at once
   * (the judge's client bounds the concurrency), before the chunk's model passes; its result is
   * the row's `judge` and `opts.judge` is ignored. The refusal stays the phrase detector's, the
   * judge's Refusal criterion sits beside it as `judge_refusal`.
   */
  externalJudge?: (input: JudgeInput) => Promise<JudgeScores>;
  /** Rows per model pass (default 64). */
  chunk?: number;
  progress?: (done: number, total: number) => void;
}

export interface EvaluateSummary {
  scored: number;
  skippedDone: number;
  /** Rows whose prompt lacks an anchor output so far. */
  pending: number;
}

const promptKey = (r: { dataset: string; prompt_index: number }): string => `${r.dataset}|${r.prompt_index}`;

/**
 * Whether the embedded micro-world judge can read these outputs: it applies when the style
 * classifier recognises most unsteered outputs (at least 60% of anchor outputs get a style, or are
 * degenerate loops of the world's own words: at most UNKNOWN_WORD_LIMIT of their words unknown);
 * on other models' text it would only report "unclassified", so eval uses the judge-free metrics
 * and says so.
 * @example
 * const rows = [{ model: 'sft', lambda: 0, text: "i can't help with that." }, { model: 'dpo', lambda: 0, text: 'Bonjour tout le monde.' }];
 * assert(embeddedJudgeApplies(rows).share === 0.5 && !embeddedJudgeApplies(rows).applies);
 */
export function embeddedJudgeApplies(rows: { model: string; lambda: number; text: string }[]): { applies: boolean; share: number } {
  const anchors = rows.filter((r) => r.lambda === 0);
  if (anchors.length === 0) return { applies: false, share: 0 };
  const known = anchors.filter((r) => {
    const c = classifyResponse(r.text);
    const words = r.text.toLowerCase().match(/[a-z']+/g) ?? [];
    const unknown = new Set(c.unknownWords);
    const share = words.length === 0 ? 1 : words.filter((w) => unknown.has(w)).length / words.length;
    // 'degenerate' counts as read only when the words are the world's (a loop of its phrases)
    return c.overall !== 'unknown' && share <= UNKNOWN_WORD_LIMIT;
  }).length;
  const share = known / anchors.length;
  return { applies: share >= 0.6, share };
}

/**
 * Scores every generation row not yet in `opts.done` (see the file header).
 * @example
 * const gens = [0, 1].map((i) => ({ key: `d|0|${i ? 'dpo' : 'sft'}|0`, dataset: 'd', prompt_index: 0, prompt: '<5>', messages: [{ role: 'user', content: '<5>' }],
 *   model: i ? 'dpo' : 'sft', lambda: 0, text: ' <9> <13>', logprob_sum: -3, tokens: 2 }));
 * const rows = [];
 * const s = await evaluateGenerations(gens, { sft: model, dpo: model, tokenizer: chatTokenizer }, { done: new Set(), judge: 'none', append: (r) => rows.push(r) });
 * assert(s.scored === 2 && rows[0].shift_raw === 0 && Math.abs(rows[0].cos_dpo - 1) < 1e-6);
 */
export async function evaluateGenerations(
  gens: GenerationRow[],
  models: { sft: Model; dpo: Model; tokenizer: ModelTokenizer },
  opts: EvaluateOptions,
): Promise<EvaluateSummary> {
  const anchors = new Map<string, { sft?: GenerationRow; dpo?: GenerationRow }>();
  for (const g of gens) {
    if (g.lambda !== 0) continue;
    const a = anchors.get(promptKey(g)) ?? {};
    a[g.model] = g;
    anchors.set(promptKey(g), a);
  }
  let skippedDone = 0;
  let pending = 0;
  const todo: GenerationRow[] = [];
  for (const g of gens) {
    if (opts.done.has(g.key)) skippedDone++;
    else {
      const a = anchors.get(promptKey(g));
      if (a?.sft && a.dpo) todo.push(g);
      else pending++;
    }
  }
  const chunk = Math.max(1, opts.chunk ?? 64);
  const tok = models.tokenizer;
  const item = (g: GenerationRow) => ({ messages: g.messages, text: g.text });
  let scored = 0;
  for (let at = 0; at < todo.length; at += chunk) {
    const part = todo.slice(at, at + chunk);
    const inputOf = (g: GenerationRow): JudgeInput => {
      const a = anchors.get(promptKey(g))!;
      return { prompt: g.prompt, output: g.text, sftOutput: a.sft!.text, dpoOutput: a.dpo!.text };
    };
    const outside = opts.externalJudge ? await Promise.all(part.map((g) => opts.externalJudge!(inputOf(g)))) : null;
    const llS = await outputLikelihoods(models.sft, tok, part.map(item));
    const llD = await outputLikelihoods(models.dpo, tok, part.map(item));
    // embeddings of the part's outputs and of the anchors they are compared with (under the SFT model)
    const anchorRows = [...new Set(part.map((g) => promptKey(g)))].flatMap((k) => [anchors.get(k)!.sft!, anchors.get(k)!.dpo!]);
    const states = await pooledStates(models.sft, tok, [...part, ...anchorRows].map(item));
    const stateOf = new Map<string, Float32Array | null>();
    anchorRows.forEach((g, i) => stateOf.set(g.key, states[part.length + i] ?? null));
    part.forEach((g, i) => {
      const a = anchors.get(promptKey(g))!;
      const { chars, words } = lengths(g.text);
      const v = validity(g.text);
      const mine = states[i] ?? null;
      const cos = (other: GenerationRow): number | null => {
        const s = stateOf.get(other.key) ?? null;
        return mine && s ? cosine(mine, s) : null;
      };
      const embedded = !outside && opts.judge === 'embedded' ? judgeEmbedded(inputOf(g)) : null;
      const judge: JudgeScores | null = outside ? outside[i]! : embedded;
      const byJudge = embedded !== null && !embedded.unclassified && embedded.refusal !== null;
      const refusal = byJudge ? embedded.refusal! >= 0.5 : detectRefusal(g.text).refusal;
      const row: ScoreRow = {
        key: g.key,
        dataset: g.dataset,
        prompt_index: g.prompt_index,
        model: g.model,
        lambda: g.lambda,
        chars,
        words,
        valid: v.valid,
        invalid_reason: v.reason,
        rep4: repN(g.text, 4),
        distinct1: distinctN(g.text, 1),
        distinct2: distinctN(g.text, 2),
        self_ppl: selfPerplexity(g.logprob_sum, g.tokens),
        refusal,
        refusal_source: byJudge ? 'embedded' : 'phrases',
        ll_sft: llS[i]!.sum,
        ll_dpo: llD[i]!.sum,
        ll_tokens: llS[i]!.tokens,
        shift_raw: likelihoodShiftRaw(llS[i]!.sum, llD[i]!.sum, llS[i]!.tokens),
        cos_sft: cos(a.sft!),
        cos_dpo: cos(a.dpo!),
        judge,
      };
      opts.append(row);
      scored++;
    });
    opts.progress?.(scored, todo.length);
  }
  return { scored, skippedDone, pending };
}
