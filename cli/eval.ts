/**
 * `dsteer eval --run DIR`: scores a sweep's generations (scores.jsonl, resumable), then writes
 * report.json with the per-lambda aggregates and the findings, and prints the findings.
 * `--judge URL[,URL...] --judge-model NAME` adds the G-Eval judge over OpenAI-compatible
 * endpoints (eval/judge/). Resume: a scores.jsonl row is written once, with its judge scores
 * inside; every judge answer is also appended to judge-cache.jsonl the moment it arrives, so a
 * killed eval re-reads the judgments it paid for and asks only for the missing ones.
 * `dsteer report --run DIR`: rebuilds report.json from the rows (no model needed) and writes
 * report.html and the CSV tables.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { DsteerError } from '../engine/errors.js';
import { embeddedJudgeApplies, evaluateGenerations } from '../eval/evaluate.js';
import { JudgeClient, parseJudgeEndpoints } from '../eval/judge/client.js';
import { GEval, type GEvalScores } from '../eval/judge/geval.js';
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
import { FileJudgeCache, JUDGE_CACHE_FILE } from './judge-cache.js';
import { readAqi, readExtraction, readRun, readScores, type RunFiles } from './run-dir.js';

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
  judgeModel?: string;
  concurrency?: string;
  replicateAuthors?: boolean;
  judgeTimeout?: string;
  judgeRetries?: string;
  judgeApiKey?: string;
}

type JudgeMode = JudgeInfo['mode'];

/** How existing scores were judged: the mode, and for G-Eval the judge model and scale. */
interface PriorJudge {
  mode: JudgeMode;
  model?: string;
  scale?: string;
}

function gevalNote(p: PriorJudge, extra = ''): string {
  const how = p.mode === 'geval-prob' ? `probability-weighted ${p.scale ?? '1-9'} scores (sum_s p(s) s over the score tokens)` : `raw sampled integer ${p.scale ?? ''} scores`;
  return `G-Eval judge ${p.model ?? '?'} over an OpenAI-compatible endpoint: ${how}, beside the judge-free metrics${extra}`;
}

function judgeInfo(mode: JudgeMode, share: number | null, prior?: PriorJudge): JudgeInfo {
  if (mode === 'geval-prob' || mode === 'geval-raw') return { mode, note: gevalNote(prior ?? { mode }) };
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

/** How the existing scores were judged (null when there are none). */
function existingJudge(rows: ScoreRow[]): PriorJudge | null {
  if (rows.length === 0) return null;
  const j = rows[0]!.judge as (Partial<GEvalScores> & { mode: JudgeMode }) | null;
  if (j === null) return { mode: 'none' };
  if (j.mode === 'geval-prob' || j.mode === 'geval-raw') return { mode: j.mode, ...(j.model ? { model: j.model } : {}), ...(j.scale ? { scale: j.scale } : {}) };
  return { mode: 'embedded' };
}

const describeJudge = (p: PriorJudge): string => (p.model ? `${p.mode}, judge model ${p.model}, scale ${p.scale}` : p.mode);

/** The rest of a run is judged by this G-Eval judge; opened after the checks, probed once. */
interface OpenJudge {
  geval: GEval;
  client: JudgeClient;
  cache: FileJudgeCache;
}

async function openGEval(run: RunFiles, f: EvalFlags, endpoints: string[], prior: PriorJudge | null): Promise<OpenJudge> {
  const client = new JudgeClient({
    endpoints,
    model: f.judgeModel!,
    concurrency: parseIntIn('--concurrency', f.concurrency ?? '16', 1, 4096),
    retries: parseIntIn('--judge-retries', f.judgeRetries ?? '6', 0, 100),
    timeoutMs: 1000 * parseIntIn('--judge-timeout', f.judgeTimeout ?? '120', 1, 86_400),
    ...(f.judgeApiKey ?? process.env.DSTEER_JUDGE_API_KEY ? { apiKey: f.judgeApiKey ?? process.env.DSTEER_JUDGE_API_KEY } : {}),
  });
  const cap = await client.probe();
  note(`judge: ${cap.endpoints.map((e) => `${e.url} returns ${e.topLogprobs > 0 ? `${e.topLogprobs} top_logprobs` : 'no logprobs'}`).join('; ')}`);
  const cache = new FileJudgeCache(join(run.dir, JUDGE_CACHE_FILE));
  const geval = new GEval({ client, model: f.judgeModel!, cache, topLogprobs: cap.topLogprobs, replicateAuthors: f.replicateAuthors === true });
  const now: PriorJudge = { mode: geval.mode, model: f.judgeModel!, scale: `${geval.scale.min}-${geval.scale.max}` };
  if (prior && describeJudge(prior) !== describeJudge(now)) {
    cache.close();
    const why = now.mode === 'geval-raw' && !f.replicateAuthors ? ' (these endpoints give no logprobs)' : '';
    throw new DsteerError(`--judge: ${join(run.dir, 'scores.jsonl')} was scored with judge "${describeJudge(prior)}", this judge is "${describeJudge(now)}"${why}; finish with the same judge (or delete scores.jsonl to rescore; ${JUDGE_CACHE_FILE} keeps the paid judgments)`, 2);
  }
  return { geval, client, cache };
}

/** Scores (or finishes scoring) a run; returns the judge used. */
export async function scoreRun(run: RunFiles, f: Pick<EvalFlags, 'judge' | 'sft' | 'dpo' | 'device' | 'weightDtype'> & Partial<EvalFlags>): Promise<JudgeInfo> {
  const word = ['auto', 'embedded', 'none'].includes(f.judge) ? (f.judge as 'auto' | 'embedded' | 'none') : null;
  const endpoints = word === null ? parseJudgeEndpoints(f.judge) : null;
  if (endpoints && !f.judgeModel) throw new DsteerError('--judge-model: required with --judge URL (the model name the endpoints serve, e.g. qwen2.5-32b)', 2);
  if (!endpoints && f.replicateAuthors) throw new DsteerError('--replicate-authors: only with --judge URL (the G-Eval judge)', 2);
  const scores = readScores(run.dir);
  const prior = existingJudge(scores.rows);
  const done = new Set(scores.rows.map((r) => r.key));
  const todo = run.generations.filter((g) => !done.has(g.key)).length;
  const gevalPrior = prior !== null && (prior.mode === 'geval-prob' || prior.mode === 'geval-raw');
  let mode: JudgeMode;
  let share: number | null = null;
  if (endpoints) {
    if (prior !== null && !gevalPrior) {
      throw new DsteerError(`--judge ${f.judge}: ${join(run.dir, 'scores.jsonl')} was scored with judge "${prior.mode}"; use --judge ${prior.mode} (or delete scores.jsonl to rescore with the G-Eval judge)`, 2);
    }
    if (prior?.model !== undefined && prior.model !== f.judgeModel) {
      throw new DsteerError(`--judge-model ${f.judgeModel}: ${join(run.dir, 'scores.jsonl')} was judged by ${prior.model}; use --judge-model ${prior.model} (or delete scores.jsonl to rescore)`, 2);
    }
    if (prior?.scale !== undefined && (prior.scale === '0-10') !== (f.replicateAuthors === true)) {
      throw new DsteerError(`--replicate-authors: ${join(run.dir, 'scores.jsonl')} was judged on the ${prior.scale} scale; ${f.replicateAuthors ? 'drop' : 'add'} --replicate-authors (or delete scores.jsonl to rescore)`, 2);
    }
    mode = prior?.mode ?? 'geval-prob';
  } else if (word === 'auto') {
    const a = embeddedJudgeApplies(run.generations);
    share = a.share;
    mode = prior?.mode ?? (a.applies ? 'embedded' : 'none');
    if (gevalPrior && todo > 0) {
      throw new DsteerError(`--judge auto: ${join(run.dir, 'scores.jsonl')} is being judged by the G-Eval judge ${prior.model ?? ''}; pass --judge URL[,URL...] --judge-model ${prior.model ?? 'NAME'} to finish it`, 2);
    }
  } else mode = word!;
  if (prior !== null && prior.mode !== mode) {
    throw new DsteerError(`--judge ${mode}: ${join(run.dir, 'scores.jsonl')} was scored with judge "${prior.mode}"; use --judge ${gevalPrior ? 'URL --judge-model ' + (prior.model ?? 'NAME') : prior.mode} (or delete scores.jsonl to rescore)`, 2);
  }
  if (todo === 0) {
    const info = judgeInfo(mode, share, prior ?? undefined);
    note(`judge: ${info.note}`);
    note(`scores: all ${scores.rows.length} rows already scored`);
    return info;
  }
  const judge = endpoints ? await openGEval(run, f as EvalFlags, endpoints, prior) : null;
  if (judge) mode = judge.geval.mode;
  const info = judge
    ? { mode, note: gevalNote({ mode, model: f.judgeModel!, scale: `${judge.geval.scale.min}-${judge.geval.scale.max}` }, `; endpoints ${endpoints!.join(', ')}`) }
    : judgeInfo(mode, share);
  note(`judge: ${info.note}`);
  try {
    await scoreRows(run, f, scores, done, todo, mode, judge);
  } finally {
    if (judge) {
      judge.cache.close();
      const per = Object.entries(judge.client.stats.answered).map(([u, n]) => `${u} ${n}`).join(', ');
      note(`judge: ${judge.geval.stats.paid} answers paid, ${judge.geval.stats.cached} from ${join(run.dir, JUDGE_CACHE_FILE)}, ${judge.client.stats.retries} retries${per ? `; answers per endpoint, probe included: ${per}` : ''}`);
    }
  }
  return info;
}

async function scoreRows(
  run: RunFiles,
  f: Pick<EvalFlags, 'sft' | 'dpo' | 'device' | 'weightDtype'>,
  scores: { validBytes: number },
  done: Set<string>,
  todo: number,
  mode: JudgeMode,
  judge: OpenJudge | null,
): Promise<void> {
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
      judge: mode === 'embedded' ? 'embedded' : 'none',
      ...(judge ? { externalJudge: (x) => judge.geval.judgeAll(x) } : {}),
      append: (row) => out.append(row),
      progress: (n) => bar.update(n),
    });
    bar.done();
    note(`scores: ${s.scored} scored, ${s.skippedDone} already done${s.pending ? `, ${s.pending} waiting for their prompt's anchor outputs (resume the sweep, then eval again)` : ''}`);
  } finally {
    out.close();
  }
}

/** report.json from the run's rows (no model). */
export function reportOf(run: RunFiles, judge: JudgeInfo, seed: number, reps: number): ReturnType<typeof buildReport> {
  const scores = readScores(run.dir).rows;
  if (scores.length === 0) throw new DsteerError(`${join(run.dir, 'scores.jsonl')}: no scores yet; run dsteer eval --run ${run.dir} first`);
  const aqi = readAqi(run);
  return buildReport({ manifest: run.manifest, generations: run.generations, scores, extraction: readExtraction(run), judge, seed, reps, ...(aqi === null ? {} : { aqi }) });
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
  const p = existingJudge(rows);
  return judgeInfo(p?.mode ?? 'none', null, p ?? undefined);
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
    .option('--judge <judge>', 'auto = the embedded micro-world judge when it recognises the outputs, else none; embedded; none; or URL[,URL...] of OpenAI-compatible endpoints (G-Eval judge, round robin)', 'auto')
    .option('--judge-model <name>', 'model name the judge endpoints serve (required with --judge URL)')
    .option('--concurrency <n>', 'judge requests in flight at once over all endpoints', '16')
    .option('--replicate-authors', "judge on the original pipeline's 0-10 scale with raw sampled integers (mode geval-raw)", false)
    .option('--judge-timeout <s>', 'seconds one judge request may take before it is retried', '120')
    .option('--judge-retries <n>', 'retries per judge request on 429, 5xx, timeouts and network errors', '6')
    .option('--judge-api-key <key>', 'bearer key for the judge endpoints (default: $DSTEER_JUDGE_API_KEY)')
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
