/**
 * `dsteer eval --run DIR`: scores a sweep's generations (scores.jsonl, resumable), then writes
 * report.json with the per-lambda aggregates and the findings, and prints the findings.
 * `dsteer report --run DIR`: rebuilds report.json from the rows (no model needed) and writes
 * report.html and the CSV tables.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { DsteerError } from '../engine/errors.js';
import { embeddedJudgeApplies, evaluateGenerations, type JudgeChoice } from '../eval/evaluate.js';
import { findingSentences } from '../eval/findings.js';
import { buildReport, type JudgeInfo } from '../eval/report-data.js';
import { renderReport } from '../eval/report/index.js';
import type { ReportJson } from '../eval/report/types.js';
import type { ScoreRow } from '../eval/aggregate.js';
import { sameTokenization } from '../models/tokenizer.js';
import { parseChoice, parseIntIn } from './args.js';
import { chooseBackend, note, openModel, printJson } from './common.js';
import { hashModelDir } from './hash.js';
import { openAppender } from './jsonl.js';
import { progress } from './progress.js';
import { readExtraction, readRun, readScores, type RunFiles } from './run-dir.js';

export interface EvalFlags {
  run: string;
  judge: string;
  sft?: string;
  dpo?: string;
  seed: string;
  reps: string;
  device: string;
  weightDtype: string;
  format: string;
}

function judgeInfo(mode: JudgeChoice, share: number | null): JudgeInfo {
  if (mode === 'embedded') {
    return { mode: 'embedded', note: 'the embedded micro-world judge (style classifier; eval/judge/embedded.ts) scored the seven criteria' + (share === null ? '' : `; it recognised ${(100 * share).toFixed(0)}% of the anchor outputs`) };
  }
  return {
    mode: 'none',
    note: share === null
      ? 'no judge: judge-free metrics only (likelihood shift, validity, repetition, refusal phrases, lengths, perplexity, embedding cosines)'
      : `no judge: the embedded micro-world judge recognised only ${(100 * share).toFixed(0)}% of the anchor outputs (these are not micro-world models), so only judge-free metrics are reported`,
  };
}

/** The judge mode the existing scores were made with (null when there are none). */
function existingJudge(rows: ScoreRow[]): JudgeChoice | null {
  if (rows.length === 0) return null;
  return rows[0]!.judge === null ? 'none' : 'embedded';
}

/** Scores (or finishes scoring) a run; returns the judge used. */
export async function scoreRun(run: RunFiles, f: Pick<EvalFlags, 'judge' | 'sft' | 'dpo' | 'device' | 'weightDtype'>): Promise<JudgeInfo> {
  const want = parseChoice('--judge', f.judge, ['auto', 'embedded', 'none'] as const);
  const scores = readScores(run.dir);
  const prior = existingJudge(scores.rows);
  let mode: JudgeChoice;
  let share: number | null = null;
  if (want === 'auto') {
    const a = embeddedJudgeApplies(run.generations);
    share = a.share;
    mode = prior ?? (a.applies ? 'embedded' : 'none');
  } else mode = want;
  if (prior !== null && prior !== mode) {
    throw new DsteerError(`--judge ${mode}: ${join(run.dir, 'scores.jsonl')} was scored with judge "${prior}"; use --judge ${prior} (or delete scores.jsonl to rescore)`, 2);
  }
  const info = judgeInfo(mode, share);
  note(`judge: ${info.note}`);
  const done = new Set(scores.rows.map((r) => r.key));
  const todo = run.generations.filter((g) => !done.has(g.key)).length;
  if (todo === 0) {
    note(`scores: all ${scores.rows.length} rows already scored`);
    return info;
  }
  const sftPath = f.sft ?? run.manifest.models.sft.path;
  const dpoPath = f.dpo ?? run.manifest.models.dpo.path;
  for (const [side, path] of [['sft', sftPath], ['dpo', dpoPath]] as const) {
    const h = await hashModelDir(path);
    if (h !== run.manifest.models[side].hash) {
      throw new DsteerError(`--${side}: ${path} differs from the model the sweep used (content hash ${h.slice(0, 12)} vs ${run.manifest.models[side].hash.slice(0, 12)} in manifest.json)`);
    }
  }
  const backend = await chooseBackend(f.device, f.weightDtype);
  note(backend.note);
  const sft = await openModel(sftPath, backend.kernels);
  const dpo = await openModel(dpoPath, backend.kernels);
  const bad = sameTokenization(sft.tokenizer, dpo.tokenizer, ['Hello, world!', 'a b  c\n\nd']);
  if (bad) throw new DsteerError(`--dpo: the SFT and DPO tokenizers differ (${bad})`);
  const out = openAppender<ScoreRow>(join(run.dir, 'scores.jsonl'), scores.validBytes);
  const bar = progress('eval', todo);
  try {
    const s = await evaluateGenerations(run.generations, { sft: sft.model, dpo: dpo.model, tokenizer: sft.tokenizer }, {
      done,
      judge: mode,
      append: (row) => out.append(row),
      progress: (n) => bar.update(n),
    });
    bar.done();
    note(`scores: ${s.scored} scored, ${s.skippedDone} already done${s.pending ? `, ${s.pending} waiting for their prompt's anchor outputs (resume the sweep, then eval again)` : ''}`);
  } finally {
    out.close();
  }
  return info;
}

/** report.json from the run's rows (no model). */
export function reportOf(run: RunFiles, judge: JudgeInfo, seed: number, reps: number): ReturnType<typeof buildReport> {
  const scores = readScores(run.dir).rows;
  if (scores.length === 0) throw new DsteerError(`${join(run.dir, 'scores.jsonl')}: no scores yet; run dsteer eval --run ${run.dir} first`);
  return buildReport({ manifest: run.manifest, generations: run.generations, scores, extraction: readExtraction(run), judge, seed, reps });
}

/** Writes report.html and the CSVs next to report.json; returns the html path. */
export async function writeReportFiles(dir: string, report: ReturnType<typeof buildReport>): Promise<string> {
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 1) + '\n');
  const r = await renderReport(report as unknown as ReportJson);
  writeFileSync(join(dir, 'report.html'), r.html);
  for (const [name, text] of Object.entries(r.csv)) writeFileSync(join(dir, name), text);
  return join(dir, 'report.html');
}

function judgeFromScores(rows: ScoreRow[]): JudgeInfo {
  return judgeInfo(existingJudge(rows) ?? 'none', null);
}

async function runEval(f: EvalFlags): Promise<void> {
  const format = parseChoice('--format', f.format, ['text', 'json'] as const);
  const seed = parseIntIn('--seed', f.seed, 0, 2 ** 31 - 1);
  const reps = parseIntIn('--reps', f.reps, 10, 100_000);
  const run = readRun(f.run);
  const judge = await scoreRun(run, f);
  const report = reportOf(run, judge, seed, reps);
  writeFileSync(join(run.dir, 'report.json'), JSON.stringify(report, null, 1) + '\n');
  if (format === 'json') printJson({ findings: report.findings, reproduces: report.reproduces, judge: report.judge });
  else {
    for (const s of findingSentences(report.findings, report.datasets)) process.stdout.write(s.sentence + '\n');
    note(`wrote ${join(run.dir, 'report.json')}; dsteer report --run ${run.dir} renders report.html`);
  }
}

async function runReport(f: { run: string; seed: string; reps: string }): Promise<void> {
  const seed = parseIntIn('--seed', f.seed, 0, 2 ** 31 - 1);
  const reps = parseIntIn('--reps', f.reps, 10, 100_000);
  const run = readRun(f.run);
  const report = reportOf(run, judgeFromScores(readScores(run.dir).rows), seed, reps);
  const html = await writeReportFiles(run.dir, report);
  process.stdout.write(html + '\n');
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('score a sweep run (metrics, likelihood shift, embedded judge; resumable) and compute the findings into report.json')
    .requiredOption('--run <dir>', 'run directory written by dsteer sweep')
    .addOption(new Option('--judge <judge>', 'auto = the embedded micro-world judge when it recognises the outputs, else none').choices(['auto', 'embedded', 'none']).default('auto'))
    .option('--sft <dir>', 'SFT model folder (default: the path in manifest.json; must have the same content hash)')
    .option('--dpo <dir>', 'DPO model folder (default: the path in manifest.json)')
    .option('--seed <s>', 'bootstrap seed', '0')
    .option('--reps <n>', 'bootstrap resamples', '1000')
    .addOption(new Option('--device <device>', 'backend for the likelihoods and embeddings').choices(['auto', 'cpu', 'webgpu']).default('auto'))
    .addOption(new Option('--weight-dtype <dtype>', 'GPU weight storage').choices(['f32', 'f16']).default('f32'))
    .addOption(new Option('--format <format>', 'findings as sentences or JSON').choices(['text', 'json']).default('text'))
    .action(async (opts) => runEval(opts));
  program
    .command('report')
    .description('write report.json, report.html (self-contained, SVG charts) and CSV tables for an evaluated run')
    .requiredOption('--run <dir>', 'run directory (after dsteer eval)')
    .option('--seed <s>', 'bootstrap seed', '0')
    .option('--reps <n>', 'bootstrap resamples', '1000')
    .action(async (opts) => runReport(opts));
}
