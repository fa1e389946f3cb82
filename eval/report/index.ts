// The report renderer: report.json in, report.html and the CSV files out, as strings (the CLI
// writes them). See docs/RUNS.md for the report.json contract and html.ts / charts.ts / csv.ts for
// the parts.
import { renderSvg, reportCharts } from './charts.js';
import { aqiCsv, findingsCsv, lambdasCsv, layersCsv } from './csv.js';
import { chartsSection, examplesSection, findingsSection, headerSection, missingSection, page } from './html.js';
import type { ReportJson } from './types.js';

export type * from './types.js';
export type { ChartDef } from './charts.js';

/** What renderReport returns: the page and the CSV files by file name. */
export interface RenderedReport {
  /** report.html: one self-contained page (inline CSS and SVG, no network). */
  html: string;
  /** `lambdas.csv`, `findings.csv`, `layers.csv`. */
  csv: Record<string, string>;
  /** The `data-chart` id of every chart on the page, in page order. */
  charts: string[];
  /** One line per part of the report that could not be shown for lack of data (also on the page). */
  missing: string[];
}

/** The parts of report.json that are missing entirely, as lines for the page. */
function missingParts(report: ReportJson): string[] {
  const out: string[] = [];
  if (!report.manifest) out.push('manifest: absent, so models, vector, datasets and configuration are not shown');
  if (!report.judge || report.judge.mode === 'none' || report.judge.mode === undefined) out.push('judge: none, so quality, judge steering shift and range are not available');
  if (Object.keys(report.datasets ?? {}).length === 0) out.push('datasets: none, so there are no per-lambda charts');
  if (Object.keys(report.findings ?? {}).length === 0) out.push('findings: none computed');
  for (const name of Object.keys(report.datasets ?? {})) if (report.findings && !report.findings[name]) out.push(`findings: none for ${name}`);
  if ((report.reproduces ?? []).length === 0) out.push('reproduces: no verdicts');
  if (Object.keys(report.examples ?? {}).length === 0) out.push('examples: none');
  return out;
}

/**
 * Renders report.json (docs/RUNS.md) into report.html and the CSV files. Every part may be missing
 * or null: what exists is rendered and the page lists what is not there. Charts are vega-lite specs
 * rendered to SVG here, in Node; the page loads nothing (a Content Security Policy forbids it) and
 * reads without JavaScript. Model outputs are escaped.
 *
 * @example
 * const report = {
 *   judge: { mode: 'none', note: 'judge-free metrics only' },
 *   datasets: { adv: { prompts: 2,
 *     anchors: { sft: { n: 2, metrics: { shift: { mean: 0, lo: -0.1, hi: 0.1 } } }, dpo: { n: 2, metrics: { shift: { mean: 1, lo: 0.8, hi: 1.2 } } } },
 *     lambdas: [{ lambda: 0.5, model: 'sft', n: 2, metrics: { shift: { mean: 0.6, lo: 0.4, hi: 0.8 } } }] } },
 *   examples: { adv: [{ prompt_index: 0, prompt: 'Hi', outputs: [{ model: 'sft', lambda: 0.5, text: '<b>hello</b>' }] }] },
 * };
 * const { html, csv, charts } = await renderReport(report);
 * assert(charts.length === 1 && html.includes('data-chart="lambda:adv:shift"') && html.includes('<svg'));
 * assert(html.includes('&lt;b&gt;hello&lt;/b&gt;') && !html.includes('<b>hello</b>'));
 * assert(csv['lambdas.csv'].split('\n')[1] === 'adv,dpo,0,shift,1,0.8,1.2');
 */
export async function renderReport(report: ReportJson): Promise<RenderedReport> {
  const { charts, missing: chartGaps } = reportCharts(report);
  const svgs: string[] = [];
  for (const c of charts) svgs.push(await renderSvg(c.spec, `${c.dataset ? `${c.dataset}: ` : ''}${c.title}`));
  const missing = [...missingParts(report), ...chartGaps];
  const html = page('D-STEER report', [
    headerSection(report),
    missingSection(missing),
    findingsSection(report),
    chartsSection(report, charts, svgs),
    examplesSection(report),
  ]);
  return {
    html,
    csv: { 'lambdas.csv': lambdasCsv(report), 'findings.csv': findingsCsv(report), 'layers.csv': layersCsv(report), ...(report.aqi ? { 'aqi.csv': aqiCsv(report) } : {}) },
    charts: charts.map((c) => c.id),
    missing,
  };
}
