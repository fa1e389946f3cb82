/**
 * `dsteer sweep`: a lambda sweep into a run directory (docs/RUNS.md): manifest.json, then
 * generations.jsonl appended row by row. Re-running the same command on the same --out resumes:
 * rows already written are skipped, a partial last line (a crash mid-write) is cut off and
 * rewritten, and a manifest whose models, vector, datasets or configuration differ is refused.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, ftruncateSync, writeFileSync, writeSync, readFileSync } from 'node:fs';
import { scanJsonl } from './jsonl.js';
import { basename, join } from 'node:path';
import { Option, type Command } from 'commander';
import { FileSource } from '../engine/byte-source-node.js';
import { DsteerError } from '../engine/errors.js';
import { detectPromptFormat, readPrompts, type PromptFormat } from '../data/readers/prompts.js';
import { formatReport, newReport } from '../data/readers/report.js';
import { sameTokenization } from '../models/tokenizer.js';
import { buildManifest, manifestDifference, type ManifestDataset, type SweepManifest } from '../steering/sweep-manifest.js';
import { promptListText, runSweep, sweepRowCount, type SweepConfig, type SweepDataset, type SweepPrompt } from '../steering/sweep.js';
import { readVectorFile, selectLayers } from '../steering/vector.js';
import { parseChoice, parseGrid, parseIntIn, parseIntList, parseNumber } from './args.js';
import { chooseBackend, note, openModel, printJson } from './common.js';
import { hashModelDir, sha256File, sha256Text } from './hash.js';
import { commonOptions } from './options.js';
import { progress } from './progress.js';

const VERSION = '0.1.0';
const FORMATS = ['auto', 'hh', 'harmfulqa', 'advbench', 'litmus', 'lines'] as const;

export interface SweepFlags {
  sft: string;
  dpo: string;
  vector: string;
  layers?: string;
  data: string;
  dataFormat: string;
  lambdas: string;
  maxPrompts?: string;
  maxNewTokens: string;
  temperature: string;
  topP: string;
  seed: string;
  steerPositions: string;
  preserveNorm: boolean;
  chatTemplate: boolean;
  batch: string;
  out?: string;
  device: string;
  weightDtype: string;
  format: string;
}

/** `a.jsonl.gz` -> `a`, `micro-hh.test.jsonl` -> `micro-hh.test`. */
function datasetName(file: string): string {
  return basename(file).replace(/\.gz$/i, '').replace(/\.[^.]*$/, '');
}

/** `--data FILE[,FILE...]`, each optionally `NAME=FILE`. */
export function parseDataFlag(v: string): { name: string; path: string }[] {
  const parts = v.split(',');
  if (parts.some((p) => p.trim() === '')) throw new DsteerError(`--data: "${v}" has an empty entry (expected FILE[,FILE...] or NAME=FILE)`, 2);
  const out = parts.map((p) => {
    const eq = p.indexOf('=');
    const name = eq > 0 ? p.slice(0, eq) : datasetName(p);
    const path = eq > 0 ? p.slice(eq + 1) : p;
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new DsteerError(`--data: dataset name "${name}" may use only letters, digits, ".", "_" and "-" (give NAME=FILE)`, 2);
    if (path === '') throw new DsteerError(`--data: "${p}" names no file`, 2);
    return { name, path };
  });
  const seen = new Set<string>();
  for (const d of out) {
    if (seen.has(d.name)) throw new DsteerError(`--data: two files have the dataset name "${d.name}"; name them with NAME=FILE`, 2);
    seen.add(d.name);
  }
  return out;
}

interface Existing {
  done: Set<string>;
  /** Bytes of complete lines (the file is cut here before appending). */
  goodBytes: number;
  partial: boolean;
}

/** Reads generations.jsonl: the keys of complete rows; a partial last line is reported, not used. */
export function readDoneKeys(path: string): Existing {
  const done = new Set<string>();
  const r = scanJsonl(path, (row, lineNo) => {
    const key = (row as { key?: unknown } | null)?.key;
    if (typeof key !== 'string') throw new DsteerError(`${path}: line ${lineNo} has no "key" field`);
    done.add(key);
  });
  return { done, goodBytes: r.validBytes, partial: r.tornTail };
}

async function loadPrompts(path: string, format: string, maxPrompts: number): Promise<{ prompts: SweepPrompt[]; format: PromptFormat }> {
  const src = await FileSource.open(path);
  const report = newReport(path);
  const prompts: SweepPrompt[] = [];
  try {
    const fmt = format === 'auto' ? await detectPromptFormat(src) : (format as PromptFormat);
    for await (const p of readPrompts(src, report, { format: fmt })) {
      prompts.push({ index: p.index, prompt: p.prompt, messages: p.messages });
      if (prompts.length >= maxPrompts) break;
    }
    note(`${formatReport(report)}; format ${fmt}; ${prompts.length} prompts`);
    if (prompts.length === 0) throw new DsteerError(`${path}: no usable prompts (format ${fmt})`);
    return { prompts, format: fmt };
  } finally {
    await src.close();
  }
}

const CONFIG_KEYS = ['modelType', 'dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'vocabSize', 'maxContext'] as const;

export async function runSweepCommand(f: SweepFlags): Promise<void> {
  const format = parseChoice('--format', f.format, ['text', 'json'] as const);
  const dataFormat = parseChoice('--data-format', f.dataFormat, FORMATS);
  const lambdas = parseGrid('--lambdas', f.lambdas);
  const maxPrompts = f.maxPrompts === undefined ? null : parseIntIn('--max-prompts', f.maxPrompts, 1);
  const temperature = parseNumber('--temperature', f.temperature);
  if (temperature < 0) throw new DsteerError(`--temperature: ${temperature} must be >= 0 (0 = greedy)`, 2);
  const topP = parseNumber('--top-p', f.topP);
  if (!(topP > 0 && topP <= 1)) throw new DsteerError(`--top-p: ${topP} must be in (0, 1]`, 2);
  const config: SweepConfig = {
    lambdas,
    layers: f.layers === undefined ? null : parseIntList('--layers', f.layers),
    maxNewTokens: parseIntIn('--max-new-tokens', f.maxNewTokens, 1),
    temperature,
    topP,
    seed: parseIntIn('--seed', f.seed, 0, 2 ** 32 - 1),
    steerPositions: parseChoice('--steer-positions', f.steerPositions, ['all', 'generated'] as const),
    preserveNorm: f.preserveNorm,
    chatTemplate: f.chatTemplate,
  };
  const batch = parseIntIn('--batch', f.batch, 1, 4096);
  sweepRowCount(lambdas, 1); // rejects duplicate lambdas before any loading
  if (!existsSync(f.vector)) throw new DsteerError(`--vector ${f.vector}: no such file (a vector file is written by dsteer extract)`, 2);
  for (const [flag, dir] of [['--sft', f.sft], ['--dpo', f.dpo]] as const) {
    if (!existsSync(join(dir, 'config.json'))) throw new DsteerError(`${flag} ${dir}: not a model folder (no config.json)`, 2);
  }
  const specs = parseDataFlag(f.data);
  const out = f.out ?? join('runs', `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const manifestPath = join(out, 'manifest.json');
  const genPath = join(out, 'generations.jsonl');
  if (existsSync(genPath) && !existsSync(manifestPath)) throw new DsteerError(`--out ${out}: has generations.jsonl but no manifest.json; use a new --out`, 2);

  const datasets: SweepDataset[] = [];
  const mDatasets: ManifestDataset[] = [];
  for (const d of specs) {
    const { prompts, format: fmt } = await loadPrompts(d.path, dataFormat, maxPrompts ?? Infinity);
    datasets.push({ name: d.name, prompts });
    mDatasets.push({ name: d.name, path: d.path, format: fmt, hash: await sha256File(d.path), prompts: prompts.length, prompt_hashes_sha256: sha256Text(promptListText(prompts)) });
  }
  const vsrc = await FileSource.open(f.vector);
  const sv = await readVectorFile(vsrc).finally(() => vsrc.close());
  const sites = selectLayers(sv, config.layers);
  const backend = await chooseBackend(f.device, f.weightDtype);
  note(backend.note);
  const manifest: SweepManifest = buildManifest({
    dsteer: VERSION,
    node: process.version,
    models: { sft: { path: f.sft, hash: await hashModelDir(f.sft) }, dpo: { path: f.dpo, hash: await hashModelDir(f.dpo) } },
    vector: { path: f.vector, hash: await sha256File(f.vector), layers: config.layers, sites },
    datasets: mDatasets,
    config,
    maxPrompts,
    device: backend.kernels.description.startsWith('webgpu') ? 'webgpu' : 'cpu',
  });
  let resuming = false;
  if (existsSync(manifestPath)) {
    let old: unknown;
    try {
      old = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch (e) {
      throw new DsteerError(`${manifestPath}: not valid JSON (${(e as Error).message})`);
    }
    const why = manifestDifference(old, manifest);
    if (why) throw new DsteerError(`--out ${out}: cannot resume, ${why}; use a new --out`, 2);
    resuming = true;
  }

  const sft = await openModel(f.sft, backend.kernels);
  const dpo = await openModel(f.dpo, backend.kernels);
  for (const k of CONFIG_KEYS) {
    if (sft.model.cfg[k] !== dpo.model.cfg[k]) throw new DsteerError(`--dpo ${f.dpo}: its config differs from --sft's (${k}: ${dpo.model.cfg[k]} vs ${sft.model.cfg[k]})`);
  }
  const diff = sameTokenization(sft.tokenizer, dpo.tokenizer, ['Hello there.', 'How do I fix a bike?', ...datasets.map((d) => d.prompts[0]!.prompt)]);
  if (diff) throw new DsteerError(`--dpo ${f.dpo}: ${diff}`);

  mkdirSync(out, { recursive: true });
  if (!resuming) {
    writeFileSync(manifestPath + '.tmp', JSON.stringify(manifest, null, 2) + '\n');
    renameSync(manifestPath + '.tmp', manifestPath);
  }
  const existing = readDoneKeys(genPath);
  const fd = openSync(genPath, 'a+');
  try {
    if (existing.partial) {
      note(`${genPath}: dropped a partial last line (it is recomputed)`);
      ftruncateSync(fd, existing.goodBytes);
    }
    if (existing.done.size > 0) note(`resuming ${out}: ${existing.done.size} rows already written`);
    const total = datasets.reduce((a, d) => a + sweepRowCount(lambdas, d.prompts.length), 0);
    const bar = progress('sweep', total);
    const t0 = performance.now();
    const summary = await runSweep(
      sft,
      dpo,
      sv,
      datasets,
      config,
      (row) => {
        writeSync(fd, JSON.stringify(row) + '\n');
      },
      {
        done: existing.done,
        maxBatch: batch,
        onProgress: (p) => bar.update(p.rowsDone, `rows, ${(p.tokens / Math.max(1e-9, (performance.now() - t0) / 1000)).toFixed(1)} tok/s`),
      },
    );
    fsyncSync(fd);
    const tps = summary.tokens / Math.max(1e-9, summary.seconds);
    bar.done(`rows, ${tps.toFixed(1)} tok/s`);
    if (summary.skippedLong > 0) note(`${summary.skippedLong} rows skipped: the prompt fills the model's context (${sft.model.cfg.maxContext} tokens)`);
    if (summary.clamped > 0) note(`${summary.clamped} rows had --max-new-tokens cut to fit the model's context (${sft.model.cfg.maxContext} tokens)`);
    const result = { out, rows_total: summary.rowsTotal, written: summary.written, skipped_done: summary.skippedDone, skipped_long: summary.skippedLong, clamped: summary.clamped, tokens: summary.tokens, seconds: +summary.seconds.toFixed(3), tokens_per_s: +tps.toFixed(2) };
    if (format === 'json') printJson(result);
    else {
      process.stdout.write(
        [`run: ${out}`, `rows: ${summary.written} written, ${summary.skippedDone} skipped as done${summary.skippedLong ? `, ${summary.skippedLong} skipped (too long)` : ''}, ${summary.rowsTotal} in the sweep`, `time: ${summary.seconds.toFixed(1)} s, ${summary.tokens} tokens generated (${tps.toFixed(1)} tok/s)`].join('\n') + '\n',
      );
    }
  } finally {
    closeSync(fd);
  }
}

export function registerSweep(program: Command): void {
  const c = program
    .command('sweep')
    .description('lambda sweep: +lambda steers the SFT model, -lambda the DPO model, plus both unsteered anchors; rows append to OUT/generations.jsonl (resumable)')
    .requiredOption('--sft <dir>', 'the SFT model folder (steered with lambda > 0)')
    .requiredOption('--dpo <dir>', 'the DPO model folder (steered with lambda < 0)')
    .requiredOption('--vector <file>', 'steering vector file (safetensors)')
    .option('--layers <list>', 'layers to steer at hook_resid_post, e.g. 5,6 (default: every vector in the file)')
    .requiredOption('--data <files>', 'benchmark files, comma-separated, each FILE or NAME=FILE (HH-RLHF .jsonl, HarmfulQA .json, AdvBench .csv, LITMUS, or .txt lines)')
    .addOption(new Option('--data-format <format>', 'force the benchmark format of every --data file').choices([...FORMATS]).default('auto'))
    .option('--lambdas <grid>', 'lambda grid a:b:step or a comma list (write --lambdas=-0.6:0.6:0.1); 0 = the anchors, always run', '-0.6:0.6:0.1')
    .option('--max-prompts <n>', 'use the first N prompts of each file (default: all)')
    .option('--max-new-tokens <n>', 'most tokens per output (cut to fit the context)', '256')
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', '0')
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1]', '1')
    .option('--seed <s>', 'sampling seed (row seed = seed + prompt index)', '0')
    .addOption(new Option('--steer-positions <which>', 'steer every position or generated tokens only').choices(['all', 'generated']).default('all'))
    .option('--preserve-norm', 'rescale each steered row to its norm before steering', false)
    .option('--no-chat-template', 'feed the prompt text raw instead of rendering the chat template')
    .option('--batch <n>', 'most sequences decoding at once', '16')
    .option('--out <dir>', 'run directory (default: runs/sweep-<timestamp>); an existing one is resumed');
  commonOptions(c).action(async (opts) => runSweepCommand(opts));
}
