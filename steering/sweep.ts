/**
 * Lambda sweeps (DSTEER-SPEC.md section 3, docs/RUNS.md "generations.jsonl"): for every prompt of
 * every dataset, the SFT model steered with each positive lambda, the DPO model steered with each
 * negative lambda, and the two unsteered anchors (`sft` and `dpo` at lambda 0; a 0 in the grid is
 * the anchors).
 *
 * Each model is loaded once by the caller. One side's whole lambda grid, anchor included, runs as
 * rows of the SAME generate() call with one resident vector setup: every row carries its own
 * alpha (the anchor's is 0, which the residual-add kernel skips, so the anchor is bit-identical to
 * unsteered generation). Greedy rows are bitwise the same alone or batched (models/generate.ts),
 * so a resumed or differently chunked sweep writes the same rows.
 *
 * Prompts run in chunks (bounded memory): per chunk and side, generate, then score the generated
 * ids teacher-forced under the same model and steering (`logprob_sum`, stop id excluded), then
 * hand the rows to `append` in a fixed order (prompt, then lambda: anchor first, then the grid's
 * order). Rows whose key is in `done` are never computed. Sampling (temperature > 0) uses the
 * seed `(seed + prompt_index) mod 2^32` for every row of a prompt, so lambdas share their random
 * stream and a row does not depend on what ran beside it.
 */
import { DsteerError } from '../engine/errors.js';
import type { ChatTurn } from '../data/readers/hh.js';
import type { SeqSteer } from '../models/batch.js';
import { generate, type GenerateRequest, type GenerateResult, type SteeringSetup } from '../models/generate.js';
import type { Model } from '../models/llama.js';
import { score } from '../models/score.js';
import type { ModelTokenizer } from '../models/tokenizer.js';
import { planSteering } from './plan.js';
import type { SteeringVectors } from './vector.js';

export interface SweepModel<F = unknown, I = unknown> {
  model: Model<F, I>;
  tokenizer: ModelTokenizer;
}

export interface SweepPrompt {
  /** 0-based index in the dataset's prompt list. */
  index: number;
  /** The user-visible prompt (the last user message). */
  prompt: string;
  /** Chat messages rendered with the template (one-message prompts for HH). */
  messages: ChatTurn[];
}

export interface SweepDataset {
  name: string;
  prompts: SweepPrompt[];
}

export interface SweepConfig {
  /** The signed grid; > 0 steers SFT, < 0 steers DPO; 0 (anchors) is always run. */
  lambdas: number[];
  /** Layers steered at hook_resid_post; null = every vector in the file. */
  layers: number[] | null;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  steerPositions: 'all' | 'generated';
  preserveNorm: boolean;
  /** Render `messages` with the chat template (else the text of the messages, blank-line joined). */
  chatTemplate: boolean;
}

/** One line of generations.jsonl (docs/RUNS.md). */
export interface SweepRow {
  key: string;
  dataset: string;
  prompt_index: number;
  prompt: string;
  messages: ChatTurn[];
  model: 'sft' | 'dpo';
  lambda: number;
  prompt_tokens: number;
  ids: number[];
  text: string;
  finish: 'stop' | 'length';
  logprob_sum: number;
  tokens: number;
}

export interface SweepProgress {
  /** Rows written or skipped as done so far, of `rowsTotal`. */
  rowsDone: number;
  rowsTotal: number;
  written: number;
  skippedDone: number;
  /** Generated tokens so far (this run). */
  tokens: number;
}

export interface SweepOptions {
  /** Keys already in the run (never recomputed). */
  done?: Set<string>;
  /** Most sequences decoding at once (default 16). */
  maxBatch?: number;
  /** Prompts per chunk (default: enough for about 2 x maxBatch rows per side). */
  chunkPrompts?: number;
  /** false: one generate() call per lambda instead of one per side (benchmarks only; same rows). */
  lambdaBatching?: boolean;
  onProgress?: (p: SweepProgress) => void;
}

export interface SweepSummary {
  rowsTotal: number;
  written: number;
  skippedDone: number;
  /** Rows not run: prompt longer than the context leaves no room for a token. */
  skippedLong: number;
  /** Rows whose max new tokens were cut to fit the model's context. */
  clamped: number;
  tokens: number;
  seconds: number;
}

/**
 * A lambda as written in keys and rows: rounded to 6 decimals, `0` for the anchors (never `-0`).
 * @example
 * assert(formatLambda(-0.1 + 0.3) === '0.2' && formatLambda(-0) === '0' && formatLambda(0.1234567) === '0.123457');
 */
export function formatLambda(lambda: number): string {
  return String(roundLambda(lambda));
}

function roundLambda(l: number): number {
  return Math.round(l * 1e6) / 1e6 + 0;
}

/**
 * The resume key of a row: `dataset|prompt_index|model|lambda`.
 * @example
 * assert(sweepKey('advbench', 3, 'dpo', -0.25) === 'advbench|3|dpo|-0.25');
 */
export function sweepKey(dataset: string, promptIndex: number, model: 'sft' | 'dpo', lambda: number): string {
  return `${dataset}|${promptIndex}|${model}|${formatLambda(lambda)}`;
}

/**
 * Splits a signed grid into the two sides, each led by its anchor (0): positive lambdas for the
 * SFT model, negative ones for the DPO model (in grid order); a 0 in the grid is the anchors.
 * @example
 * const s = sweepSides([-0.2, -0.1, 0, 0.1, 0.2]);
 * assert(s.sft.join() === '0,0.1,0.2' && s.dpo.join() === '0,-0.2,-0.1');
 */
export function sweepSides(lambdas: number[]): { sft: number[]; dpo: number[] } {
  const seen = new Set<number>();
  for (const l of lambdas) {
    if (!Number.isFinite(l)) throw new DsteerError(`--lambdas: ${l} is not a finite number`, 2);
    const r = roundLambda(l);
    if (seen.has(r)) throw new DsteerError(`--lambdas: ${formatLambda(r)} is listed twice (after rounding to 6 decimals)`, 2);
    seen.add(r);
  }
  const rs = lambdas.map(roundLambda);
  return { sft: [0, ...rs.filter((l) => l > 0)], dpo: [0, ...rs.filter((l) => l < 0)] };
}

/**
 * Rows a sweep produces for `prompts` prompts: per prompt one per positive and one per negative
 * lambda, plus the two anchors.
 * @example
 * assert(sweepRowCount([-0.1, 0, 0.1, 0.2], 5) === 5 * 5);
 */
export function sweepRowCount(lambdas: number[], prompts: number): number {
  const s = sweepSides(lambdas);
  return prompts * (s.sft.length + s.dpo.length);
}

/**
 * The canonical text of a prompt list (what `prompt_hashes_sha256` in manifest.json hashes): one
 * JSON line per prompt, `{"index", "messages"}`.
 * @example
 * assert(promptListText([{ index: 0, prompt: 'hi', messages: [{ role: 'user', content: 'hi' }] }]) === '{"index":0,"messages":[{"role":"user","content":"hi"}]}\n');
 */
export function promptListText(prompts: SweepPrompt[]): string {
  return prompts.map((p) => JSON.stringify({ index: p.index, messages: p.messages.map((m) => ({ role: m.role, content: m.content })) }) + '\n').join('');
}

/** Token ids of a prompt under the sweep's rendering rule. */
function encodeSweepPrompt(tok: ModelTokenizer, p: SweepPrompt, chat: boolean): number[] {
  if (chat) return tok.encodePrompt({ messages: p.messages });
  return tok.encodePrompt({ text: p.messages.map((m) => m.content).join('\n\n') });
}

interface Pending {
  prompt: SweepPrompt;
  lambda: number;
  promptIds: number[];
  req: GenerateRequest;
}

interface Side {
  name: 'sft' | 'dpo';
  m: SweepModel;
  lambdas: number[];
  setup: SteeringSetup;
  nSites: number;
}

/** Generates one side's pending rows of a chunk: one call, or one per lambda. */
async function generateSide(side: Side, pending: Pending[], maxBatch: number, batching: boolean): Promise<GenerateResult[]> {
  const reqs = pending.map((p) => p.req);
  if (batching) return generate(side.m.model, reqs, { steering: side.setup, maxBatch });
  const out: GenerateResult[] = new Array(reqs.length);
  for (const l of side.lambdas) {
    const idx = pending.map((p, i) => (p.lambda === l ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) continue;
    const res = await generate(side.m.model, idx.map((i) => reqs[i]!), { steering: side.setup, maxBatch });
    idx.forEach((i, k) => (out[i] = res[k]!));
  }
  return out;
}

/**
 * Runs a whole sweep and hands every row to `append` (awaited, in a fixed order).
 * @example
 * const rows = [];
 * const cfg = { lambdas: [-0.5, 0.5], layers: [1], maxNewTokens: 4, temperature: 0, topP: 1, seed: 0, steerPositions: 'all', preserveNorm: false, chatTemplate: false };
 * const prompts = [{ index: 0, prompt: '<5> <9>', messages: [{ role: 'user', content: '<5> <9>' }] }];
 * const s = await runSweep({ model, tokenizer }, { model, tokenizer }, sv, [{ name: 'toy', prompts }], cfg, (r) => { rows.push(r); });
 * assert(s.written === 4 && rows.map((r) => r.key).join() === 'toy|0|sft|0,toy|0|sft|0.5,toy|0|dpo|0,toy|0|dpo|-0.5');
 * const [plain] = await generate(model, [{ promptIds: tokenizer.encode('<5> <9>'), maxNewTokens: 4 }]);
 * assert(rows[0].ids.join() === plain.ids.join()); // the anchor is unsteered generation
 */
export async function runSweep(
  sft: SweepModel,
  dpo: SweepModel,
  vectors: SteeringVectors,
  datasets: SweepDataset[],
  config: SweepConfig,
  append: (row: SweepRow) => void | Promise<void>,
  opts: SweepOptions = {},
): Promise<SweepSummary> {
  const t0 = performance.now();
  const sides = sweepSides(config.lambdas);
  const maxBatch = opts.maxBatch ?? 16;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new DsteerError(`--batch: ${maxBatch} must be an integer >= 1`, 2);
  if (!Number.isInteger(config.maxNewTokens) || config.maxNewTokens < 1) throw new DsteerError(`--max-new-tokens: ${config.maxNewTokens} must be an integer >= 1`, 2);
  if (config.chatTemplate) {
    for (const [name, m] of [['--sft', sft], ['--dpo', dpo]] as const) {
      if (!m.tokenizer.hasChatTemplate) throw new DsteerError(`${name} ${m.tokenizer.name} has no chat template; pass --no-chat-template to use raw prompts`, 2);
    }
  }
  const plan = (m: SweepModel) =>
    planSteering(vectors, m.model.cfg, { layers: config.layers, lambdas: [1], preserveNorm: config.preserveNorm, positions: config.steerPositions });
  const sftPlan = plan(sft);
  const both: Side[] = [
    { name: 'sft', m: sft, lambdas: sides.sft, setup: sftPlan.setup, nSites: sftPlan.sites.length },
    { name: 'dpo', m: dpo, lambdas: sides.dpo, setup: plan(dpo).setup, nSites: sftPlan.sites.length },
  ];
  const done = opts.done ?? new Set<string>();
  const perPrompt = sides.sft.length + sides.dpo.length;
  const rowsTotal = datasets.reduce((a, d) => a + d.prompts.length * perPrompt, 0);
  const chunk = opts.chunkPrompts ?? Math.max(1, Math.ceil((2 * maxBatch) / Math.max(sides.sft.length, sides.dpo.length)));
  const maxContext = Math.min(sft.model.cfg.maxContext, dpo.model.cfg.maxContext);
  const sum: SweepSummary = { rowsTotal, written: 0, skippedDone: 0, skippedLong: 0, clamped: 0, tokens: 0, seconds: 0 };
  const report = () => opts.onProgress?.({ rowsDone: sum.written + sum.skippedDone + sum.skippedLong, rowsTotal, written: sum.written, skippedDone: sum.skippedDone, tokens: sum.tokens });

  for (const ds of datasets) {
    for (let c0 = 0; c0 < ds.prompts.length; c0 += chunk) {
      const prompts = ds.prompts.slice(c0, c0 + chunk);
      for (const side of both) {
        const pending: Pending[] = [];
        for (const p of prompts) {
          let ids: number[] | null = null;
          for (const lambda of side.lambdas) {
            if (done.has(sweepKey(ds.name, p.index, side.name, lambda))) {
              sum.skippedDone++;
              continue;
            }
            ids ??= encodeSweepPrompt(side.m.tokenizer, p, config.chatTemplate);
            const room = maxContext - ids.length;
            if (room < 1) {
              sum.skippedLong++;
              continue;
            }
            if (room < config.maxNewTokens) sum.clamped++;
            const steer: SeqSteer = { alpha: new Array<number>(side.nSites).fill(lambda), vec: 0, from: config.steerPositions === 'generated' ? ids.length : 0 };
            const req: GenerateRequest = { promptIds: ids, maxNewTokens: Math.min(room, config.maxNewTokens), temperature: config.temperature, topP: config.topP, seed: (config.seed + p.index) >>> 0, steer };
            pending.push({ prompt: p, lambda, promptIds: ids, req });
          }
        }
        if (pending.length === 0) {
          report();
          continue;
        }
        const results = await generateSide(side, pending, maxBatch, opts.lambdaBatching ?? true);
        const stops = new Set(side.m.model.cfg.eosTokenIds);
        const kept = results.map((r) => (r.finish === 'stop' && r.ids.length > 0 && stops.has(r.ids[r.ids.length - 1]!) ? r.ids.slice(0, -1) : r.ids));
        const toScore = pending.map((_, i) => i).filter((i) => kept[i]!.length > 0);
        const scores = await score(
          side.m.model,
          toScore.map((i) => ({ ids: [...pending[i]!.promptIds, ...kept[i]!], promptLen: pending[i]!.promptIds.length, steer: pending[i]!.req.steer! })),
          { steering: side.setup, maxBatch },
        );
        const logp = new Map(toScore.map((i, k) => [i, scores[k]!.sum]));
        for (let i = 0; i < pending.length; i++) {
          const { prompt: p, lambda, promptIds } = pending[i]!;
          const r = results[i]!;
          const row: SweepRow = {
            key: sweepKey(ds.name, p.index, side.name, lambda),
            dataset: ds.name,
            prompt_index: p.index,
            prompt: p.prompt,
            messages: p.messages,
            model: side.name,
            lambda: roundLambda(lambda),
            prompt_tokens: promptIds.length,
            ids: r.ids,
            text: side.m.tokenizer.decode(kept[i]!),
            finish: r.finish,
            logprob_sum: logp.get(i) ?? 0,
            tokens: kept[i]!.length,
          };
          await append(row);
          done.add(row.key);
          sum.written++;
          sum.tokens += r.ids.length;
        }
        report();
      }
    }
  }
  sum.seconds = (performance.now() - t0) / 1000;
  return sum;
}
