/**
 * `dsteer demo`: the whole D-STEER experiment on the shipped micro pair (or any `dsteer train`
 * output folder), end to end, into one run directory:
 *   1. extraction on micro-hh.train (vector.safetensors + diagnostics + per-sample differences),
 *   2. the spectral analysis of those differences (spectral.json),
 *   3. lambda sweeps in both directions over the three micro benchmarks (HH, HarmfulQA, AdvBench),
 *   4. a reduced latent-geometry evaluation (AQI on a small LITMUS sample, a coarse grid),
 *   5. evaluation with the embedded micro-world judge, the findings,
 *   6. report.json, report.html and CSVs; a summary table and the verdicts on stdout.
 * Each step is the same code as its own command (extract, spectral, sweep, eval, report), so the
 * demo is also their integration test. Re-running with the same --out resumes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { DsteerError } from '../engine/errors.js';
import type { ReportDatasets } from '../eval/aggregate.js';
import { parseIntIn } from './args.js';
import { note } from './common.js';
import { reportOf, scoreRun, writeReportFiles } from './eval.js';
import { PAIR_FILTERS } from '../steering/extract.js';
import { runAqiCommand } from './aqi.js';
import { runExtract } from './extract.js';
import { packageRoot, readRun } from './run-dir.js';
import { runSpectralToFile } from './spectral.js';
import { runSweepCommand } from './sweep.js';

export interface DemoFlags {
  out?: string;
  world?: string;
  pairs: string;
  prompts: string;
  maxNewTokens: string;
  lambdas: string;
  layers?: string;
  read: string;
  filter: string;
  aqiPerCell: string;
  device: string;
  weightDtype: string;
}

/** The demo's lambda grid: 8 values per side (DSTEER-SPEC section 3's judged grid, extended to 1.0). */
export const DEMO_LAMBDAS = '-1,-0.8,-0.6,-0.5,-0.4,-0.3,-0.2,-0.1,0.1,0.2,0.3,0.4,0.5,0.6,0.8,1';

/** The reduced AQI grid of the demo (the full default is ±{0.05, ..., 1.0}). */
export const AQI_DEMO_LAMBDAS = [-1, -0.5, 0.5, 1];

/** Where the pair and its data are: the shipped assets, or a `dsteer train --out` folder. */
function worldPaths(world: string | undefined): { sft: string; dpo: string; data: string } {
  if (world === undefined) {
    const root = packageRoot();
    return { sft: join(root, 'assets/micro/sft'), dpo: join(root, 'assets/micro/dpo'), data: join(root, 'assets/data') };
  }
  const p = { sft: join(world, 'sft'), dpo: join(world, 'dpo'), data: join(world, 'data') };
  for (const [k, v] of Object.entries(p)) {
    if (!existsSync(v)) throw new DsteerError(`--world ${world}: ${k}/ is missing (give a folder written by dsteer train --out)`, 2);
  }
  return p;
}

const STEPS = 6;
const step = (n: number, what: string): void => note(`\n== ${n}/${STEPS} ${what} ==`);
const f2 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));

/** The per-dataset summary table printed at the end. */
function summaryTable(datasets: ReportDatasets): string {
  const head = ['dataset', 'prompts', 'shift SFT', 'shift DPO', 'best +λ shift', 'best -λ shift', 'refusals SFT', 'refusals DPO', 'refusal chars SFT', 'refusal chars DPO'];
  const rows: string[][] = [head];
  for (const [name, d] of Object.entries(datasets)) {
    const m = (a: { metrics: Record<string, { mean: number | null } | null> }, k: string): number | null => a.metrics[k]?.mean ?? null;
    const pos = d.lambdas.filter((l) => l.lambda > 0);
    const neg = d.lambdas.filter((l) => l.lambda < 0);
    const best = (xs: typeof pos, pick: (a: number, b: number) => boolean): string => {
      let b: (typeof pos)[number] | null = null;
      for (const l of xs) {
        const v = m(l, 'shift');
        if (v !== null && (b === null || pick(v, m(b, 'shift')!))) b = l;
      }
      return b ? `${f2(m(b, 'shift'))} (λ ${b.lambda > 0 ? '+' : ''}${b.lambda})` : '-';
    };
    rows.push([
      name, String(d.prompts), f2(m(d.anchors.sft, 'shift')), f2(m(d.anchors.dpo, 'shift')), best(pos, (a, b) => a > b), best(neg, (a, b) => a < b),
      f2(m(d.anchors.sft, 'refusal_rate')), f2(m(d.anchors.dpo, 'refusal_rate')), f2(m(d.anchors.sft, 'refusal_chars')), f2(m(d.anchors.dpo, 'refusal_chars')),
    ]);
  }
  const w = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

/** One summary line on the latent geometry: the anchors' raw indices (the anchored AQI of two anchors is fixed). */
function aqiLines(path: string): string[] {
  if (!existsSync(path)) return [];
  type Idx = { chi: number | null; xb: number | null };
  const a = JSON.parse(readFileSync(path, 'utf8')) as { config: { texts: number }; models: { model: string; lambda: number; scopes: Record<string, { raw: Idx | null; tsne: Idx | null }> }[] };
  const anchor = (m: string) => a.models.find((x) => x.model === m && x.lambda === 0)?.scopes['overall']?.raw ?? null;
  const s = anchor('sft');
  const d = anchor('dpo');
  if (!s || !d || s.chi === null || d.chi === null || s.xb === null || d.xb === null) return [];
  const better = d.chi > s.chi && d.xb < s.xb ? 'yes' : d.chi < s.chi && d.xb > s.xb ? 'no' : 'mixed';
  return [
    '',
    `latent geometry (${a.config.texts} LITMUS texts, unreduced final-norm embeddings, safe vs unsafe): CHI SFT ${f2(s.chi)} vs DPO ${f2(d.chi)}, XB SFT ${f2(s.xb)} vs DPO ${f2(d.xb)}; DPO separates better: ${better} (aqi.json, report.html)`,
  ];
}

export async function runDemo(f: DemoFlags): Promise<void> {
  const t0 = performance.now();
  const pairs = parseIntIn('--pairs', f.pairs, 2);
  const aqiPerCell = parseIntIn('--aqi-per-cell', f.aqiPerCell, 3);
  const prompts = parseIntIn('--prompts', f.prompts, 1);
  const maxNewTokens = parseIntIn('--max-new-tokens', f.maxNewTokens, 1);
  const w = worldPaths(f.world);
  const out = f.out ?? join('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(out, { recursive: true });
  const vector = join(out, 'vector.safetensors');
  const common = { device: f.device, weightDtype: f.weightDtype };
  note(`dsteer demo: the D-STEER experiment on ${f.world ?? 'the shipped micro pair (assets/micro)'} into ${out}`);

  step(1, `extraction: up to ${pairs} pairs of micro-hh.train, read at the ${f.read === 'prompt-end' ? 'last prompt token' : 'last token'}`);
  if (existsSync(vector)) note(`${vector} exists: reusing it`);
  else {
    await runExtract({
      sft: w.sft, dpo: w.dpo, data: join(w.data, 'micro-hh.train.jsonl'), out: vector, maxPairs: String(pairs), filter: f.filter,
      promptFormat: 'one-message', chatTemplate: true, method: 'mean', spectralSamples: '2000', batch: '8', read: f.read, format: 'text', ...common,
    });
  }

  step(2, 'spectral analysis of the per-sample differences');
  await runSpectralToFile(vector, join(out, 'spectral.json'));

  const nLayers = (JSON.parse(readFileSync(join(w.sft, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers;
  const layers = f.layers ?? Array.from({ length: nLayers - Math.floor(nLayers / 2) }, (_, i) => Math.floor(nLayers / 2) + i).join(',');
  step(3, `lambda sweeps: layers ${layers}, ${prompts} prompts per benchmark, λ ∈ {${f.lambdas}}, ${maxNewTokens} new tokens, greedy`);
  await runSweepCommand({
    sft: w.sft, dpo: w.dpo, vector, layers,
    data: ['hh', 'harmfulqa', 'advbench'].map((n) => `${n}=${join(w.data, n === 'hh' ? 'micro-hh.test.jsonl' : n === 'harmfulqa' ? 'micro-harmfulqa.json' : 'micro-advbench.csv')}`).join(','),
    dataFormat: 'auto', lambdas: f.lambdas, maxPrompts: String(prompts), maxNewTokens: String(maxNewTokens), temperature: '0', topP: '1', seed: '0',
    steerPositions: 'all', preserveNorm: false, chatTemplate: true, batch: '32', out, format: 'text', ...common,
  });

  step(4, `latent geometry (AQI), reduced: ${aqiPerCell} LITMUS texts per (axiom, label), λ ∈ {${AQI_DEMO_LAMBDAS.join(', ')}} and the anchors (the full run is dsteer aqi: 300 per cell, 26 models)`);
  if (existsSync(join(out, 'aqi.json'))) note(`${join(out, 'aqi.json')} exists: reusing it`);
  else {
    await runAqiCommand({
      sft: w.sft, dpo: w.dpo, vector, layers, data: join(w.data, 'micro-litmus.csv'), perCell: String(aqiPerCell), lambdas: AQI_DEMO_LAMBDAS.join(','),
      site: 'post-norm', seed: '42', iterations: '500', run: out, format: 'text', ...common,
    });
  }

  step(5, 'evaluation: metrics, likelihood shift, embedded judge, findings');
  const run = readRun(out);
  const judge = await scoreRun(run, { judge: 'auto', ...common });

  step(6, 'report');
  const report = reportOf(run, judge, 0, 1000);
  const html = await writeReportFiles(out, report);

  const secs = (performance.now() - t0) / 1000;
  const lines = [
    '',
    'likelihood steering shift (0 = SFT anchor, 1 = DPO anchor), refusal rate and mean refusal length (chars):',
    summaryTable(report.datasets),
    '',
    'the paper\'s findings on this pair:',
    ...report.reproduces.map((r) => `  [${r.reproduced === true ? 'reproduced' : r.reproduced === false ? 'NOT reproduced' : 'cannot tell'}] ${r.sentence}`),
    ...aqiLines(join(out, 'aqi.json')),
    '',
    `report: ${html}`,
    `demo finished in ${secs.toFixed(0)} s`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  writeFileSync(join(out, 'summary.txt'), lines.join('\n') + '\n');
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job: the whole D-STEER experiment on the shipped micro SFT/DPO pair (extract, spectral, sweeps both ways, judge, findings, report.html)')
    .option('--out <dir>', 'run directory (default: runs/demo-<timestamp>); an existing one resumes')
    .option('--world <dir>', 'a folder written by dsteer train --out (sft/, dpo/, data/) instead of the shipped pair')
    .option('--pairs <n>', 'extraction: preference pairs to keep from micro-hh.train', '150')
    .option('--prompts <n>', 'sweeps: prompts per benchmark', '16')
    .option('--max-new-tokens <n>', 'sweeps: tokens per output', '48')
    .option('--lambdas <grid>', 'sweeps: lambda grid (a:b:step or a list; write --lambdas=-1:1:0.25)', DEMO_LAMBDAS)
    .option('--layers <list>', 'layers to steer (default: the upper half)')
    .addOption(new Option('--read <position>', 'extraction read position: the last prompt token (where the micro models decide the reply\'s style) or the last token of prompt + answer (the paper\'s)').choices(['prompt-end', 'last']).default('prompt-end'))
    .option('--aqi-per-cell <n>', 'AQI: LITMUS texts per (axiom, label) (dsteer aqi uses 300)', '20')
    .addOption(new Option('--filter <name>', 'extraction: which pairs to keep (see dsteer extract --help)').choices([...PAIR_FILTERS]).default('dpo-prefers-chosen'))
    .addOption(new Option('--device <device>', 'backend: auto = a hardware GPU when one exists, else the CPU').choices(['auto', 'cpu', 'webgpu']).default('auto'))
    .addOption(new Option('--weight-dtype <dtype>', 'GPU weight storage').choices(['f32', 'f16']).default('f32'))
    .action(async (opts) => runDemo(opts));
}
