// The report's charts: declarative vega-lite specs compiled and rendered to SVG in Node (vega's
// headless View, renderer 'none'), so report.html needs no script and no network to show them.
// Per dataset: metrics versus lambda with the 95% band and dashed SFT/DPO anchor lines. Per layer
// (extraction): state cosines, norms, split-half and per-sample cosines, spectral entropy and
// sigma2/sigma1.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { extractionOf, type Agg, type DatasetReport, type Extraction, type ReportJson } from './types.js';

/** One chart of the report: where it belongs, what it shows, and its vega-lite spec. */
export interface ChartDef {
  /** Stable id, used as the figure's `data-chart` attribute (`lambda:advbench:shift`, `layer:norms`). */
  id: string;
  /** `dataset` charts belong to a dataset's section, `layer` charts to the extraction section. */
  group: 'dataset' | 'layer';
  /** The dataset of a `dataset` chart, null for `layer` charts. */
  dataset: string | null;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/** Metrics charted against lambda, in page order, with titles and y-scale choices. */
export const LAMBDA_METRICS: readonly { metric: string; title: string; unit: 'rate' | 'free' | 'count' }[] = [
  { metric: 'shift', title: 'Likelihood steering shift', unit: 'free' },
  { metric: 'judge_steering_shift', title: 'Judge steering shift', unit: 'rate' },
  { metric: 'judge_quality', title: 'Quality (judge)', unit: 'rate' },
  { metric: 'refusal_rate', title: 'Refusal rate', unit: 'rate' },
  { metric: 'rep4', title: 'rep4 (4-gram repetition)', unit: 'count' },
  { metric: 'chars', title: 'Length (characters)', unit: 'count' },
];

const SFT = 'SFT';
const DPO = 'DPO';
const COLORS = { [SFT]: '#1f6fb4', [DPO]: '#d9480f' };
const WIDTH = 300;
const HEIGHT = 170;

const CONFIG = {
  font: 'sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal' as const, gridColor: '#e6e6e6' },
  // Two columns at most and short labels, so a legend never widens the chart past its plot (the page
  // scales an SVG down to its grid cell, and a wide legend would shrink the whole chart). Without a
  // canvas vega estimates text at 0.8 em per character, so the limit is generous.
  legend: { orient: 'bottom' as const, columns: 2, labelFontSize: 11, titleFontSize: 11, symbolSize: 80, labelLimit: 200 },
  title: { fontSize: 13, anchor: 'start' as const, offset: 8 },
  view: { stroke: null },
};

interface LambdaPoint {
  lambda: number;
  mean: number;
  lo: number | null;
  hi: number | null;
  series: string;
}

function finite(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function metricOf(agg: Agg | null | undefined, metric: string): { mean: number; lo: number | null; hi: number | null } | null {
  const m = agg?.metrics?.[metric];
  if (!m || !finite(m.mean)) return null;
  return { mean: m.mean, lo: finite(m.lo) ? m.lo : null, hi: finite(m.hi) ? m.hi : null };
}

/**
 * The points of one metric versus lambda: DPO steered at lambda < 0 and SFT steered at lambda > 0,
 * each side starting from its own unsteered anchor at lambda 0 (the anchors serve the 0 of the grid).
 * Points whose metric is missing or null are left out.
 *
 * @example
 * const d = { anchors: { sft: { metrics: { rep4: { mean: 0.01, lo: 0, hi: 0.02 } } }, dpo: { metrics: { rep4: { mean: 0.02 } } } },
 *   lambdas: [{ lambda: -0.2, model: 'dpo', metrics: { rep4: { mean: 0.1, lo: 0.05, hi: 0.15 } } },
 *             { lambda: 0.2, model: 'sft', metrics: { rep4: null } }] };
 * const pts = lambdaPoints(d, 'rep4');
 * assert(pts.length === 3 && pts.filter((p) => p.series === 'DPO').length === 2);
 * assert(pts.find((p) => p.series === 'SFT').lambda === 0);
 */
export function lambdaPoints(data: DatasetReport, metric: string): LambdaPoint[] {
  const out: LambdaPoint[] = [];
  const push = (lambda: number, series: string, agg: Agg | null | undefined): void => {
    const m = metricOf(agg, metric);
    if (m) out.push({ lambda, series, ...m });
  };
  push(0, DPO, data.anchors?.dpo);
  push(0, SFT, data.anchors?.sft);
  for (const row of data.lambdas ?? []) {
    if (!finite(row.lambda) || row.lambda === 0) continue;
    push(row.lambda, row.lambda < 0 ? DPO : SFT, row);
  }
  return out.sort((a, b) => a.lambda - b.lambda);
}

function lambdaSpec(dataset: string, title: string, unit: 'rate' | 'free' | 'count', points: LambdaPoint[], anchors: { series: string; y: number }[]): TopLevelSpec {
  // One colour scale and one legend for all layers, declared identically on each (vega-lite merges
  // the legends of a shared scale). Stroke symbols: the line's colour, not the band's pale fill.
  const legend = {
    labelExpr: "datum.label === 'SFT' ? 'SFT (λ ≥ 0)' : 'DPO (λ ≤ 0)'",
    symbolType: 'stroke',
    symbolStrokeWidth: 2.5,
    symbolOpacity: 1,
    columns: 2,
  };
  const color = { field: 'series', type: 'nominal', title: null, legend, scale: { domain: [SFT, DPO], range: [COLORS[SFT], COLORS[DPO]] } };
  const scale = unit === 'rate' ? { domain: [0, 1] } : unit === 'count' ? { zero: true } : { zero: false };
  const x = { field: 'lambda', type: 'quantitative', title: 'λ (> 0 steers SFT, < 0 steers DPO)' };
  return {
    title: { text: title, subtitle: dataset },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      {
        data: { values: points.filter((p) => p.lo !== null && p.hi !== null) },
        mark: { type: 'area', opacity: 0.18 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', scale }, y2: { field: 'hi' }, color },
      },
      {
        data: { values: points },
        mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 2 },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title: null, scale }, color },
      },
      {
        data: { values: anchors },
        mark: { type: 'rule', strokeDash: [5, 4], strokeWidth: 1.5, opacity: 0.9 },
        encoding: { y: { field: 'y', type: 'quantitative' }, color },
      },
    ],
  } as unknown as TopLevelSpec;
}

function layerSpec(title: string, yTitle: string, rows: { layer: number; value: number; series: string }[], band?: { layer: number; lo: number; hi: number; series: string }[]): TopLevelSpec {
  const x = { field: 'layer', type: 'ordinal', title: 'layer', axis: { labelAngle: 0 } };
  const legend = { symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolOpacity: 1 };
  const color = { field: 'series', type: 'nominal', title: null, legend, scale: { scheme: 'dark2' } };
  const layers: unknown[] = [];
  if (band && band.length > 0) {
    layers.push({
      data: { values: band },
      mark: { type: 'area', opacity: 0.18 },
      encoding: { x, y: { field: 'lo', type: 'quantitative', scale: { zero: false } }, y2: { field: 'hi' }, color },
    });
  }
  layers.push({
    data: { values: rows },
    mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 2 },
    encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } }, color },
  });
  return {
    title: { text: title },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: layers,
  } as unknown as TopLevelSpec;
}

/** The per-dataset lambda charts; `missing` gets one line per chart that has no data. */
function datasetCharts(name: string, data: DatasetReport, judged: boolean, missing: string[]): ChartDef[] {
  const out: ChartDef[] = [];
  for (const { metric, title, unit } of LAMBDA_METRICS) {
    const isJudge = metric.startsWith('judge_');
    const points = lambdaPoints(data, metric);
    if (points.length === 0) {
      if (!isJudge || judged) missing.push(`${name}: no values of \`${metric}\`, so the "${title}" chart is left out`);
      continue;
    }
    const anchors: { series: string; y: number }[] = [];
    const sft = metricOf(data.anchors?.sft, metric);
    const dpo = metricOf(data.anchors?.dpo, metric);
    if (sft) anchors.push({ series: SFT, y: sft.mean });
    if (dpo) anchors.push({ series: DPO, y: dpo.mean });
    const gaps = [!sft && 'SFT anchor', !dpo && 'DPO anchor'].filter(Boolean).join(' and ');
    out.push({
      id: `lambda:${name}:${metric}`,
      group: 'dataset',
      dataset: name,
      title,
      caption:
        `${title} (\`${metric}\`) versus λ on ${name}: solid lines are the steered models, bands their 95% bootstrap interval over prompts, ` +
        `dashed lines the unsteered anchors.${gaps ? ` No ${gaps} value.` : ''}`,
      spec: lambdaSpec(name, title, unit, points, anchors),
    });
  }
  return out;
}

function layerRows(layers: { layer: number }[], fields: [string, string][]): { layer: number; value: number; series: string }[] {
  const out: { layer: number; value: number; series: string }[] = [];
  for (const l of layers) {
    for (const [field, series] of fields) {
      const v = (l as unknown as Record<string, unknown>)[field];
      if (finite(v)) out.push({ layer: l.layer, value: v, series });
    }
  }
  return out;
}

/** The per-layer extraction charts; `missing` gets a line for each part that is absent. */
function extractionCharts(ex: Extraction | null | undefined, missing: string[]): ChartDef[] {
  const out: ChartDef[] = [];
  const add = (id: string, title: string, caption: string, spec: TopLevelSpec): void => {
    out.push({ id: `layer:${id}`, group: 'layer', dataset: null, title, caption, spec });
  };
  const diag = ex?.diagnostics?.layers ?? [];
  if (!ex) missing.push('extraction: absent, so the per-layer charts are left out');
  else if (diag.length === 0) missing.push('extraction: no diagnostics layers, so the cosine, norm and split-half charts are left out');
  if (diag.length > 0) {
    const cos = layerRows(diag, [
      ['cos_states_chosen', 'states · chosen'],
      ['cos_states_rejected', 'states · rejected'],
      ['cos_chosen_rejected', 'chosen · rejected'],
    ]);
    if (cos.length > 0) add('cosines', 'State cosines per layer', 'Cosines between the mean residual states, the chosen and the rejected activations, per layer.', layerSpec('State cosines per layer', 'cosine', cos));
    const norms = layerRows(diag, [
      ['vector_norm', 'vector norm'],
      ['mean_residual_norm', 'mean residual norm'],
    ]);
    if (norms.length > 0) add('norms', 'Vector norm and residual norm', 'The steering vector\'s norm next to the mean norm of the residual stream it is added to, per layer.', layerSpec('Vector norm and residual norm', 'L2 norm', norms));
    const split = layerRows(diag, [['split_half_cosine', 'split-half']]);
    const band: { layer: number; lo: number; hi: number; series: string }[] = [];
    for (const l of diag) {
      const s = l.sample_cosine;
      if (s && finite(s.median)) split.push({ layer: l.layer, value: s.median, series: 'per-sample median' });
      if (s && finite(s.p05) && finite(s.p95)) band.push({ layer: l.layer, lo: s.p05, hi: s.p95, series: 'per-sample median' });
    }
    if (split.length > 0) {
      add('split-half', 'Split-half and per-sample cosine', 'Cosine between the vectors extracted from two halves of the pairs, and the median cosine of each pair\'s difference with the vector (band: 5th to 95th percentile).', layerSpec('Split-half and per-sample cosine', 'cosine', split, band));
    }
  }
  const spec = ex?.spectral?.layers ?? [];
  if (ex && spec.length === 0) missing.push('extraction: no spectral analysis, so the spectral entropy and σ2/σ1 charts are left out');
  if (spec.length > 0) {
    const ent = layerRows(spec, [['spectral_entropy', 'spectral entropy']]);
    if (ent.length > 0) add('entropy', 'Spectral entropy per layer', 'Entropy of the normalised singular values of the per-pair differences (low: one dominant direction).', layerSpec('Spectral entropy per layer', 'entropy', ent));
    const ratio = layerRows(spec, [['sigma2_over_sigma1', 'σ2 / σ1']]);
    if (ratio.length > 0) add('sigma-ratio', 'σ2 / σ1 per layer', 'Second over first singular value of the per-pair differences (low: a clean rank-one direction).', layerSpec('σ2 / σ1 per layer', 'σ2 / σ1', ratio));
  }
  return out;
}

/**
 * Every chart of a report, in page order (datasets in report order, then the extraction), and one
 * line per chart or part left out for lack of data.
 *
 * @example
 * const report = { judge: { mode: 'none' }, datasets: { adv: {
 *   anchors: { sft: { metrics: { shift: { mean: 0, lo: -0.1, hi: 0.1 } } }, dpo: { metrics: { shift: { mean: 1, lo: 0.9, hi: 1.1 } } } },
 *   lambdas: [{ lambda: 0.5, model: 'sft', metrics: { shift: { mean: 0.7, lo: 0.6, hi: 0.8 } } }] } } };
 * const { charts, missing } = reportCharts(report);
 * assert(charts.length === 1 && charts[0].id === 'lambda:adv:shift');
 * assert(missing.some((m) => m.includes('rep4')) && missing.some((m) => m.startsWith('extraction')));
 */
export function reportCharts(report: ReportJson): { charts: ChartDef[]; missing: string[] } {
  const missing: string[] = [];
  const judged = !!report.judge && report.judge.mode !== 'none';
  const charts: ChartDef[] = [];
  for (const [name, data] of Object.entries(report.datasets ?? {})) charts.push(...datasetCharts(name, data, judged, missing));
  charts.push(...extractionCharts(extractionOf(report), missing));
  return { charts, missing };
}

/**
 * Renders a vega-lite spec to an SVG string in Node (no DOM, no canvas, no network: the data must
 * be inline). The SVG comes without namespace attributes, ready to inline in HTML, and carries
 * `role="img"` and `aria-label` for screen readers.
 *
 * @example
 * const svg = await renderSvg({ data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] }, mark: 'line',
 *   encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } }, 'test chart');
 * assert(svg.startsWith('<svg') && svg.includes('aria-label="test chart"') && !svg.includes('http'));
 */
export async function renderSvg(spec: TopLevelSpec, label: string): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg
      .replace(' xmlns="http://www.w3.org/2000/svg"', '')
      .replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', '')
      .replace('<svg ', `<svg role="img" aria-label="${escapeAttr(label)}" `);
  } finally {
    view.finalize();
  }
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
