/**
 * scores.jsonl rows -> the `datasets` part of report.json (docs/RUNS.md): per dataset the prompt
 * count, the two unsteered anchors and every steered lambda, each an AGG of every metric with a
 * 95% percentile bootstrap interval over prompts (all rows of a prompt resampled together; the
 * same resamples for every group and metric of a dataset, so comparisons between lambdas are
 * paired). The likelihood shift is normalised per dataset with the full-data anchor means, a fixed
 * affine map, so the anchors' own intervals show their spread around 0 and 1.
 */
import { DsteerError } from '../engine/errors.js';
import { bootstrapClusterMean, drawResamples } from './stats.js';

/** The criteria a judge scores, each in [0, 1] or null when it could not be scored. */
export const JUDGE_CRITERIA = ['quality', 'relevance', 'helpfulness', 'toxicity', 'refusal', 'steering_shift', 'harmfulness'] as const;
export type JudgeCriterion = (typeof JUDGE_CRITERIA)[number];

/** Metrics every AGG carries (null where no row has a value). */
export const BASE_METRICS = ['shift', 'validity', 'rep4', 'distinct2', 'chars', 'words', 'self_ppl', 'refusal_rate', 'refusal_chars', 'cos_dpo', 'cos_sft'] as const;

/** `row.judge` of scores.jsonl. */
export type JudgeScores = {
  mode: 'embedded' | 'geval-prob' | 'geval-raw';
  style?: string | null;
  unclassified?: boolean;
} & { [C in JudgeCriterion]: number | null };

/** One row of scores.jsonl (docs/RUNS.md, "scores.jsonl"). */
export interface ScoreRow {
  key: string;
  dataset: string;
  prompt_index: number;
  model: 'sft' | 'dpo';
  /** > 0 steers SFT, < 0 steers DPO, 0 = unsteered anchor. */
  lambda: number;
  chars: number;
  words: number;
  valid: boolean;
  invalid_reason: 'empty' | 'short' | 'low-diversity' | null;
  rep4: number;
  distinct1: number;
  distinct2: number;
  self_ppl: number | null;
  refusal: boolean;
  refusal_source: 'embedded' | 'phrases';
  ll_sft: number;
  ll_dpo: number;
  ll_tokens: number;
  /** (ll_dpo - ll_sft) / ll_tokens; null when ll_tokens = 0. */
  shift_raw: number | null;
  cos_sft: number | null;
  cos_dpo: number | null;
  judge: JudgeScores | null;
}

/** A metric's mean over the rows of a group with its 95% bootstrap interval over prompts. */
export interface MetricCI {
  mean: number;
  lo: number;
  hi: number;
}

/** AGG of docs/RUNS.md. `unscored` (judge criteria only, present when any) counts rows without a score. */
export interface Agg {
  n: number;
  metrics: Record<string, MetricCI | null>;
  unscored?: Record<string, number>;
}

export type LambdaAgg = { lambda: number; model: 'sft' | 'dpo' } & Agg;

export interface DatasetAgg {
  prompts: number;
  /** Mean raw shift of the SFT and DPO anchor rows: shift = (raw - sft) / (dpo - sft); null when either is missing or they are equal. */
  shift_reference: { sft: number; dpo: number } | null;
  anchors: { sft: Agg; dpo: Agg };
  /** Every steered lambda, ascending (negative ones steer DPO, positive ones SFT). */
  lambdas: LambdaAgg[];
}

export type ReportDatasets = Record<string, DatasetAgg>;

/** The rows of one dataset, one cluster per prompt: clusters[k] holds the rows of prompts[k]. */
export interface DatasetRows {
  name: string;
  prompts: number[];
  clusters: ScoreRow[][];
}

export interface AggregateOptions {
  /** Seed of the bootstrap resamples (default 0). */
  seed?: number;
  /** Bootstrap resamples (default 1000). */
  reps?: number;
}

/**
 * The lambda a row is grouped under: rounded to 6 decimals, as in the resume key, so 0.30000000000000004 and 0.3 meet.
 * @example
 * assert(lambdaOf({ lambda: 0.1 + 0.2 }) === 0.3 && Object.is(lambdaOf({ lambda: -0 }), 0));
 */
export function lambdaOf(row: Pick<ScoreRow, 'lambda'>): number {
  return Number(row.lambda.toFixed(6)) + 0;
}

function bad(i: number, row: ScoreRow, field: string, accepted: string): DsteerError {
  const got = JSON.stringify((row as unknown as Record<string, unknown>)[field]);
  return new DsteerError(`scores row ${i + 1}${typeof row.key === 'string' ? ` (key ${row.key})` : ''}: field "${field}" is ${got}; expected ${accepted}`, 1);
}

/**
 * Checks the identifying fields of every row and splits them by dataset (sorted by name), then by
 * prompt (sorted by index). Throws DsteerError (exit 1) naming the row and field for a missing or
 * malformed dataset, prompt_index, model or lambda, a lambda whose sign does not match its model
 * (> 0 steers sft, < 0 steers dpo), or two rows with the same (dataset, prompt, model, lambda).
 * @example
 * const r = (prompt_index, model, lambda) => ({ key: `d|${prompt_index}|${model}|${lambda}`, dataset: 'd', prompt_index, model, lambda });
 * const [d] = splitByDataset([r(1, 'sft', 0), r(0, 'sft', 0), r(1, 'sft', 0.2)]);
 * assert(d.name === 'd' && d.prompts.join() === '0,1' && d.clusters[1].length === 2);
 */
export function splitByDataset(rows: readonly ScoreRow[]): DatasetRows[] {
  const byName = new Map<string, Map<number, ScoreRow[]>>();
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    if (typeof row.dataset !== 'string' || row.dataset === '') throw bad(i, row, 'dataset', 'a non-empty dataset name');
    if (!Number.isInteger(row.prompt_index) || row.prompt_index < 0) throw bad(i, row, 'prompt_index', 'an integer >= 0');
    if (row.model !== 'sft' && row.model !== 'dpo') throw bad(i, row, 'model', '"sft" or "dpo"');
    if (typeof row.lambda !== 'number' || !Number.isFinite(row.lambda)) throw bad(i, row, 'lambda', 'a finite number');
    const l = lambdaOf(row);
    if ((l > 0 && row.model !== 'sft') || (l < 0 && row.model !== 'dpo')) {
      throw bad(i, row, 'model', `"${l > 0 ? 'sft' : 'dpo'}" for lambda ${l} (positive lambdas steer sft, negative ones dpo)`);
    }
    const id = `${row.dataset}|${row.prompt_index}|${row.model}|${l}`;
    if (seen.has(id)) throw new DsteerError(`scores row ${i + 1}: a second row for dataset ${row.dataset}, prompt ${row.prompt_index}, model ${row.model}, lambda ${l}; each may appear once`, 1);
    seen.add(id);
    let prompts = byName.get(row.dataset);
    if (!prompts) byName.set(row.dataset, (prompts = new Map()));
    let cluster = prompts.get(row.prompt_index);
    if (!cluster) prompts.set(row.prompt_index, (cluster = []));
    cluster.push(row);
  });
  return [...byName.keys()].sort().map((name) => {
    const prompts = [...byName.get(name)!.keys()].sort((a, b) => a - b);
    return { name, prompts, clusters: prompts.map((p) => byName.get(name)!.get(p)!) };
  });
}

/**
 * Mean raw shift of the SFT-anchor and DPO-anchor rows among `rows`; null when either anchor has
 * no value or the two means are equal (nothing to normalise by).
 * @example
 * const a = (model, shift_raw) => ({ model, lambda: 0, shift_raw });
 * const ref = shiftReference([a('sft', -1), a('sft', -3), a('dpo', 2), { model: 'sft', lambda: 0.5, shift_raw: 9 }])!;
 * assert(ref.sft === -2 && ref.dpo === 2 && shiftReference([a('sft', 1)]) === null);
 */
export function shiftReference(rows: Iterable<ScoreRow>): { sft: number; dpo: number } | null {
  const s = { sft: 0, dpo: 0 };
  const c = { sft: 0, dpo: 0 };
  for (const r of rows) {
    if (lambdaOf(r) !== 0 || r.shift_raw == null || !Number.isFinite(r.shift_raw)) continue;
    s[r.model] += r.shift_raw;
    c[r.model]++;
  }
  if (c.sft === 0 || c.dpo === 0) return null;
  const ref = { sft: s.sft / c.sft, dpo: s.dpo / c.dpo };
  return ref.dpo === ref.sft ? null : ref;
}

/**
 * One row's value of a metric (BASE_METRICS or `judge_<criterion>`), null when it has none:
 * `shift` is (shift_raw - ref.sft) / (ref.dpo - ref.sft); `validity` and `refusal_rate` are 0/1;
 * `refusal_chars` is `chars` for refusals and null otherwise; judge metrics read `row.judge`.
 * @example
 * const row = { shift_raw: 1, valid: true, refusal: false, chars: 40, judge: null };
 * assert(metricValue(row, 'shift', { sft: 0, dpo: 2 }) === 0.5 && metricValue(row, 'validity', null) === 1);
 * assert(metricValue(row, 'refusal_chars', null) === null && metricValue(row, 'judge_quality', null) === null);
 */
export function metricValue(row: ScoreRow, metric: string, ref: { sft: number; dpo: number } | null): number | null {
  let v: unknown;
  if (metric === 'shift') {
    if (ref === null || row.shift_raw == null) return null;
    v = (row.shift_raw - ref.sft) / (ref.dpo - ref.sft);
  } else if (metric === 'validity') v = row.valid ? 1 : 0;
  else if (metric === 'refusal_rate') v = row.refusal ? 1 : 0;
  else if (metric === 'refusal_chars') v = row.refusal ? row.chars : null;
  else if (metric.startsWith('judge_')) v = row.judge ? (row.judge as unknown as Record<string, unknown>)[metric.slice(6)] : null;
  else v = (row as unknown as Record<string, unknown>)[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The metric names of a dataset: BASE_METRICS, plus the judge criteria when any row was judged. */
function metricNames(rows: readonly ScoreRow[]): string[] {
  const judged = rows.some((r) => r.judge != null);
  return [...BASE_METRICS, ...(judged ? JUDGE_CRITERIA.map((c) => `judge_${c}`) : [])];
}

/** AGG of the rows that `pick` selects, cluster by cluster, with the dataset's shared resamples. */
function aggOf(ds: DatasetRows, pick: (r: ScoreRow) => boolean, metrics: string[], ref: DatasetAgg['shift_reference'], draws: Int32Array, reps: number): Agg {
  const n = ds.prompts.length;
  const sums = metrics.map(() => new Float64Array(n));
  const counts = metrics.map(() => new Float64Array(n));
  const unscored: Record<string, number> = {};
  let rows = 0;
  ds.clusters.forEach((cluster, k) => {
    for (const r of cluster) {
      if (!pick(r)) continue;
      rows++;
      metrics.forEach((m, j) => {
        const v = metricValue(r, m, ref);
        if (v !== null) {
          sums[j]![k] += v;
          counts[j]![k]++;
        } else if (m.startsWith('judge_')) unscored[m.slice(6)] = (unscored[m.slice(6)] ?? 0) + 1;
      });
    }
  });
  const out: Agg = { n: rows, metrics: {} };
  metrics.forEach((m, j) => {
    const ci = bootstrapClusterMean(sums[j]!, counts[j]!, draws, reps);
    out.metrics[m] = ci && { mean: ci.value, lo: ci.lo, hi: ci.hi };
  });
  if (Object.keys(unscored).length > 0) out.unscored = unscored;
  return out;
}

/**
 * scores.jsonl rows -> report.json `datasets` (docs/RUNS.md): per dataset (sorted by name) the number
 * of prompts, `anchors.sft` / `anchors.dpo` (lambda-0 rows of each model; n = 0 with null metrics
 * when absent), and `lambdas`, every steered lambda ascending with its model. Metric means pool the
 * rows of a group; intervals come from `reps` prompt resamples drawn with `seed`.
 * @example
 * const row = (prompt_index, model, lambda, shift_raw) => ({ key: '', dataset: 'adv', prompt_index, model, lambda, shift_raw,
 *   chars: 20, words: 4, valid: true, rep4: 0, distinct2: 1, self_ppl: 3, refusal: false, cos_sft: 1, cos_dpo: 0.5, judge: null });
 * const rows = [0, 1].flatMap((p) => [row(p, 'sft', 0, -1 + p), row(p, 'dpo', 0, 1 + p), row(p, 'sft', 0.4, 0.5 + p)]);
 * const d = aggregate(rows, { reps: 200 }).adv;
 * assert(d.prompts === 2 && d.anchors.sft.metrics.shift.mean === 0 && d.anchors.dpo.metrics.shift.mean === 1);
 * assert(d.lambdas.length === 1 && d.lambdas[0].lambda === 0.4 && d.lambdas[0].metrics.shift.mean === 0.75);
 * assert(d.lambdas[0].metrics.refusal_chars === null && !('judge_quality' in d.lambdas[0].metrics));
 */
export function aggregate(rows: readonly ScoreRow[], opts: AggregateOptions = {}): ReportDatasets {
  const reps = opts.reps ?? 1000;
  const seed = opts.seed ?? 0;
  const out: ReportDatasets = {};
  for (const ds of splitByDataset(rows)) {
    const all = ds.clusters.flat();
    const metrics = metricNames(all);
    const ref = shiftReference(all);
    const draws = drawResamples(ds.prompts.length, reps, seed);
    const group = new Map(all.map((r) => [r, `${r.model}|${lambdaOf(r)}`]));
    const agg = (model: 'sft' | 'dpo', l: number): Agg => aggOf(ds, (r) => group.get(r) === `${model}|${l}`, metrics, ref, draws, reps);
    const steered = new Map<number, 'sft' | 'dpo'>();
    for (const r of all) if (lambdaOf(r) !== 0) steered.set(lambdaOf(r), r.model);
    out[ds.name] = {
      prompts: ds.prompts.length,
      shift_reference: ref,
      anchors: {
        sft: agg('sft', 0),
        dpo: agg('dpo', 0),
      },
      lambdas: [...steered.keys()]
        .sort((a, b) => a - b)
        .map((l) => ({ lambda: l, model: steered.get(l)!, ...agg(steered.get(l)!, l) })),
    };
  }
  return out;
}
