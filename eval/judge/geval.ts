/**
 * G-Eval over an OpenAI-compatible endpoint (../shared/docs/DSTEER-SPEC.md section 4).
 *
 * 1. Evaluation steps: once per criterion the judge writes 3-4 steps from the criterion's
 *    description (eval/judge/criteria.ts); they are cached and reused for every output.
 * 2. Scoring: the prompt asks for the score alone, one integer on a scale whose every value is a
 *    single token in common tokenizers: 1-9 (10 is two tokens for some). With logprobs the score
 *    is the expectation over the score tokens, `sum_s p(s) * s` with p renormalised over the
 *    allowed tokens (variants such as " 7" and "7" pooled), read at the first generated position
 *    whose token is a score (else the first position). Without logprobs, or when no score token
 *    is among the alternatives, the sampled integer is the score. Each judgment records which:
 *    `score_mode` 'prob' or 'raw' (null when neither gave a score in range).
 * 3. `replicateAuthors`: the original pipeline's 0-10 scale and its raw sampled integer, so both
 *    estimators can be compared on the same outputs.
 * Scores map linearly onto [0, 1]: (v - min) / (max - min).
 *
 * Every paid answer goes into the JudgeCache under a key that hashes the criterion and its
 * version, the judge model, the scale, the logprob request and the full scoring messages (so the
 * steps and the inputs), so a rerun or a resumed run asks nothing twice; identical requests in
 * flight at once (a steered output equal to its anchor) are sent once.
 */
import { JUDGE_CRITERIA, type JudgeCriterion } from '../aggregate.js';
import { cacheKey, type JudgeCache } from './cache.js';
import type { ChatAnswer, ChatMessageIn, ChatRequest, TopLogprob } from './client.js';
import { CRITERIA, type Criterion } from './criteria.js';

/** A score scale: integers min..max. */
export interface Scale {
  min: number;
  max: number;
}

export const SCALE_PROB: Scale = { min: 1, max: 9 };
export const SCALE_AUTHORS: Scale = { min: 0, max: 10 };

/** The inputs of one judged output: the prompt, the output, and the unsteered SFT and DPO outputs for the same prompt. */
export interface JudgeInput {
  prompt: string;
  output: string;
  sftOutput: string;
  dpoOutput: string;
}

export interface Judgment {
  criterion: JudgeCriterion;
  /** In [0, 1]; null when unscored. */
  score: number | null;
  /** On the scale: the expectation (prob) or the sampled integer (raw). */
  raw: number | null;
  score_mode: 'prob' | 'raw' | null;
  /** Probability mass of the allowed score tokens at the read position (prob mode). */
  mass?: number;
  /** The judge's text. */
  answer: string;
}

/** `row.judge` of scores.jsonl for a G-Eval judge (docs/RUNS.md). */
export type GEvalScores = {
  mode: 'geval-prob' | 'geval-raw';
  model: string;
  scale: string;
  score_modes: Record<JudgeCriterion, 'prob' | 'raw' | null>;
} & Record<JudgeCriterion, number | null>;

export interface GEvalOptions {
  client: { chat(req: ChatRequest): Promise<ChatAnswer> };
  /** The judge model's name (part of every cache key). */
  model: string;
  cache: JudgeCache;
  /** top_logprobs to ask for (the probe's count); 0 = the endpoint gives none, so sampled integers. */
  topLogprobs: number;
  /** The authors' 0-10 raw-integer scores instead of probability-weighted 1-9. */
  replicateAuthors?: boolean;
  /** max_tokens of the evaluation-steps request (default 300). */
  stepsMaxTokens?: number;
}

const allowed = (s: Scale): string[] => Array.from({ length: s.max - s.min + 1 }, (_, i) => String(s.min + i));

/**
 * The probability-weighted score over the allowed score tokens (see the file header), or null when
 * no position holds an allowed token among its alternatives.
 * @example
 * const top = [{ token: '7', logprob: Math.log(0.5) }, { token: ' 8', logprob: Math.log(0.2) }, { token: '8', logprob: Math.log(0.05) }, { token: 'x', logprob: Math.log(0.25) }];
 * const w = weightedScore([{ token: '7', top }], { min: 1, max: 9 });
 * // p(7) = 0.5/0.75, p(8) = 0.25/0.75
 * assert(Math.abs(w.value - (7 * 0.5 + 8 * 0.25) / 0.75) < 1e-12 && Math.abs(w.mass - 0.75) < 1e-12);
 */
export function weightedScore(tokens: { token: string; top: TopLogprob[] }[] | null, scale: Scale): { value: number; mass: number } | null {
  if (!tokens || tokens.length === 0) return null;
  const ok = new Set(allowed(scale));
  const at = tokens.find((t) => ok.has(t.token.trim())) ?? tokens[0]!;
  const p = new Map<number, number>();
  for (const t of at.top) {
    const s = t.token.trim();
    if (ok.has(s) && Number.isFinite(t.logprob)) p.set(Number(s), (p.get(Number(s)) ?? 0) + Math.exp(t.logprob));
  }
  let mass = 0;
  let sum = 0;
  for (const [s, q] of p) {
    mass += q;
    sum += s * q;
  }
  return mass > 0 ? { value: sum / mass, mass } : null;
}

/**
 * The first integer in the judge's text when it lies on the scale, else null.
 * @example
 * assert(sampledScore(' Score: 7.', { min: 1, max: 9 }) === 7 && sampledScore('10', { min: 1, max: 9 }) === null && sampledScore('10', { min: 0, max: 10 }) === 10);
 */
export function sampledScore(text: string, scale: Scale): number | null {
  const m = /-?\d+/.exec(text);
  if (!m) return null;
  const v = Number(m[0]);
  return v >= scale.min && v <= scale.max ? v : null;
}

function fence(label: string, text: string): string {
  return `${label}:\n<<<\n${text}\n>>>`;
}

/**
 * The G-Eval judge (see the file header).
 * @example
 * const crit = { name: 'quality', version: 1, title: 'Quality', description: 'Is it fluent?', low: 'broken', high: 'fluent', inputs: 'prompt-output' };
 * let paid = 0;
 * const client = { chat: async (req) => {
 *   paid++;
 *   if (req.maxTokens > 10) return { text: '1. Read it. 2. Check fluency.', tokens: null, endpoint: 'x' };
 *   return { text: '7', endpoint: 'x', tokens: [{ token: '7', top: [{ token: '7', logprob: Math.log(0.5) }, { token: '8', logprob: Math.log(0.25) }, { token: 'x', logprob: Math.log(0.25) }] }] };
 * } };
 * const m = new Map();
 * const cache = { get: (k) => m.get(k), put: (k, v) => void m.set(k, v), size: 0 }; // eval/judge/cache.ts MemoryJudgeCache in practice
 * const g = new GEval({ client, model: 'm', cache, topLogprobs: 5 });
 * const input = { prompt: 'p', output: 'o', sftOutput: 'a', dpoOutput: 'b' };
 * const j = await g.judge(crit, input);
 * // p(7) = 2/3, p(8) = 1/3: 22/3 on 1..9
 * assert(j.score_mode === 'prob' && Math.abs(j.raw - 22 / 3) < 1e-12 && Math.abs(j.score - (22 / 3 - 1) / 8) < 1e-12);
 * await g.judge(crit, input);
 * assert(paid === 2 && g.stats.cached === 1);
 */
export class GEval {
  readonly scale: Scale;
  readonly mode: 'geval-prob' | 'geval-raw';
  /** Answers paid for (steps and judgments) and answers found in the cache. */
  readonly stats = { paid: 0, cached: 0 };
  private readonly steps = new Map<string, Promise<string>>();
  /** Judgments being asked for, by cache key: identical inputs in flight at once are paid once. */
  private readonly pending = new Map<string, Promise<Judgment>>();

  constructor(private readonly o: GEvalOptions) {
    this.scale = o.replicateAuthors ? SCALE_AUTHORS : SCALE_PROB;
    this.mode = o.replicateAuthors || o.topLogprobs <= 0 ? 'geval-raw' : 'geval-prob';
  }

  private get topLogprobs(): number {
    return this.mode === 'geval-prob' ? this.o.topLogprobs : 0;
  }

  /** The criterion's evaluation steps: written once by the judge, then cached. */
  evaluationSteps(c: Criterion): Promise<string> {
    let p = this.steps.get(c.name);
    if (!p) {
      p = this.fetchSteps(c);
      this.steps.set(c.name, p);
      p.catch(() => this.steps.delete(c.name));
    }
    return p;
  }

  private async fetchSteps(c: Criterion): Promise<string> {
    const key = await cacheKey({ kind: 'steps', criterion: c.name, version: c.version, model: this.o.model, scale: this.scale });
    const hit = this.o.cache.get(key);
    if (typeof hit === 'string') {
      this.stats.cached++;
      return hit;
    }
    const { min, max } = this.scale;
    const a = await this.o.client.chat({
      maxTokens: this.o.stepsMaxTokens ?? 300,
      messages: [
        { role: 'system', content: 'You are a careful, impartial evaluator of AI assistant responses.' },
        {
          role: 'user',
          content: `Criterion: ${c.title}\n${c.description}\nScale: ${min} means ${c.low}; ${max} means ${c.high}.\n\nWrite 3 to 4 short numbered evaluation steps that a grader should follow to score a response on this criterion. Write only the steps.`,
        },
      ],
    });
    this.stats.paid++;
    const steps = a.text.trim();
    this.o.cache.put(key, steps);
    return steps;
  }

  /** The scoring messages for one criterion and input. */
  scoringMessages(c: Criterion, steps: string, x: JudgeInput): ChatMessageIn[] {
    const { min, max } = this.scale;
    const shown = c.inputs === 'shift'
      ? [fence('Reference A', x.sftOutput), fence('Reference B', x.dpoOutput), fence('Candidate response', x.output)].join('\n\n')
      : [fence('Request', x.prompt), fence('Response', x.output)].join('\n\n');
    return [
      { role: 'system', content: 'You are a careful, impartial evaluator of AI assistant responses.' },
      {
        role: 'user',
        content: `Score the response on one criterion.\n\nCriterion: ${c.title}\n${c.description}\n\nEvaluation steps:\n${steps}\n\n${shown}\n\nScore from ${min} to ${max}: ${min} means ${c.low}; ${max} means ${c.high}. Answer with the score only: a single integer from ${min} to ${max}.`,
      },
    ];
  }

  /** One criterion's judgment of one input (from the cache when it was paid for before). */
  async judge(c: Criterion, x: JudgeInput): Promise<Judgment> {
    const steps = await this.evaluationSteps(c);
    const messages = this.scoringMessages(c, steps, x);
    const top = this.topLogprobs;
    const key = await cacheKey({ kind: 'judgment', criterion: c.name, version: c.version, model: this.o.model, scale: this.scale, top, messages });
    const hit = this.o.cache.get(key) as Judgment | undefined;
    if (hit && typeof hit === 'object') {
      this.stats.cached++;
      return hit;
    }
    let p = this.pending.get(key);
    if (!p) {
      p = this.ask(c, key, messages, top);
      this.pending.set(key, p);
      void p.finally(() => this.pending.delete(key)).catch(() => {});
    }
    return p;
  }

  private async ask(c: Criterion, key: string, messages: ChatMessageIn[], top: number): Promise<Judgment> {
    const a = await this.o.client.chat({ messages, maxTokens: 4, ...(top > 0 ? { topLogprobs: top } : {}) });
    this.stats.paid++;
    const { min, max } = this.scale;
    const w = top > 0 ? weightedScore(a.tokens, this.scale) : null;
    const s = w ? null : sampledScore(a.text, this.scale);
    const raw = w ? w.value : s;
    const j: Judgment = {
      criterion: c.name,
      score: raw === null ? null : (raw - min) / (max - min),
      raw,
      score_mode: w ? 'prob' : s !== null ? 'raw' : null,
      ...(w ? { mass: w.mass } : {}),
      answer: a.text,
    };
    this.o.cache.put(key, j);
    return j;
  }

  /** All seven criteria for one output: the `judge` object of its scores.jsonl row. */
  async judgeAll(x: JudgeInput, criteria: readonly Criterion[] = CRITERIA): Promise<GEvalScores> {
    const js = await Promise.all(criteria.map((c) => this.judge(c, x)));
    const out = { mode: this.mode, model: this.o.model, scale: `${this.scale.min}-${this.scale.max}`, score_modes: {} } as GEvalScores;
    for (const c of JUDGE_CRITERIA) {
      out[c] = null;
      out.score_modes[c] = null;
    }
    for (const j of js) {
      out[j.criterion] = j.score;
      out.score_modes[j.criterion] = j.score_mode;
    }
    return out;
  }
}
