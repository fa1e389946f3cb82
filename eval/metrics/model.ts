/**
 * Model-based metrics of generated outputs, computed with our engine (DSTEER-SPEC.md section 4):
 *
 * - `outputLikelihoods`: the teacher-forced summed log p(y | x) of each output y given its chat
 *   prompt x under one (unsteered) model. Prompt and output are tokenized together by
 *   `tokenizer.encodePromptContinuation({ messages }, text)`: the output is re-encoded from its
 *   text, so its tokens can differ from the ids the generator sampled (a decode/encode round trip is
 *   not always the identity); both models of a pair see the same ids, which is what the shift needs.
 *   No end-of-sequence token is scored. An output that encodes to no tokens gives { sum: 0, tokens: 0 }.
 * - the likelihood steering shift: `likelihoodShiftRaw` s(y) = (log p_DPO(y|x) - log p_SFT(y|x)) /
 *   tokens, the mean per-token log-likelihood ratio; `normalizeShift` maps it affinely so that the
 *   SFT anchor's outputs average 0 and the DPO anchor's average 1 (per dataset, at aggregation).
 * - SFT-vs-DPO output divergence: `pooledStates` is the mean over the OUTPUT tokens of the final-norm
 *   state `ln_final.hook_normalized` (the prompt is context only, never pooled), and `cosine` the
 *   cosine similarity of two pooled states in f64.
 */
import { DsteerError } from '../../engine/errors.js';
import { FINAL_HOOK } from '../../models/hooks.js';
import type { Model } from '../../models/llama.js';
import { feed } from '../../models/run.js';
import { score } from '../../models/score.js';
import type { ChatMessage, ModelTokenizer } from '../../models/tokenizer.js';

/** One output to measure: the chat messages it answers and its text. */
export interface OutputItem {
  messages: ChatMessage[];
  text: string;
}

/** Batch limits passed to the engine (see models/run.ts FeedOptions). */
export interface MetricRunOptions {
  maxRows?: number;
  maxBatch?: number;
}

/** Prompt + output ids of every item; an item longer than the model's context is refused by index. */
function encodeAll(model: Model, tok: ModelTokenizer, items: OutputItem[]): { ids: number[]; promptLen: number }[] {
  return items.map((it, i) => {
    const e = tok.encodePromptContinuation({ messages: it.messages }, it.text);
    if (e.ids.length > model.cfg.maxContext) throw new DsteerError(`output ${i}: prompt + output are ${e.ids.length} tokens; the model's context is ${model.cfg.maxContext}`);
    return e;
  });
}

/**
 * Summed log p of each output given its chat prompt, and the number of output tokens.
 * @example
 * const items = [{ messages: [{ role: 'user', content: '<5> <9>' }], text: ' <13> <20>' }, { messages: [{ role: 'user', content: '<5>' }], text: '' }];
 * const [a, b] = await outputLikelihoods(model, chatTokenizer, items);
 * assert(a.tokens === 2 && a.sum < 0 && b.tokens === 0 && b.sum === 0);
 */
export async function outputLikelihoods(model: Model, tokenizer: ModelTokenizer, items: OutputItem[], opts: MetricRunOptions = {}): Promise<{ sum: number; tokens: number }[]> {
  const enc = encodeAll(model, tokenizer, items);
  const scored = enc.map((e, i) => ({ e, i })).filter(({ e }) => e.ids.length > e.promptLen);
  const res = await score(model, scored.map(({ e }) => e), opts);
  const out = items.map(() => ({ sum: 0, tokens: 0 }));
  scored.forEach(({ i }, k) => {
    out[i] = { sum: res[k]!.sum, tokens: res[k]!.logprobs.length };
  });
  return out;
}

/**
 * The raw likelihood shift (llDpo - llSft) / tokens; null when the output has no tokens.
 * @example
 * assert(likelihoodShiftRaw(-12, -9, 3) === 1 && likelihoodShiftRaw(0, 0, 0) === null);
 */
export function likelihoodShiftRaw(llSft: number, llDpo: number, tokens: number): number | null {
  if (tokens <= 0) return null;
  return (llDpo - llSft) / tokens;
}

/**
 * Normalises a raw shift so the SFT anchor's mean maps to 0 and the DPO anchor's to 1:
 * (raw - sftAnchorMean) / (dpoAnchorMean - sftAnchorMean). Null when `raw` is null or when the
 * anchor means tie (|dpo - sft| <= 1e-12 * max(1, |sft|, |dpo|)): the two anchors' outputs are then
 * equally likely under both models on average and the scale is undefined, so no number is made up.
 * The map is increasing when dpoAnchorMean > sftAnchorMean (the usual case: DPO's own outputs are
 * relatively likelier under DPO) and decreasing otherwise; it is applied as defined either way.
 * @example
 * assert(normalizeShift(0.25, 0.25, 0.75) === 0 && normalizeShift(0.75, 0.25, 0.75) === 1);
 * assert(normalizeShift(0.5, 0.25, 0.75) === 0.5 && normalizeShift(0.4, 0.3, 0.3) === null);
 */
export function normalizeShift(raw: number | null, sftAnchorMean: number, dpoAnchorMean: number): number | null {
  if (raw === null) return null;
  const d = dpoAnchorMean - sftAnchorMean;
  if (Math.abs(d) <= 1e-12 * Math.max(1, Math.abs(sftAnchorMean), Math.abs(dpoAnchorMean))) return null;
  return (raw - sftAnchorMean) / d;
}

/**
 * Mean over each output's tokens of the final-norm state (`ln_final.hook_normalized`, [dim]),
 * with the chat prompt as context; null for an output that encodes to no tokens. Means are
 * accumulated in f64.
 * @example
 * const [p, q] = await pooledStates(model, chatTokenizer, [{ messages: [{ role: 'user', content: '<5>' }], text: ' <9> <13>' }, { messages: [{ role: 'user', content: '<5>' }], text: '' }]);
 * assert(p.length === model.cfg.dim && q === null);
 */
export async function pooledStates(model: Model, tokenizer: ModelTokenizer, items: OutputItem[], opts: MetricRunOptions = {}): Promise<(Float32Array | null)[]> {
  const dim = model.cfg.dim;
  const enc = encodeAll(model, tokenizer, items);
  const acc = enc.map((e) => (e.ids.length > e.promptLen ? new Float64Array(dim) : null));
  const idx = enc.map((_, i) => i).filter((i) => acc[i] !== null);
  await feed(
    model,
    idx.map((i) => ({ ids: enc[i]!.ids, capture: { from: enc[i]!.promptLen, to: enc[i]!.ids.length } })),
    {
      ...opts,
      hooks: [FINAL_HOOK],
      onCapture: (k, _p, hooks) => {
        const v = hooks.get(FINAL_HOOK)!;
        const a = acc[idx[k]!]!;
        for (let j = 0; j < dim; j++) a[j] += v[j]!;
      },
    },
  );
  return acc.map((a, i) => {
    if (a === null) return null;
    const n = enc[i]!.ids.length - enc[i]!.promptLen;
    return Float32Array.from(a, (x) => x / n);
  });
}

/**
 * Cosine similarity in f64; null when either vector is null or has zero norm.
 * @example
 * assert(Math.abs(cosine(new Float32Array([1, 0]), new Float32Array([1, 1]))! - Math.SQRT1_2) < 1e-12);
 * assert(cosine(new Float32Array([1, 2]), new Float32Array([-2, -4])) === -1 && cosine(null, new Float32Array([1])) === null);
 */
export function cosine(a: Float32Array | null, b: Float32Array | null): number | null {
  if (a === null || b === null) return null;
  if (a.length !== b.length) throw new DsteerError(`cosine: vectors of length ${a.length} and ${b.length} differ`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 || nb === 0) return null;
  return dot / Math.sqrt(na * nb);
}
