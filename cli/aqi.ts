/**
 * `dsteer aqi`: the Alignment Quality Index of an SFT/DPO pair along a steering grid (eval/aqi.ts,
 * DSTEER-SPEC.md section 5) on a LITMUS file. Writes aqi.json into the run directory (--run, where
 * `dsteer eval`/`report` pick it up for report.json and report.html) or into --out, and prints a
 * table of the overall raw CHI and XB and the AQI per model.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { FileSource } from '../engine/byte-source-node.js';
import { DsteerError } from '../engine/errors.js';
import { collectLitmus } from '../data/readers/litmus.js';
import { formatReport } from '../data/readers/report.js';
import { sameTokenization } from '../models/tokenizer.js';
import { readVectorFile } from '../steering/vector.js';
import { AQI_LAMBDAS, runAqi, type AqiIndices, type AqiResult } from '../eval/aqi.js';
import { parseChoice, parseGrid, parseIntIn, parseIntList } from './args.js';
import { chooseBackend, note, openModel, printJson } from './common.js';
import { commonOptions } from './options.js';
import { progress } from './progress.js';

export interface AqiFlags {
  sft: string;
  dpo: string;
  vector: string;
  layers?: string;
  data: string;
  perCell: string;
  lambdas: string;
  site: string;
  seed: string;
  iterations: string;
  run?: string;
  out?: string;
  device: string;
  weightDtype: string;
  format: string;
}

const f3 = (x: number | null | undefined, d = 3): string => (x === null || x === undefined ? '-' : x.toFixed(d));

/** The overall table: one line per model, t-SNE and unreduced indices side by side. */
export function aqiTable(r: AqiResult): string {
  const head = ['model', 'lambda', 'AQI', 'CHI', 'XB', 'AQI raw', 'CHI raw', 'XB raw'];
  const cell = (i: AqiIndices | undefined) => [f3(i?.aqi, 2), f3(i?.chi), f3(i?.xb, 4)];
  const rows = r.models.map((m) => [m.model + (m.anchor ? ' (anchor)' : ''), String(m.lambda), ...cell(m.scopes.overall?.tsne), ...cell(m.scopes.overall?.raw)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [
    `overall, ${r.config.texts} texts (${r.config.per_cell} per axiom and label), ${r.config.hook}; t-SNE 3-D (AQI, CHI, XB) and unreduced (raw)`,
    line(head),
    ...rows.map(line),
    'CHI: higher = better separated; XB: lower = better. AQI is anchored on the two anchors (26.89/73.11 by construction): compare the raw indices.',
  ].join('\n');
}

/** Runs `dsteer aqi` with parsed flags. */
export async function runAqiCommand(f: AqiFlags): Promise<void> {
  const format = parseChoice('--format', f.format, ['text', 'json'] as const);
  const site = parseChoice('--site', f.site, ['post-norm', 'raw'] as const);
  const perCell = parseIntIn('--per-cell', f.perCell, 3);
  const seed = parseIntIn('--seed', f.seed, 0, 2 ** 32 - 1);
  const iterations = parseIntIn('--iterations', f.iterations, 1, 100_000);
  const lambdas = parseGrid('--lambdas', f.lambdas);
  const layers = f.layers === undefined ? null : parseIntList('--layers', f.layers);
  if ((f.run === undefined) === (f.out === undefined)) throw new DsteerError('give exactly one of --run DIR (a sweep run directory) or --out DIR (a standalone result)', 2);
  const dir = (f.run ?? f.out)!;
  if (f.run !== undefined && !existsSync(join(f.run, 'manifest.json'))) throw new DsteerError(`--run: ${join(f.run, 'manifest.json')} not found; a run directory is made by dsteer sweep (or use --out DIR)`, 2);

  const src = await FileSource.open(f.data);
  const { rows, report } = await collectLitmus(src).finally(() => src.close());
  note(formatReport(report));
  if (rows.length === 0) throw new DsteerError(`${f.data}: no usable LITMUS rows (needs input, axiom, safety_label)`);
  const vsrc = await FileSource.open(f.vector);
  const sv = await readVectorFile(vsrc).finally(() => vsrc.close());
  const backend = await chooseBackend(f.device, f.weightDtype);
  note(backend.note);
  const sft = await openModel(f.sft, backend.kernels);
  const dpo = await openModel(f.dpo, backend.kernels);
  const diff = sameTokenization(sft.tokenizer, dpo.tokenizer, ['Hello there.', rows[0]!.input]);
  if (diff) throw new DsteerError(`--dpo ${f.dpo}: ${diff}`);
  if (site === 'post-norm') note('site: post-norm (ln_final.hook_normalized), the authors\' choice; --site raw reads the last block\'s residual');

  const bar = progress('aqi', lambdas.filter((l) => l !== 0).length + 2);
  const result = await runAqi(sft, dpo, sv, rows, {
    lambdas,
    layers,
    site,
    perCell,
    seed,
    iterations,
    onWarning: (w) => note(`warning: ${w}`),
    onProgress: (done, _total, label) => bar.update(done, label),
  });
  bar.done(`models, t-SNE ${result.timing.tsne_s.toFixed(1)} s of ${result.timing.total_s.toFixed(1)} s`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'aqi.json');
  writeFileSync(path + '.tmp', JSON.stringify(result) + '\n');
  renameSync(path + '.tmp', path);
  note(`wrote ${path}${f.run !== undefined ? ' (dsteer eval / report include it in report.json and report.html)' : ''}`);
  if (format === 'json') printJson(result);
  else process.stdout.write(aqiTable(result) + '\n');
}

export function registerAqi(program: Command): void {
  const c = program
    .command('aqi')
    .description('Alignment Quality Index along a steering grid: 3-D t-SNE + Calinski-Harabasz and Xie-Beni of safe vs unsafe LITMUS embeddings, per axiom and overall, anchored on SFT and DPO; writes aqi.json')
    .requiredOption('--sft <dir>', 'the SFT model folder (steered with lambda > 0)')
    .requiredOption('--dpo <dir>', 'the DPO model folder (steered with lambda < 0)')
    .requiredOption('--vector <file>', 'steering vector file (safetensors)')
    .option('--layers <list>', 'layers to steer at hook_resid_post, e.g. 5,6 (default: every vector in the file)')
    .requiredOption('--data <file>', 'LITMUS file (.csv with input,axiom,safety_label, or JSON lines)')
    .option('--per-cell <n>', 'texts per (axiom, label), lowered with a warning when a cell is short', '300')
    .option('--lambdas <grid>', 'signed lambda grid a:b:step or a comma list (write --lambdas=-1,1); the anchors always run', AQI_LAMBDAS.join(','))
    .addOption(new Option('--site <site>', 'embedding: post-norm = ln_final.hook_normalized (the authors\'), raw = the last block\'s hook_resid_post').choices(['post-norm', 'raw']).default('post-norm'))
    .option('--seed <s>', 'seed of the sample and the t-SNE initialisation', '42')
    .option('--iterations <n>', 't-SNE iterations (250 of them with early exaggeration)', '500')
    .option('--run <dir>', 'sweep run directory: aqi.json joins its report')
    .option('--out <dir>', 'folder for a standalone aqi.json');
  commonOptions(c).action(async (opts) => runAqiCommand(opts));
}
