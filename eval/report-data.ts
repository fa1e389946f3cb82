/**
 * report.json (docs/RUNS.md): the manifest, the judge mode, the extraction's diagnostics and
 * spectral analysis, per-dataset aggregates per lambda with bootstrap intervals, the findings, a
 * plain verdict per finding, and example outputs. Built from the run's rows alone (no model), so
 * `dsteer report` can rebuild it at any time.
 */
import { aggregate } from './aggregate.js';
import type { ScoreRow } from './aggregate.js';
import { findings, reproduces } from './findings.js';
import type { GenerationRow } from './evaluate.js';

export interface JudgeInfo {
  mode: 'embedded' | 'geval-prob' | 'geval-raw' | 'none';
  note: string;
}

export interface ExampleOutput {
  model: string;
  lambda: number;
  text: string;
  style?: string;
}

export interface Example {
  prompt_index: number;
  prompt: string;
  outputs: ExampleOutput[];
}

/**
 * Example outputs for the report: the first `perDataset` prompts of each dataset (by index), every
 * lambda of each, ordered from the most negative lambda (DPO steered toward SFT) through the two
 * anchors to the most positive; the embedded judge's style when it scored the row.
 * @example
 * const g = (model, lambda, text) => ({ key: `d|0|${model}|${lambda}`, dataset: 'd', prompt_index: 0, prompt: 'hi', messages: [], model, lambda, text, logprob_sum: 0, tokens: 1 });
 * const ex = reportExamples([g('sft', 0.4, 'b'), g('dpo', 0, 'c'), g('sft', 0, 'a')], [], 3);
 * assert(ex.d.length === 1 && ex.d[0].outputs.map((o) => o.text).join('') === 'cab');
 */
export function reportExamples(gens: GenerationRow[], scores: ScoreRow[], perDataset = 8): Record<string, Example[]> {
  const style = new Map(scores.map((s) => [s.key, s.judge?.style]));
  const order = (o: ExampleOutput): number => (o.lambda !== 0 ? o.lambda : o.model === 'dpo' ? -1e-9 : 1e-9);
  const out: Record<string, Example[]> = {};
  const byPrompt = new Map<string, Example>();
  for (const g of gens) {
    const k = `${g.dataset}|${g.prompt_index}`;
    let ex = byPrompt.get(k);
    if (!ex) {
      ex = { prompt_index: g.prompt_index, prompt: g.prompt, outputs: [] };
      byPrompt.set(k, ex);
      (out[g.dataset] ??= []).push(ex);
    }
    const s = style.get(g.key);
    ex.outputs.push({ model: g.model, lambda: g.lambda, text: g.text, ...(s ? { style: s } : {}) });
  }
  for (const name of Object.keys(out)) {
    out[name] = out[name]!.sort((a, b) => a.prompt_index - b.prompt_index).slice(0, perDataset);
    // anchors sit at lambda 0: the DPO anchor before the SFT anchor (negative side meets the DPO model)
    for (const ex of out[name]!) ex.outputs.sort((a, b) => order(a) - order(b));
  }
  return out;
}

/**
 * Everything report.json holds, from the run's rows.
 * @example
 * const rep = buildReport({ manifest: { config: {} }, generations: [], scores: [], extraction: null, judge: { mode: 'none', note: 'no judge' } });
 * assert(Object.keys(rep.datasets).length === 0 && rep.judge.mode === 'none');
 */
export function buildReport(input: {
  manifest: unknown;
  generations: GenerationRow[];
  scores: ScoreRow[];
  extraction: { diagnostics: unknown; spectral: unknown } | null;
  judge: JudgeInfo;
  seed?: number;
  reps?: number;
  /** aqi.json of the run (`dsteer aqi --run`), passed through as report.json's `aqi`. */
  aqi?: unknown;
}) {
  const opts = { seed: input.seed ?? 0, reps: input.reps ?? 1000 };
  const datasets = aggregate(input.scores, opts);
  const f = findings(input.scores, datasets, opts);
  return {
    manifest: input.manifest,
    judge: input.judge,
    extraction: input.extraction,
    datasets,
    findings: f,
    reproduces: reproduces(f, datasets),
    examples: reportExamples(input.generations, input.scores),
    ...(input.aqi !== undefined && input.aqi !== null ? { aqi: input.aqi } : {}),
  };
}
