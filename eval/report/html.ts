// report.html, piece by piece: one self-contained page (inline CSS, inline SVG charts, one tiny
// inline script that only filters the examples table; everything reads without it). A Content
// Security Policy forbids every network fetch. All text that comes from a run (model outputs,
// prompts, dataset names, paths, the judge's note) goes through escapeHtml: outputs are untrusted
// model text.
import type { ChartDef } from './charts.js';
import { aqiOf, extractionOf, type CI, type Collapse, type DatasetFindings, type ExamplePrompt, type Refusal, type ReportJson } from './types.js';

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @example
 * assert(escapeHtml(`<script>alert("x") & 'y'</script>`) === '&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;');
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * A number for the page: integers as they are, else 0 decimals from 100, 1 from 10, 3 below; an
 * em dash for null, undefined or a non-finite value.
 *
 * @example
 * assert(fmt(0.80512) === '0.805' && fmt(268.4) === '268' && fmt(12.34) === '12.3' && fmt(3) === '3' && fmt(null) === '—');
 */
export function fmt(x: number | null | undefined): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '—';
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return x.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 3);
}

/**
 * A lambda as the grid meant it (at most 6 decimals: 0.30000000000000004 prints as 0.3).
 *
 * @example
 * assert(fmtLambda(0.1 + 0.2) === '0.3' && fmtLambda(-0.6) === '-0.6' && fmtLambda(null) === '—');
 */
export function fmtLambda(l: number | null | undefined): string {
  if (typeof l !== 'number' || !Number.isFinite(l)) return '—';
  return String(Number(l.toFixed(6)));
}

/** A value and its interval with the same decimals (chosen from the largest of the three). */
function fmtCi(ci: CI | null | undefined): string {
  if (!ci) return '—';
  const a = Math.max(...[ci.value, ci.lo, ci.hi].map((x) => (Number.isFinite(x) ? Math.abs(x) : 0)));
  const d = a >= 100 ? 0 : a >= 10 ? 1 : 3;
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
  return `${f(ci.value)} <span class="ci">[${f(ci.lo)}, ${f(ci.hi)}]</span>`;
}

function table(head: string[], rows: string[][], cls = ''): string {
  const th = head.map((h) => `<th>${h}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function shortHash(h: unknown): string {
  if (typeof h !== 'string' || h === '') return '—';
  return `<code title="${escapeHtml(h)}">${escapeHtml(h.slice(0, 12))}</code>`;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return fmt(v);
  if (typeof v === 'string' || typeof v === 'boolean') return escapeHtml(String(v));
  return `<code>${escapeHtml(JSON.stringify(v))}</code>`;
}

function record(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * Header: models, vector, datasets, judge, configuration (from the manifest; dashes where absent).
 *
 * @example
 * const h = headerSection({ manifest: { models: { sft: { path: 'a/<sft>', hash: 'abcdef0123456789' } }, config: { lambdas: [-0.5, 0.5] } },
 *   judge: { mode: 'embedded', note: 'micro world' } });
 * assert(h.includes('a/&lt;sft&gt;') && h.includes('abcdef012345') && h.includes('-0.5, 0.5') && h.includes('embedded'));
 */
export function headerSection(report: ReportJson): string {
  const m = record(report.manifest);
  const models = record(m.models);
  const vector = record(m.vector);
  const parts: string[] = [];
  const meta = [m.dsteer && `dsteer ${text(m.dsteer)}`, m.node && `Node ${text(m.node)}`, m.created && `created ${text(m.created)}`].filter(Boolean);
  if (meta.length > 0) parts.push(`<p class="meta">${meta.join(' · ')}</p>`);
  const modelRows = (['sft', 'dpo'] as const).map((k) => {
    const e = record(models[k]);
    return [k.toUpperCase(), text(e.path), shortHash(e.hash)];
  });
  const layers = Array.isArray(vector.layers) ? vector.layers.join(', ') : text(vector.layers);
  modelRows.push(['vector', text(vector.path), shortHash(vector.hash)]);
  parts.push(`<h2>Models and vector</h2>${table(['', 'path', 'sha256'], modelRows)}<p>Steered layers: ${layers}</p>`);

  const manifestSets = Array.isArray(m.datasets) ? m.datasets.map(record) : [];
  const names = [...new Set([...manifestSets.map((d) => String(d.name)), ...Object.keys(report.datasets ?? {})])];
  const setRows = names.map((n) => {
    const d = manifestSets.find((x) => String(x.name) === n) ?? {};
    const prompts = report.datasets?.[n]?.prompts ?? d.prompts;
    return [escapeHtml(n), text(d.format), text(prompts), text(d.path), shortHash(d.hash)];
  });
  parts.push(`<h2>Datasets</h2>${setRows.length > 0 ? table(['name', 'format', 'prompts', 'path', 'sha256'], setRows) : '<p class="missing">No datasets.</p>'}`);

  const judge = report.judge;
  const mode = judge?.mode ?? 'none';
  parts.push(
    `<h2>Judge</h2><p>Mode: <strong>${escapeHtml(mode)}</strong>${judge?.note ? ` — ${escapeHtml(judge.note)}` : ''}</p>` +
      (mode === 'none' ? '<p class="note">No judge scored these outputs: quality, judge steering shift and range are not available; the likelihood shift and the judge-free metrics are.</p>' : ''),
  );

  const config = record(m.config);
  const configRows = Object.entries(config).map(([k, v]) => [`<code>${escapeHtml(k)}</code>`, Array.isArray(v) ? `<code>${escapeHtml(v.join(', '))}</code>` : text(v)]);
  if (configRows.length > 0) parts.push(`<h2>Configuration</h2>${table(['setting', 'value'], configRows, 'config')}`);
  return `<section id="header">${parts.join('\n')}</section>`;
}

const FINDING_NAMES: Record<string, string> = {
  universal_steering_shift: 'Universal steering shift',
  collapse: 'Optimal range / collapse',
  adversarial_asymmetry: 'Adversarial asymmetry',
  refusal_paradox: 'Refusal paradox',
};

function collapseCell(c: Collapse | null | undefined): string[] {
  if (!c) return ['—', '—', '—', '—', '—'];
  const crit = c.criteria ?? {};
  return [
    c.lambda === null ? 'none' : fmtLambda(c.lambda),
    c.criterion ? escapeHtml(c.criterion) : '—',
    fmtLambda(crit.rep4 ?? null),
    fmtLambda(crit.validity ?? null),
    fmtLambda(crit.quality ?? null),
  ];
}

function refusalCells(r: Refusal | null | undefined): string[] {
  return [fmtCi(r?.rate), r ? (r.mean_chars ? fmtCi(r.mean_chars) : 'no refusals') : '—'];
}

/**
 * Findings: the one-sentence verdicts from `reproduces`, then one table per finding with its
 * intervals.
 *
 * @example
 * const f = findingsSection({ reproduces: [{ finding: 'collapse', dataset: 'hh', reproduced: true, sentence: 'rep4 0.31 at λ 0.5.' }],
 *   findings: { hh: { range: { value: 0.61, lo: 0.5, hi: 0.7 } } } });
 * assert(f.includes('reproduced') && f.includes('rep4 0.31 at λ 0.5.') && f.includes('0.610 <span class="ci">[0.500, 0.700]</span>'));
 */
export function findingsSection(report: ReportJson): string {
  const parts: string[] = ['<h2>Findings</h2>'];
  const repro = report.reproduces ?? [];
  if (repro.length > 0) {
    const items = repro.map((r) => {
      const [cls, label] = r.reproduced === true ? ['yes', 'reproduced'] : r.reproduced === false ? ['no', 'not reproduced'] : ['unknown', 'cannot tell'];
      const name = FINDING_NAMES[r.finding] ?? r.finding;
      const ds = r.dataset ? ` <span class="ds">(${escapeHtml(r.dataset)})</span>` : '';
      return `<li><span class="badge ${cls}">${label}</span> <strong>${escapeHtml(name)}</strong>${ds}: ${escapeHtml(r.sentence)}</li>`;
    });
    parts.push(`<ul class="verdicts">${items.join('\n')}</ul>`);
  } else parts.push('<p class="missing">No verdicts (<code>reproduces</code> is empty or absent).</p>');

  const entries = Object.entries(report.findings ?? {}).filter((e): e is [string, DatasetFindings] => !!e[1]);
  if (entries.length === 0) {
    parts.push('<p class="missing">No findings were computed.</p>');
    return `<section id="findings">${parts.join('\n')}</section>`;
  }
  parts.push('<p class="note">Every number: mean over prompts with its 95% bootstrap interval in brackets.</p>');
  const sides = ['positive', 'negative'] as const;
  const cov = entries.flatMap(([n, f]) =>
    sides.map((s) => {
      const c = f.coverage?.[s];
      const b = f.coverage_before_collapse?.[s];
      const before = f.coverage_before_collapse === undefined ? [] : [b ? fmtCi(b) : 'nothing before the collapse', b ? fmtLambda(b.lambda) : '—', b && b.limit !== null ? fmtLambda(b.limit) : b ? 'none' : '—'];
      return [escapeHtml(n), s, c ? fmtCi(c) : '—', c ? fmtLambda(c.lambda) : '—', ...before];
    }),
  );
  const withBefore = entries.some(([, f]) => f.coverage_before_collapse !== undefined);
  parts.push(
    '<h3>Coverage of the likelihood shift</h3><p class="note">Positive side: the highest mean normalised shift any λ &gt; 0 reaches (1 = all the way to DPO). Negative side: 1 − the lowest mean shift any λ &lt; 0 reaches (1 = all the way back to SFT).' +
      (withBefore ? ' "Before collapse": the same over the λ below that side\'s collapse λ only (past it the outputs are broken text, whose likelihood shift says nothing about behaviour); the universal-shift verdict uses it.' : '') +
      '</p>' +
      table(['dataset', 'side', 'coverage (any λ)', 'at λ', ...(withBefore ? ['before collapse', 'at λ', 'collapse λ'] : [])], cov),
  );
  const ranged = entries.filter(([, f]) => f.range !== undefined);
  if (ranged.length > 0) {
    parts.push('<h3>Range (judge steering shift)</h3><p class="note">mean(DPO anchor) − mean(SFT anchor) of the judge\'s Steering Shift.</p>' + table(['dataset', 'range'], ranged.map(([n, f]) => [escapeHtml(n), f.range ? fmtCi(f.range) : 'no judge steering shift'])));
  }
  const col = entries.flatMap(([n, f]) => sides.map((s) => [escapeHtml(n), s, ...collapseCell(f.collapse_lambda?.[s])]));
  parts.push(
    '<h3>Collapse λ</h3><p class="note">Smallest |λ| on a side where mean rep4 ≥ 0.2, validity &lt; 80%, or mean judge quality falls 30% below the unsteered model\'s; each criterion\'s own λ beside it.</p>' +
      table(['dataset', 'side', 'collapse λ', 'criterion', 'rep4 λ', 'validity λ', 'quality λ'], col),
  );
  const asym = entries.flatMap(([n, f]) =>
    sides.map((s) => {
      const a = f.asymmetry?.[s];
      return a
        ? [escapeHtml(n), s, escapeHtml(a.expected), fmtCi(a.spearman), String(a.direction_changes), fmt(a.max_isotonic_deviation)]
        : [escapeHtml(n), s, '—', '—', '—', '—'];
    }),
  );
  parts.push(
    '<h3>Asymmetry</h3><p class="note">Shift versus |λ| per side, the anchor at |λ| = 0 included: Spearman ρ, direction changes, and the largest deviation from the isotonic fit in the expected direction.</p>' +
      table(['dataset', 'side', 'expected', 'Spearman ρ', 'direction changes', 'max isotonic deviation'], asym),
  );
  const ref = entries.flatMap(([n, f]) => {
    const r = f.refusal_paradox;
    if (!r) return [[escapeHtml(n), '—', '—', '—']];
    return [
      [escapeHtml(n), 'SFT anchor', ...refusalCells(r.sft)],
      [escapeHtml(n), 'DPO anchor', ...refusalCells(r.dpo)],
      ...[...(r.steered ?? [])].sort((a, b) => a.lambda - b.lambda).map((s) => [escapeHtml(n), `λ = ${fmtLambda(s.lambda)}`, ...refusalCells(s)]),
    ];
  });
  parts.push('<h3>Refusal paradox</h3><p class="note">Refusal rate and mean length (characters) of the outputs that are refusals.</p>' + table(['dataset', 'model', 'refusal rate', 'mean refusal chars'], ref));
  return `<section id="findings">${parts.join('\n')}</section>`;
}

function figure(c: ChartDef, svg: string): string {
  return `<figure class="chart" data-chart="${escapeHtml(c.id)}">${svg}<figcaption>${escapeHtml(c.caption).replace(/`([^`]+)`/g, '<code>$1</code>')}</figcaption></figure>`;
}

/**
 * Charts: per dataset, then per layer with the extraction's summary. `svgs[i]` renders `charts[i]`.
 *
 * @example
 * const c = { id: 'lambda:hh:rep4', group: 'dataset', dataset: 'hh', title: 'rep4', caption: 'rep4 (`rep4`)', spec: {} };
 * const s = chartsSection({ datasets: { hh: { prompts: 3 } } }, [c], ['<svg></svg>']);
 * assert(s.includes('data-chart="lambda:hh:rep4"><svg></svg>') && s.includes('<code>rep4</code>') && s.includes('No extraction'));
 */
export function chartsSection(report: ReportJson, charts: ChartDef[], svgs: string[]): string {
  const parts: string[] = ['<h2>Charts</h2>'];
  const byDataset = new Map<string, string[]>();
  charts.forEach((c, i) => {
    const key = c.group === 'dataset' ? c.dataset! : '';
    byDataset.set(key, [...(byDataset.get(key) ?? []), figure(c, svgs[i]!)]);
  });
  for (const name of Object.keys(report.datasets ?? {})) {
    const prompts = report.datasets?.[name]?.prompts;
    const figs = byDataset.get(name) ?? [];
    parts.push(`<h3 id="ds-${escapeHtml(name)}">${escapeHtml(name)}${prompts !== undefined ? ` <span class="ds">(${fmt(prompts)} prompts)</span>` : ''}</h3>`);
    parts.push(figs.length > 0 ? `<div class="grid">${figs.join('\n')}</div>` : '<p class="missing">No metric of this dataset has values.</p>');
  }
  const ex = extractionOf(report);
  parts.push('<h3 id="extraction">Extraction, per layer</h3>');
  if (ex) {
    const d = ex.diagnostics;
    const s = ex.spectral;
    const bits = [
      d?.pairs !== undefined && `${fmt(d.pairs)} pairs`,
      d?.method && `method <code>${escapeHtml(String(d.method))}</code>`,
      d?.component !== undefined && `component ${text(d.component)}`,
      d?.filter && Object.keys(d.filter).length > 0 && `filter <code>${escapeHtml(JSON.stringify(d.filter))}</code>`,
      s?.samples !== undefined && `spectral on ${fmt(s.samples)} samples${s.cap !== undefined ? ` (cap ${fmt(s.cap)})` : ''}`,
    ].filter(Boolean);
    if (bits.length > 0) parts.push(`<p>${bits.join(' · ')}</p>`);
  }
  const layerFigs = charts.map((c, i) => (c.group === 'layer' ? figure(c, svgs[i]!) : '')).filter((f) => f !== '');
  parts.push(layerFigs.length > 0 ? `<div class="grid">${layerFigs.join('\n')}</div>` : '<p class="missing">No extraction diagnostics in this report.</p>');
  const aqi = aqiSection(report, charts, svgs);
  if (aqi) parts.push(aqi);
  return `<section id="charts">${parts.join('\n')}</section>`;
}

/**
 * The AQI part of the charts section (only when the report carries aqi.json): its settings, a
 * table of the overall indices per model (t-SNE and unreduced side by side, raw CHI and XB beside
 * the AQI) and the AQI charts.
 *
 * @example
 * const report = { aqi: { scopes: ['overall'], config: { texts: 4, per_cell: 1, hook: 'ln_final.hook_normalized' }, models: [
 *   { model: 'sft', lambda: 0, anchor: true, scopes: { overall: { tsne: { chi: 2, xb: 1, aqi: 26.89 }, raw: { chi: 3, xb: 0.5, aqi: 26.89 } } } }] } };
 * const h = aqiSection(report, [], []);
 * assert(h.includes('id="aqi"') && h.includes('26.89') && h.includes('<td>3</td>'));
 * assert(aqiSection({}, [], []) === '');
 */
export function aqiSection(report: ReportJson, charts: ChartDef[], svgs: string[]): string {
  const a = aqiOf(report);
  if (!a) return '';
  const c = a.config;
  const head = ['model', 'λ', 'AQI (t-SNE)', 'CHI (t-SNE)', 'XB (t-SNE)', 'AQI (unreduced)', 'CHI (unreduced)', 'XB (unreduced)'];
  const rows = a.models.map((m) => {
    const t = m.scopes.overall?.tsne;
    const r = m.scopes.overall?.raw;
    // AQI with 2 decimals: the anchors' 26.89 / 73.11 read as the spec writes them
    const q = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : '—');
    return [escapeHtml(m.model + (m.anchor ? ' (anchor)' : '')), fmtLambda(m.lambda), q(t?.aqi), fmt(t?.chi), fmt(t?.xb), q(r?.aqi), fmt(r?.chi), fmt(r?.xb)];
  });
  const figs = charts.map((ch, i) => (ch.group === 'aqi' ? figure(ch, svgs[i]!) : '')).filter((f) => f !== '');
  const settings = [
    c.texts !== undefined && `${text(c.texts)} LITMUS texts (${text(c.per_cell)} per axiom and label)`,
    typeof c.hook === 'string' && `embeddings: mean of <code>${escapeHtml(c.hook)}</code> over every token`,
    c.seed !== undefined && `seed ${text(c.seed)}`,
  ].filter(Boolean);
  return [
    '<h3 id="aqi">Latent geometry: Alignment Quality Index</h3>',
    settings.length > 0 ? `<p>${settings.join(' · ')}</p>` : '',
    a.note ? `<p>${escapeHtml(a.note)}</p>` : '',
    table(head, rows, 'aqi'),
    figs.length > 0 ? `<div class="grid">${figs.join('\n')}</div>` : '<p class="missing">No AQI values to chart.</p>',
  ].join('\n');
}

function exampleBody(dataset: string, p: ExamplePrompt): string {
  const outs = [...p.outputs].sort((a, b) => a.lambda - b.lambda || a.model.localeCompare(b.model));
  const rows = outs.map((o) => {
    const kind = o.lambda === 0 ? `${o.model.toUpperCase()} anchor` : `${o.model.toUpperCase()} steered`;
    return (
      `<tr class="out" data-lambda="${escapeHtml(fmtLambda(o.lambda))}" data-model="${escapeHtml(o.model)}">` +
      `<td class="num">${fmtLambda(o.lambda)}</td><td>${escapeHtml(kind)}</td><td>${o.style ? escapeHtml(o.style) : '—'}</td>` +
      `<td><div class="text">${escapeHtml(o.text)}</div></td></tr>`
    );
  });
  return (
    `<tbody data-dataset="${escapeHtml(dataset)}"><tr class="prompt"><th colspan="4">#${fmt(p.prompt_index)} · ${escapeHtml(p.prompt)}</th></tr>\n` +
    rows.join('\n') +
    '</tbody>'
  );
}

/**
 * Examples: per dataset, each prompt's outputs by lambda; filterable by a script, readable without.
 *
 * @example
 * const e = examplesSection({ examples: { hh: [{ prompt_index: 4, prompt: 'Q & A', outputs: [
 *   { model: 'dpo', lambda: -0.5, text: '</td><script>x</script>' }, { model: 'sft', lambda: 0, text: 'ok', style: 'blunt' }] }] } });
 * assert(e.includes('Q &amp; A') && e.includes('&lt;/td&gt;&lt;script&gt;') && !e.includes('<script>x'));
 * assert(e.indexOf('data-lambda="-0.5"') < e.indexOf('data-lambda="0"') && e.includes('SFT anchor'));
 */
export function examplesSection(report: ReportJson): string {
  const sets = Object.entries(report.examples ?? {}).filter(([, ps]) => Array.isArray(ps) && ps.length > 0);
  if (sets.length === 0) return '<section id="examples"><h2>Example outputs</h2><p class="missing">No example outputs in this report.</p></section>';
  const lambdas = [...new Set(sets.flatMap(([, ps]) => ps.flatMap((p) => p.outputs.map((o) => o.lambda))))].sort((a, b) => a - b);
  const options = (vals: string[]): string => ['<option value="">all</option>', ...vals.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`)].join('');
  const controls =
    '<div class="filters" id="filters" hidden>' +
    `<label>dataset <select id="f-dataset">${options(sets.map(([n]) => n))}</select></label> ` +
    `<label>λ <select id="f-lambda">${options(lambdas.map(fmtLambda))}</select></label> ` +
    '<label>text <input id="f-text" type="search" placeholder="words in prompt or output"></label> <span id="f-count"></span></div>';
  const tables = sets.map(
    ([name, ps]) =>
      `<details open data-dataset="${escapeHtml(name)}"><summary>${escapeHtml(name)} <span class="ds">(${ps.length} prompts)</span></summary>` +
      `<table class="examples"><thead><tr><th>λ</th><th>model</th><th>style</th><th>output</th></tr></thead>\n${ps.map((p) => exampleBody(name, p)).join('\n')}</table></details>`,
  );
  return `<section id="examples"><h2>Example outputs</h2><p class="note">Model outputs verbatim (escaped; they are untrusted text). λ = 0 rows are the unsteered anchors.</p>${controls}\n${tables.join('\n')}</section>`;
}

/**
 * The list of what the report lacks; empty string when nothing is missing.
 *
 * @example
 * assert(missingSection([]) === '' && missingSection(['no `rep4`']).includes('<li>no <code>rep4</code></li>'));
 */
export function missingSection(missing: string[]): string {
  if (missing.length === 0) return '';
  const items = missing.map((m) => `<li>${escapeHtml(m).replace(/`([^`]+)`/g, '<code>$1</code>')}</li>`).join('\n');
  return `<section id="missing"><h2>Not in this report</h2><ul>${items}</ul></section>`;
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #fff; margin: 0 auto; padding: 16px 24px 48px; max-width: 1240px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
nav a { margin-right: 14px; color: #1f5fa0; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { border: 1px solid #d6d6d6; padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { background: #f2f4f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: #555; font-size: 12px; white-space: nowrap; }
.note { color: #444; font-size: 13px; margin: 4px 0; }
.missing { color: #8a4b00; }
.meta, .ds { color: #555; font-weight: normal; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f4f4f4; padding: 0 3px; border-radius: 3px; word-break: break-all; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; color: #fff; }
.badge.yes { background: #2b7a3d; } .badge.no { background: #b3261e; } .badge.unknown { background: #6b6b6b; }
ul.verdicts li { margin: 4px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(390px, 1fr)); gap: 14px; }
figure.chart { margin: 0; border: 1px solid #e2e2e2; border-radius: 6px; padding: 8px; background: #fff; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #444; margin-top: 4px; }
table.config td:first-child { white-space: nowrap; }
table.examples { width: 100%; table-layout: fixed; }
table.examples th:nth-child(1) { width: 48px; } table.examples th:nth-child(2) { width: 110px; } table.examples th:nth-child(3) { width: 90px; }
table.examples tr.prompt th { background: #eef3fa; font-weight: 600; white-space: pre-wrap; word-break: break-word; }
div.text { white-space: pre-wrap; word-break: break-word; max-height: 16em; overflow: auto; font-size: 13px; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
.filters { margin: 8px 0; font-size: 13px; } .filters input { width: 220px; }
section#missing { background: #fff8ec; border: 1px solid #f0d8ad; border-radius: 6px; padding: 0 14px 6px; margin-top: 16px; }
section#missing h2 { border: none; }
`;

// Filters the examples table in place; the page is complete without it.
const SCRIPT = `
(function () {
  var box = document.getElementById('filters'); if (!box) return; box.hidden = false;
  var ds = document.getElementById('f-dataset'), la = document.getElementById('f-lambda'), tx = document.getElementById('f-text'), count = document.getElementById('f-count');
  function apply() {
    var d = ds.value, l = la.value, t = tx.value.trim().toLowerCase(), shown = 0;
    document.querySelectorAll('#examples details').forEach(function (det) { det.hidden = d !== '' && det.getAttribute('data-dataset') !== d; });
    document.querySelectorAll('#examples tbody').forEach(function (tb) {
      var promptHit = t === '' || tb.rows[0].textContent.toLowerCase().indexOf(t) >= 0, any = false;
      tb.querySelectorAll('tr.out').forEach(function (tr) {
        var ok = (l === '' || tr.getAttribute('data-lambda') === l) && (promptHit || tr.textContent.toLowerCase().indexOf(t) >= 0);
        tr.hidden = !ok; if (ok) { any = true; shown++; }
      });
      tb.hidden = !any;
    });
    count.textContent = shown + ' outputs shown';
  }
  [ds, la].forEach(function (e) { e.addEventListener('change', apply); }); tx.addEventListener('input', apply); apply();
})();
`;

/**
 * The whole page around its sections: inline CSS, a CSP that forbids every fetch, the filter script.
 *
 * @example
 * const html = page('R & D', ['<p>x</p>', '']);
 * assert(html.startsWith('<!DOCTYPE html>') && html.includes('<title>R &amp; D</title>') && html.includes("default-src 'none'"));
 */
export function page(title: string, sections: string[]): string {
  const nav = '<nav><a href="#header">Setup</a><a href="#findings">Findings</a><a href="#charts">Charts</a><a href="#extraction">Extraction</a><a href="#examples">Examples</a></nav>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${nav}
${sections.filter((s) => s !== '').join('\n')}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
