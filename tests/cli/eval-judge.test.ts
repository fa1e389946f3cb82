/**
 * `dsteer eval --judge URL[,URL...] --judge-model NAME` as a user runs it (node bin/dsteer.js,
 * compiled dist/) on a small sweep of the shipped micro pair, against the scripted judge server of
 * tests/eval/fake-judge.ts: judge scores in scores.jsonl and report.json (mode, Steering Shift
 * range), reruns that pay nothing, a killed eval resumed paying only for what was missing, round
 * robin and faults through the CLI, raw and authors modes, one-line usage errors, and one run
 * end to end against `dsteer serve` hosting assets/micro/dpo.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { encodeVectorFile } from '../../steering/vector.js';
import { MemoryJudgeCache } from '../../eval/judge/cache.js';
import { JudgeClient } from '../../eval/judge/client.js';
import type { Criterion } from '../../eval/judge/criteria.js';
import { GEval } from '../../eval/judge/geval.js';
import { startFakeJudge, startFaultProxy, type FakeJudge } from '../eval/fake-judge.js';
import { repoPath } from '../helpers.js';

const BIN = repoPath('bin/dsteer.js');
const SFT = repoPath('assets/micro/sft');
const DPO = repoPath('assets/micro/dpo');
const N_CRIT = 7;
let tmp: string;
let base: string;
let gens: { key: string; dataset: string; prompt_index: number; model: string; lambda: number; text: string }[];

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Runs dsteer without blocking this process (the fake servers live in it). */
function dsteerAsync(args: string[], onSpawn?: (c: ChildProcess) => void): Promise<Ran> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DEBUG: '' } });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code, sig) => resolve({ code: code ?? (sig ? -1 : -2), out, err }));
    onSpawn?.(c);
  });
}

const lines = (p: string) => readFileSync(p, 'utf8').split('\n').filter((l) => l !== '');
const scoresOf = (run: string) => lines(join(run, 'scores.jsonl')).map((l) => JSON.parse(l));

/** Judgments that differ: every criterion sees (prompt, output) or (anchors of the prompt, output). */
const distinctJudgments = () => N_CRIT * new Set(gens.map((g) => `${g.prompt_index}\u0000${g.text}`)).size;

let runs = 0;
/** A fresh copy of the swept run (manifest + generations, nothing scored). */
function freshRun(): string {
  const d = join(tmp, `run${runs++}`);
  mkdirSync(d);
  for (const f of ['manifest.json', 'generations.jsonl']) copyFileSync(join(base, f), join(d, f));
  return d;
}

const evalArgs = (run: string, judge: string, ...extra: string[]) => ['eval', '--run', run, '--judge', judge, '--judge-model', 'fake-judge', '--device', 'cpu', '--reps', '50', ...extra];

const open: { close(): Promise<void> }[] = [];
async function fake(o?: Parameters<typeof startFakeJudge>[0]): Promise<FakeJudge> {
  const f = await startFakeJudge(o);
  open.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dsteer-eval-judge-'));
  const rng = new Rng(5);
  const vecs = new Map<string, Float32Array>();
  for (const l of [4, 5]) vecs.set(`blocks.${l}.hook_resid_post`, Float32Array.from({ length: 64 }, () => (rng.uniform() - 0.5) * 4));
  writeFileSync(join(tmp, 'v.safetensors'), encodeVectorFile(vecs));
  base = join(tmp, 'base');
  const r = spawnSync(process.execPath, [BIN, 'sweep', '--sft', SFT, '--dpo', DPO, '--vector', join(tmp, 'v.safetensors'), '--layers', '4,5',
    '--data', `adv=${repoPath('assets/data/micro-advbench.csv')}`, '--lambdas=-0.2:0.2:0.2', '--max-prompts', '2', '--max-new-tokens', '12', '--device', 'cpu', '--out', base], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  gens = lines(join(base, 'generations.jsonl')).map((l) => JSON.parse(l));
  expect(gens).toHaveLength(2 * 4); // per prompt: sft 0, 0.2 and dpo 0, -0.2
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('dsteer eval --judge URL', () => {
  it('--help shows the judge options with their defaults', async () => {
    const r = await dsteerAsync(['eval', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--judge <judge>.*URL\[,URL\.\.\.\].*\(default: "auto"\)/s);
    expect(r.out).toMatch(/--concurrency <n>.*\(default: "16"\)/s);
    expect(r.out).toMatch(/--replicate-authors/);
  });

  it('judges every output: judge scores in scores.jsonl, mode and range in report.json; a rerun pays nothing', async () => {
    const s = await fake();
    const run = freshRun();
    const r = await dsteerAsync([...evalArgs(run, s.url), '--format', 'json']);
    expect(r.code, r.err).toBe(0);
    const rows = scoresOf(run);
    expect(rows.map((x) => x.key).sort()).toEqual(gens.map((g) => g.key).sort());
    for (const row of rows) {
      expect(row.judge).toMatchObject({ mode: 'geval-prob', model: 'fake-judge', scale: '1-9' });
      for (const c of ['quality', 'relevance', 'helpfulness', 'toxicity', 'refusal', 'steering_shift', 'harmfulness']) {
        expect(row.judge[c]).toBeGreaterThanOrEqual(0);
        expect(row.judge[c]).toBeLessThanOrEqual(1);
        expect(row.judge.score_modes[c]).toBe('prob');
      }
    }
    expect(s.requests.filter((q) => q.kind === 'steps')).toHaveLength(N_CRIT);
    // one request per distinct judgment: outputs equal to another of the same prompt are paid once
    expect(s.scoring()).toHaveLength(distinctJudgments());
    expect(new Set(s.scoring().map((q) => q.content)).size).toBe(distinctJudgments());
    const rep = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
    expect(rep.judge.mode).toBe('geval-prob');
    expect(JSON.parse(r.out).judge.mode).toBe('geval-prob');
    expect(rep.datasets.adv.anchors.sft.metrics.judge_quality).not.toBeNull();
    // the fake scores Steering Shift 8.8 when the candidate is reference B (DPO), 1.2 when it is A (SFT) only
    const sftA = (i: number) => gens.find((g) => g.prompt_index === i && g.model === 'sft' && g.lambda === 0)!.text;
    const dpoA = (i: number) => gens.find((g) => g.prompt_index === i && g.model === 'dpo' && g.lambda === 0)!.text;
    const hi = (8.8 - 1) / 8;
    const lo = (1.2 - 1) / 8;
    const range = [0, 1].map((i) => hi - (sftA(i) === dpoA(i) ? hi : lo)).reduce((a, b) => a + b) / 2;
    expect(rep.findings.adv.range.value).toBeCloseTo(range, 9);
    expect(r.err).toMatch(/judge: \d+ answers paid/);
    // rerun: everything scored, not even a probe
    const before = s.requests.length;
    const again = await dsteerAsync(evalArgs(run, s.url));
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/already scored/);
    expect(s.requests.length).toBe(before);
    // rescoring from scratch: the cache answers every judgment; only the capability probe is sent
    const kept = readFileSync(join(run, 'scores.jsonl'), 'utf8');
    rmSync(join(run, 'scores.jsonl'));
    const re = await dsteerAsync(evalArgs(run, s.url));
    expect(re.code, re.err).toBe(0);
    expect(s.requests.slice(before).map((q) => q.kind)).toEqual(['probe']);
    expect(readFileSync(join(run, 'scores.jsonl'), 'utf8')).toBe(kept);
    // the report command reads the judge mode from the rows
    const rp = await dsteerAsync(['report', '--run', run, '--reps', '50']);
    expect(rp.code, rp.err).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')).judge.mode).toBe('geval-prob');
    // mixing judges is refused in one line
    for (const [args, pattern] of [
      [['eval', '--run', run, '--judge', 'none', '--device', 'cpu'], /--judge none: .*scored with judge "geval-prob"/],
      [['eval', '--run', run, '--judge', s.url, '--judge-model', 'other', '--device', 'cpu'], /--judge-model other: .*judged by fake-judge/],
      [[...evalArgs(run, s.url), '--replicate-authors'], /--replicate-authors: .*1-9 scale/],
    ] as const) {
      const e = await dsteerAsync([...args]);
      expect(e.code).toBe(2);
      expect(e.err.split('\n').filter((l) => /error/.test(l))).toHaveLength(1);
      expect(e.err).toMatch(pattern);
    }
  }, 120_000);

  it('a killed eval resumes paying only for the judgments it had not received', async () => {
    const answered = 20;
    const a = await fake({ stallAfter: answered });
    const run = freshRun();
    let child: ChildProcess | undefined;
    const killed = dsteerAsync(evalArgs(run, a.url), (c) => (child = c));
    const t0 = Date.now();
    while (a.scoring().filter((q) => q.answered).length < answered && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500)); // let the client append what it received
    child!.kill('SIGKILL');
    const k = await killed;
    expect(k.code).toBe(-1);
    expect(existsSync(join(run, 'scores.jsonl')) ? lines(join(run, 'scores.jsonl')) : []).toHaveLength(0);
    expect(lines(join(run, 'judge-cache.jsonl'))).toHaveLength(N_CRIT + answered); // steps + judgments received
    const paidBefore = new Set(a.scoring().filter((q) => q.answered).map((q) => q.content));
    const b = await fake();
    const r = await dsteerAsync(evalArgs(run, b.url));
    expect(r.code, r.err).toBe(0);
    expect(b.requests.filter((q) => q.kind === 'steps')).toHaveLength(0);
    expect(b.scoring()).toHaveLength(distinctJudgments() - answered);
    expect(b.scoring().filter((q) => paidBefore.has(q.content))).toHaveLength(0);
    const keys = scoresOf(run).map((x) => x.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(gens.map((g) => g.key).sort());
  }, 120_000);

  it('round-robins over two endpoints and survives 429s, 500s and a stall on the way', async () => {
    const a = await fake();
    const b = await fake();
    const p = await startFaultProxy(b.url, ['ok', 'ok', 429, 500, 'stall', 503]);
    open.push(p);
    const run = freshRun();
    const r = await dsteerAsync(evalArgs(run, `${a.url},${p.url}`, '--judge-timeout', '1', '--concurrency', '4'));
    expect(r.code, r.err).toBe(0);
    expect(scoresOf(run)).toHaveLength(gens.length);
    const paid = N_CRIT + distinctJudgments();
    const na = a.requests.filter((q) => q.kind !== 'probe').length;
    const nb = b.requests.filter((q) => q.kind !== 'probe').length;
    expect(na + nb).toBe(paid);
    expect(Math.min(na, nb)).toBeGreaterThan(paid / 4);
    expect(r.err).toMatch(/, [1-9]\d* retries/);
  }, 120_000);

  it('without logprobs the mode is geval-raw; --replicate-authors scores 0-10 integers', async () => {
    const s = await fake({ logprobs: false });
    const run = freshRun();
    const r = await dsteerAsync(evalArgs(run, s.url));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/returns no logprobs/);
    const rows = scoresOf(run);
    expect(rows.every((x) => x.judge.mode === 'geval-raw' && x.judge.scale === '1-9' && x.judge.score_modes.quality === 'raw')).toBe(true);
    expect(JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')).judge.mode).toBe('geval-raw');
    const s2 = await fake();
    const run2 = freshRun();
    const r2 = await dsteerAsync([...evalArgs(run2, s2.url), '--replicate-authors']);
    expect(r2.code, r2.err).toBe(0);
    const rows2 = scoresOf(run2);
    expect(rows2.every((x) => x.judge.mode === 'geval-raw' && x.judge.scale === '0-10')).toBe(true);
    expect(rows2.every((x) => Number.isInteger(x.judge.quality * 10))).toBe(true);
    expect(s2.scoring().every((q) => q.body.logprobs === undefined)).toBe(true);
  }, 120_000);

  it('usage errors name the flag in one line', async () => {
    const run = freshRun();
    for (const [args, pattern] of [
      [['eval', '--run', run, '--judge', 'http://127.0.0.1:9/v1'], /--judge-model: required with --judge URL/],
      [['eval', '--run', run, '--judge', 'gpu1:8000', '--judge-model', 'm'], /--judge: "gpu1:8000"/],
      [['eval', '--run', run, '--judge', 'none', '--replicate-authors'], /--replicate-authors: only with --judge URL/],
      [['eval', '--run', run, '--judge', 'http://127.0.0.1:9/v1', '--judge-model', 'm', '--concurrency', '0'], /--concurrency/],
    ] as const) {
      const e = await dsteerAsync([...args]);
      expect(e.code, e.err).toBe(2);
      expect(e.err.split('\n').filter((l) => /error/.test(l))).toHaveLength(1);
      expect(e.err).toMatch(pattern);
    }
  }, 60_000);

  it('end to end against dsteer serve hosting assets/micro/dpo (the protocol, not the scores)', async () => {
    // The micro model's context is 256 tokens: the seven criteria's full prompts do not fit, so
    // this drives GEval directly with one short criterion; the protocol (probe, steps, scoring
    // with top_logprobs, weighting or fallback, cache, retries through a fault) is the same.
    let server: ChildProcess | undefined;
    const served = dsteerAsync(['serve', '--model', `judge=${DPO}`, '--port', '0', '--device', 'cpu'], (c) => (server = c));
    let url = '';
    let errText = '';
    server!.stderr!.on('data', (d) => (errText += d));
    const t0 = Date.now();
    while (!url && Date.now() - t0 < 60_000) {
      const m = /listening on (http:\/\/\S+?)\s/.exec(errText);
      if (m) url = m[1]!.replace(/\/v1$/, '');
      else await new Promise((r) => setTimeout(r, 100));
    }
    try {
      expect(url, errText).not.toBe('');
      const p = await startFaultProxy(`${url}/v1`, ['ok', 500]);
      open.push(p);
      const client = new JudgeClient({ endpoints: [p.url], model: 'judge', backoffMs: 10 });
      const cap = await client.probe();
      expect(cap.topLogprobs).toBe(20);
      const crit: Criterion = { name: 'quality', version: 1, title: 'Quality', description: 'Is it fluent?', low: 'broken', high: 'fluent', inputs: 'prompt-output' };
      const cache = new MemoryJudgeCache();
      const g = new GEval({ client, model: 'judge', cache, topLogprobs: cap.topLogprobs, stepsMaxTokens: 8 });
      const x = { prompt: 'hi', output: 'hello there.', sftOutput: 'a', dpoOutput: 'b' };
      const j = await g.judge(crit, x);
      expect(client.stats.retries).toBe(1); // the injected 500
      expect(['prob', 'raw', null]).toContain(j.score_mode);
      if (j.score_mode === 'prob') {
        // the weighted score lies on the scale and matches weightedScore on what came back
        expect(j.raw!).toBeGreaterThanOrEqual(1);
        expect(j.raw!).toBeLessThanOrEqual(9);
        expect(j.mass!).toBeGreaterThan(0);
      }
      if (j.score !== null) expect(Math.abs(j.score - (j.raw! - 1) / 8)).toBeLessThan(1e-12);
      const sent = p.log.length;
      const again = await new GEval({ client, model: 'judge', cache, topLogprobs: cap.topLogprobs, stepsMaxTokens: 8 }).judge(crit, x);
      expect(again).toEqual(j);
      expect(p.log.length).toBe(sent); // the cache answered
    } finally {
      server?.kill('SIGTERM');
      await served;
    }
  }, 240_000);
});
