// The report's CSV files (RFC 4180: comma-separated, fields with a comma, quote or line break are
// quoted, quotes doubled, CRLF-free: lines end with \n). Numbers are written at full precision,
// missing values as empty fields.
//   lambdas.csv   dataset, model, lambda, metric, mean, lo, hi (long format; anchors at lambda 0)
//   findings.csv  dataset, finding, side, lambda, statistic, value, lo, hi, note
//   layers.csv    one row per layer: extraction diagnostics and spectral statistics side by side
//   aqi.csv       model, lambda, anchor, scope, space (tsne|raw), chi, xb, chi_norm, xb_norm, aqi
import { aqiOf, extractionOf, type Agg, type CI, type DatasetFindings, type DiagnosticsLayer, type ReportJson, type SpectralLayer } from './types.js';

type Cell = string | number | boolean | null | undefined;

/**
 * One CSV field: empty for null/undefined/non-finite numbers, quoted when it holds a comma, quote
 * or line break.
 *
 * @example
 * assert(csvField('a,b') === '"a,b"' && csvField('say "hi"') === '"say ""hi"""');
 * assert(csvField(null) === '' && csvField(0.25) === '0.25' && csvField(NaN) === '');
 */
export function csvField(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A whole CSV text from a header and rows, one line each, ending with a newline.
 *
 * @example
 * assert(toCsv(['a', 'b'], [[1, 'x,y'], [null, 2]]) === 'a,b\n1,"x,y"\n,2\n');
 */
export function toCsv(header: readonly string[], rows: readonly Cell[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/** Metric order in lambdas.csv: docs/RUNS.md's list first, then any other metric by name. */
const METRIC_ORDER = [
  'shift', 'validity', 'rep4', 'distinct2', 'chars', 'words', 'self_ppl', 'refusal_rate', 'refusal_chars', 'cos_dpo', 'cos_sft',
  'judge_quality', 'judge_relevance', 'judge_helpfulness', 'judge_toxicity', 'judge_refusal', 'judge_steering_shift', 'judge_harmfulness',
];

function metricRank(m: string): number {
  const i = METRIC_ORDER.indexOf(m);
  return i < 0 ? METRIC_ORDER.length : i;
}

function aggRows(dataset: string, model: string, lambda: number, agg: Agg | null | undefined): Cell[][] {
  const names = Object.keys(agg?.metrics ?? {}).sort((a, b) => metricRank(a) - metricRank(b) || a.localeCompare(b));
  return names.map((m) => {
    const v = agg!.metrics![m];
    return [dataset, model, lambda, m, v?.mean, v?.lo, v?.hi];
  });
}

/**
 * lambdas.csv: every metric of every dataset, anchor and lambda in long format. Rows go by
 * dataset, then lambda (anchors at 0, DPO before SFT), then metric.
 *
 * @example
 * const csv = lambdasCsv({ datasets: { adv: { anchors: { sft: { metrics: { rep4: { mean: 0.01, lo: 0, hi: 0.02 } } } },
 *   lambdas: [{ lambda: -0.5, model: 'dpo', metrics: { rep4: { mean: 0.3, lo: null, hi: null } } }] } } });
 * assert(csv === 'dataset,model,lambda,metric,mean,lo,hi\nadv,dpo,-0.5,rep4,0.3,,\nadv,sft,0,rep4,0.01,0,0.02\n');
 */
export function lambdasCsv(report: ReportJson): string {
  const rows: Cell[][] = [];
  for (const [name, data] of Object.entries(report.datasets ?? {})) {
    const entries: { lambda: number; model: string; agg: Agg | null | undefined }[] = [
      { lambda: 0, model: 'dpo', agg: data.anchors?.dpo },
      { lambda: 0, model: 'sft', agg: data.anchors?.sft },
      ...(data.lambdas ?? []).map((l) => ({ lambda: l.lambda, model: l.model ?? (l.lambda < 0 ? 'dpo' : 'sft'), agg: l })),
    ];
    entries.sort((a, b) => a.lambda - b.lambda || a.model.localeCompare(b.model));
    for (const e of entries) rows.push(...aggRows(name, e.model, e.lambda, e.agg));
  }
  return toCsv(['dataset', 'model', 'lambda', 'metric', 'mean', 'lo', 'hi'], rows);
}

function ciRow(dataset: string, finding: string, side: string, lambda: number | null | undefined, statistic: string, ci: CI | null | undefined, note: string | null = null): Cell[] {
  return [dataset, finding, side, lambda, statistic, ci?.value, ci?.lo, ci?.hi, note];
}

function findingRows(dataset: string, f: DatasetFindings): Cell[][] {
  const rows: Cell[][] = [];
  for (const side of ['positive', 'negative'] as const) {
    const c = f.coverage?.[side];
    if (f.coverage) rows.push(ciRow(dataset, 'coverage', side, c?.lambda, 'coverage', c, c ? null : 'no steered lambda on this side'));
    const b = f.coverage_before_collapse?.[side];
    if (f.coverage_before_collapse) rows.push(ciRow(dataset, 'coverage_before_collapse', side, b?.lambda, 'coverage', b, b ? (b.limit === null ? 'no collapse in the grid' : `collapse at ${b.limit}`) : 'nothing before the collapse'));
  }
  if (f.range !== undefined) rows.push(ciRow(dataset, 'range', '', null, 'range', f.range, f.range ? null : 'no judge steering shift'));
  for (const side of ['positive', 'negative'] as const) {
    const c = f.collapse_lambda?.[side];
    if (!f.collapse_lambda) break;
    rows.push([dataset, 'collapse_lambda', side, c?.lambda, 'collapse', null, null, null, c?.criterion ? `criterion=${c.criterion}` : 'no collapse']);
    for (const crit of ['rep4', 'validity', 'quality'] as const) {
      const l = c?.criteria?.[crit];
      rows.push([dataset, 'collapse_lambda', side, l, `lambda_${crit}`, null, null, null, l === null || l === undefined ? 'did not fire' : null]);
    }
  }
  for (const side of ['positive', 'negative'] as const) {
    const a = f.asymmetry?.[side];
    if (!f.asymmetry) break;
    if (!a) {
      rows.push([dataset, 'asymmetry', side, null, 'spearman', null, null, null, 'no steered lambda on this side']);
      continue;
    }
    rows.push(ciRow(dataset, 'asymmetry', side, null, 'spearman', a.spearman, `expected=${a.expected}`));
    rows.push([dataset, 'asymmetry', side, null, 'direction_changes', a.direction_changes, null, null, null]);
    rows.push([dataset, 'asymmetry', side, null, 'max_isotonic_deviation', a.max_isotonic_deviation, null, null, null]);
  }
  const r = f.refusal_paradox;
  if (r) {
    const refusal = (side: string, lambda: number | null, ref: { rate: CI; mean_chars: CI | null } | null): void => {
      rows.push(ciRow(dataset, 'refusal_paradox', side, lambda, 'refusal_rate', ref?.rate));
      rows.push(ciRow(dataset, 'refusal_paradox', side, lambda, 'refusal_mean_chars', ref?.mean_chars, ref?.mean_chars ? null : 'no refusals'));
    };
    refusal('sft', 0, r.sft);
    refusal('dpo', 0, r.dpo);
    for (const s of [...(r.steered ?? [])].sort((a, b) => a.lambda - b.lambda)) refusal('steered', s.lambda, s);
  }
  return rows;
}

/**
 * findings.csv: every finding statistic with its interval, one row each, then one `reproduced`
 * row per entry of `reproduces` (value 1, 0 or empty for "cannot tell"; the sentence as the note).
 *
 * @example
 * const csv = findingsCsv({ findings: { adv: { range: { value: 0.6, lo: 0.5, hi: 0.7 } } },
 *   reproduces: [{ finding: 'collapse', dataset: 'adv', reproduced: false, sentence: 'No collapse, rep4 0.01.' }] });
 * const lines = csv.trim().split('\n');
 * assert(lines[1] === 'adv,range,,,range,0.6,0.5,0.7,');
 * assert(lines[2] === 'adv,collapse,,,reproduced,0,,,"No collapse, rep4 0.01."');
 */
export function findingsCsv(report: ReportJson): string {
  const rows: Cell[][] = [];
  for (const [name, f] of Object.entries(report.findings ?? {})) if (f) rows.push(...findingRows(name, f));
  for (const r of report.reproduces ?? []) {
    rows.push([r.dataset ?? '', r.finding, '', null, 'reproduced', r.reproduced === null ? null : r.reproduced ? 1 : 0, null, null, r.sentence]);
  }
  return toCsv(['dataset', 'finding', 'side', 'lambda', 'statistic', 'value', 'lo', 'hi', 'note'], rows);
}

const LAYER_COLUMNS = [
  'layer', 'hook', 'vector_norm', 'mean_residual_norm', 'cos_states_chosen', 'cos_states_rejected', 'cos_chosen_rejected',
  'split_half_cosine', 'sample_cos_n', 'sample_cos_mean', 'sample_cos_min', 'sample_cos_p05', 'sample_cos_p25', 'sample_cos_median',
  'sample_cos_p75', 'sample_cos_p95', 'sample_cos_max', 'sigma2_over_sigma1', 'spectral_entropy', 'top5', 'epsilon_rank', 'alignment',
  'explained_variance',
] as const;

function listCell(v: number | number[] | null | undefined): Cell {
  return Array.isArray(v) ? v.map((x) => (Number.isFinite(x) ? String(x) : '')).join(';') : v;
}

/**
 * layers.csv: one row per layer found in the extraction diagnostics or the spectral analysis (by
 * layer number), with empty fields for what one of them lacks; `top5` and any list-valued column
 * are joined with `;`. Only the header when the report has no extraction.
 *
 * @example
 * const csv = layersCsv({ extraction: { diagnostics: { layers: [{ layer: 5, hook: 'blocks.5.hook_resid_post', vector_norm: 2 }] },
 *   spectral: { layers: [{ layer: 5, top5: [3, 1], spectral_entropy: 0.5 }, { layer: 6, spectral_entropy: 0.7 }] } } });
 * const lines = csv.trim().split('\n');
 * assert(lines.length === 3 && lines[1].startsWith('5,blocks.5.hook_resid_post,2,') && lines[1].includes(',0.5,3;1,'));
 * assert(lines[2].startsWith('6,,,'));
 */
export function layersCsv(report: ReportJson): string {
  const diag = new Map<number, DiagnosticsLayer>();
  const spec = new Map<number, SpectralLayer>();
  const ex = extractionOf(report);
  for (const l of ex?.diagnostics?.layers ?? []) diag.set(l.layer, l);
  for (const l of ex?.spectral?.layers ?? []) spec.set(l.layer, l);
  const layers = [...new Set([...diag.keys(), ...spec.keys()])].sort((a, b) => a - b);
  const rows = layers.map((layer): Cell[] => {
    const d = diag.get(layer);
    const s = spec.get(layer);
    const c = d?.sample_cosine;
    return [
      layer, d?.hook, d?.vector_norm, d?.mean_residual_norm, d?.cos_states_chosen, d?.cos_states_rejected, d?.cos_chosen_rejected,
      d?.split_half_cosine, c?.n, c?.mean, c?.min, c?.p05, c?.p25, c?.median, c?.p75, c?.p95, c?.max,
      s?.sigma2_over_sigma1, s?.spectral_entropy, listCell(s?.top5), s?.epsilon_rank, listCell(s?.alignment), listCell(s?.explained_variance),
    ];
  });
  return toCsv(LAYER_COLUMNS, rows);
}

/**
 * aqi.csv: one row per (model, scope, space) of the report's aqi.json; just the header when the
 * report has none.
 *
 * @example
 * const csv = aqiCsv({ aqi: { scopes: ['overall'], models: [{ model: 'dpo', lambda: -0.5, anchor: false, scopes: { overall: { tsne: { chi: 4, xb: 0.25, aqi: 80 }, raw: null } } }] } });
 * assert(csv.split('\n')[1] === 'dpo,-0.5,false,overall,tsne,4,0.25,,,80' && csv.split('\n').length === 3);
 */
export function aqiCsv(report: ReportJson): string {
  const head = ['model', 'lambda', 'anchor', 'scope', 'space', 'chi', 'xb', 'chi_norm', 'xb_norm', 'aqi'] as const;
  const a = aqiOf(report);
  const rows: Cell[][] = [];
  for (const m of a?.models ?? []) {
    for (const scope of a!.scopes) {
      for (const space of ['tsne', 'raw'] as const) {
        const v = m.scopes[scope]?.[space];
        if (!v) continue;
        rows.push([m.model, m.lambda, m.anchor, scope, space, v.chi, v.xb, v.chi_norm, v.xb_norm, v.aqi]);
      }
    }
  }
  return toCsv(head, rows);
}
