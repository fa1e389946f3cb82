/**
 * Teacher-forced log-probabilities of a continuation given a prompt, batched: for a sequence
 * `ids` whose first `promptLen` tokens are the prompt, token t >= promptLen scores
 * log p(ids[t] | ids[0..t)), read from the log-softmax of the logits at position t - 1.
 * Scoring, extraction's filters, metrics and the server's echo all use this.
 */
import { DsteerError } from '../engine/errors.js';
import type { SeqSteer } from './batch.js';
import type { SteeringSetup } from './generate.js';
import type { Model } from './llama.js';
import { feed } from './run.js';

export interface ScoreRequest {
  /** Prompt + continuation token ids (see ModelTokenizer.encodePromptContinuation). */
  ids: number[];
  /** Number of prompt tokens (>= 1: the first continuation token is predicted from the prompt). */
  promptLen: number;
  steer?: SeqSteer;
}

export interface ScoreResult {
  /** log p of each continuation token, in order ([ids.length - promptLen]). */
  logprobs: Float32Array;
  /** Sum of `logprobs` (accumulated in f64). */
  sum: number;
}

/**
 * Scores continuations.
 * @example
 * const [r] = await score(model, [{ ids: [1, 5, 9, 13], promptLen: 2 }]);
 * // r.logprobs = [log p(9 | 1 5), log p(13 | 1 5 9)], r.sum their sum
 * assert(r.logprobs.length === 2 && Math.abs(r.sum - (r.logprobs[0] + r.logprobs[1])) < 1e-5);
 */
export async function score<F, I>(m: Model<F, I>, reqs: ScoreRequest[], opts: { steering?: SteeringSetup; maxRows?: number; maxBatch?: number } = {}): Promise<ScoreResult[]> {
  reqs.forEach((r, i) => {
    if (!Number.isInteger(r.promptLen) || r.promptLen < 1 || r.promptLen > r.ids.length) {
      throw new DsteerError(`score request ${i}: promptLen ${r.promptLen} must be in 1..${r.ids.length}`);
    }
  });
  const out = reqs.map((r) => new Float32Array(r.ids.length - r.promptLen));
  await feed(
    m,
    reqs.map((r) => {
      const q: { ids: number[]; steer?: SeqSteer; logits: { from: number; to: number } } = { ids: r.ids, logits: { from: r.promptLen - 1, to: r.ids.length - 1 } };
      if (r.steer) q.steer = r.steer;
      return q;
    }),
    {
      ...opts,
      logSoftmax: true,
      onLogits: (i, p, row) => {
        const r = reqs[i]!;
        out[i]![p - (r.promptLen - 1)] = row[r.ids[p + 1]!]!;
      },
    },
  );
  return out.map((lp) => {
    let sum = 0;
    for (const v of lp) sum += v;
    return { logprobs: lp, sum };
  });
}
