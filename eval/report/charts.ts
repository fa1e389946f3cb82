// The report's charts: declarative vega-lite specs compiled and rendered to SVG in Node (vega's
// headless View, renderer 'none'), so report.html needs no script and no network to show them.
// Per dataset: metrics versus lambda with the 95% band and dashed SFT/DPO anchor lines. Per layer
// (extraction): state cosines, norms, split-half and per-sample cosines, spectral entropy and
// sigma2/sigma1.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { aqiOf, extractionOf, type Agg, type AqiPart, type DatasetReport, type Extraction, type ReportJson } from './types.js';

/** One chart of the report: where it belongs, what it shows, and its vega-lite spec. */
export interface ChartDef {
  /** Stable id, used as the figure's `data-chart` attribute (`lambda:advbench:shift`, `layer:norms`). */
  id: string;
  /** `dataset` charts belong to a dataset's section, `layer` charts to the extraction section, `aqi` charts to the AQI section. */
  group: 'dataset' | 'layer' | 'aqi';
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
  const aqi = aqiOf(report);
  if (aqi) charts.push(...aqiCharts(aqi));
  return { charts, missing };
}

/** One point of an AQI-versus-lambda chart. */
interface AqiPoint {
  lambda: number;
  value: number;
  scope: string;
  side: string;
  anchor: string | null;
}

/**
 * The points of one AQI quantity versus lambda, one series per scope; each side (DPO steered at
 * lambda < 0, SFT at lambda > 0) starts from its own anchor at lambda 0, so a scope has two lines
 * meeting near 0 (`side` keeps them apart).
 *
 * @example
 * const part = { config: {}, scopes: ['overall'], points: null, note: null, models: [
 *   { model: 'sft', lambda: 0, anchor: true, scopes: { overall: { raw: { chi: 2, xb: 1, chi_norm: 26.9, xb_norm: 26.9, aqi: 26.9 } } } },
 *   { model: 'dpo', lambda: 0, anchor: true, scopes: { overall: { raw: { chi: 3, xb: 1, chi_norm: 73.1, xb_norm: 73.1, aqi: 73.1 } } } },
 *   { model: 'sft', lambda: 0.5, anchor: false, scopes: { overall: { raw: { chi: 5, xb: 0.5 } } } }] };
 * const pts = aqiPoints(part, 'raw', 'chi');
 * assert(pts.length === 3 && pts.filter((p) => p.side === 'SFT').map((p) => p.value).join() === '2,5');
 */
export function aqiPoints(part: AqiPart, space: 'tsne' | 'raw', field: 'aqi' | 'chi' | 'xb'): AqiPoint[] {
  const out: AqiPoint[] = [];
  for (const m of part.models) {
    for (const scope of part.scopes) {
      const v = m.scopes[scope]?.[space]?.[field];
      if (!finite(v)) continue;
      out.push({ lambda: m.lambda, value: v, scope, side: m.model === 'sft' ? SFT : DPO, anchor: m.anchor ? `${m.model.toUpperCase()} anchor` : null });
    }
  }
  return out.sort((a, b) => a.lambda - b.lambda);
}

function aqiLambdaSpec(title: string, subtitle: string, yTitle: string, points: AqiPoint[], scopes: string[]): TopLevelSpec {
  const x = { field: 'lambda', type: 'quantitative', title: 'λ (> 0 steers SFT, < 0 steers DPO)' };
  const color = { field: 'scope', type: 'nominal', title: null, scale: { domain: scopes, scheme: 'tableau10' }, legend: { columns: 2, symbolType: 'stroke', symbolStrokeWidth: 2.5 } };
  // the overall scope drawn thick, the axioms thin
  const size = { condition: { test: "datum.scope === 'overall'", value: 3 }, value: 1.2 };
  return {
    title: { text: title, subtitle },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      { data: { values: points }, mark: { type: 'line', point: { filled: true, size: 18 } }, encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } }, color, detail: { field: 'side' }, strokeWidth: size } },
      { data: { values: points.filter((p) => p.anchor !== null && p.scope === 'overall') }, mark: { type: 'point', shape: 'diamond', size: 90, filled: false, strokeWidth: 2, color: '#222' }, encoding: { x, y: { field: 'value', type: 'quantitative' } } },
    ],
  } as unknown as TopLevelSpec;
}

/** At most `max` indices of `n`, evenly strided (deterministic). */
function strided(n: number, max: number): number[] {
  const step = Math.max(1, n / max);
  const out: number[] = [];
  for (let t = 0; Math.floor(t) < n && out.length < max; t += step) out.push(Math.floor(t));
  return out;
}

function scatterSpec(title: string, subtitle: string, coords: number[], part: AqiPart): TopLevelSpec {
  const n = Math.floor(coords.length / 3);
  const rows = strided(n, 1200).map((i) => ({ t1: coords[i * 3]!, t2: coords[i * 3 + 1]!, t3: coords[i * 3 + 2]!, label: part.points?.safe[i] === 1 ? 'safe' : part.points?.safe[i] === 0 ? 'unsafe' : 'unknown' }));
  const color = { field: 'label', type: 'nominal', title: null, scale: { domain: ['safe', 'unsafe'], range: ['#2b8a3e', '#c92a2a'] } };
  const view = (a: string, b: string) => ({
    width: 150,
    height: 150,
    mark: { type: 'circle', size: 9, opacity: 0.55 },
    encoding: { x: { field: a, type: 'quantitative', title: a, axis: { labels: false, ticks: false } }, y: { field: b, type: 'quantitative', title: b, axis: { labels: false, ticks: false } }, color },
  });
  return {
    title: { text: title, subtitle },
    data: { values: rows },
    config: CONFIG,
    hconcat: [view('t1', 't2'), view('t1', 't3'), view('t2', 't3')],
  } as unknown as TopLevelSpec;
}

/**
 * The AQI charts: AQI, raw CHI and raw XB versus lambda, each on the t-SNE embedding and on the
 * unreduced embeddings (every scope, overall thick, anchors marked), then a 3-D scatter (three
 * pairwise views of the overall t-SNE) for every model whose coordinates aqi.json kept.
 */
function aqiCharts(part: AqiPart): ChartDef[] {
  const out: ChartDef[] = [];
  const site = typeof part.config.hook === 'string' ? part.config.hook : 'last layer';
  const quantities = [
    { field: 'aqi', title: 'AQI', y: 'AQI (0-100)', what: 'the anchored index (the anchors sit at 26.89/73.11 by construction)' },
    { field: 'chi', title: 'Calinski-Harabasz (raw)', y: 'CHI (higher = separated)', what: 'raw CHI, higher = safe and unsafe better separated' },
    { field: 'xb', title: 'Xie-Beni (raw)', y: 'XB (lower = separated)', what: 'raw XB, lower = better separated' },
  ] as const;
  for (const q of quantities) {
    for (const space of ['tsne', 'raw'] as const) {
      const pts = aqiPoints(part, space, q.field);
      if (pts.length === 0) continue;
      const sp = space === 'tsne' ? '3-D t-SNE' : 'unreduced';
      out.push({
        id: `aqi:${q.field}:${space}`,
        group: 'aqi',
        dataset: null,
        title: `${q.title}, ${sp}`,
        caption: `${q.what}, on the ${sp} embeddings of \`${site}\`, per axiom and overall (thick), versus λ; each side starts from its own unsteered anchor (diamonds, overall).`,
        spec: aqiLambdaSpec(`${q.title}, ${sp}`, site, q.y, pts, part.scopes),
      });
    }
  }
  for (const m of part.models) {
    if (!Array.isArray(m.scatter) || m.scatter.length < 3) continue;
    const name = m.anchor ? `${m.model.toUpperCase()} anchor` : `${m.model.toUpperCase()} steered, λ = ${m.lambda}`;
    const n = Math.floor(m.scatter.length / 3);
    out.push({
      id: `aqi:scatter:${m.model}:${m.lambda}`,
      group: 'aqi',
      dataset: null,
      title: `t-SNE 3-D, ${name}`,
      caption: `The overall 3-D t-SNE of ${name} as three pairwise views (t1-t2, t1-t3, t2-t3), safe in green, unsafe in red${n > 1200 ? ` (1200 of ${n} points, evenly strided)` : ''}.`,
      spec: scatterSpec(`t-SNE 3-D, ${name}`, site, m.scatter, part),
    });
  }
  return out;
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
