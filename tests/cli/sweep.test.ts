/**
 * `dsteer sweep` as a user runs it (node bin/dsteer.js, compiled dist/): the run directory, resume
 * after SIGKILL and after a torn last line, refusal of a changed configuration, one-line errors.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { encodeVectorFile } from '../../steering/vector.js';
import { repoPath } from '../helpers.js';

const BIN = repoPath('bin/dsteer.js');
const SFT = repoPath('assets/micro/sft');
const DPO = repoPath('assets/micro/dpo');
const DATA = `adv=${repoPath('assets/data/micro-advbench.csv')},${repoPath('assets/data/micro-harmfulqa.json')}`;
let tmp: string;
let vector: string;

function dsteer(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, DEBUG: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function expectUserError(r: { code: number; err: string }, pattern: RegExp, code = 2): void {
  expect(r.code).toBe(code);
  const errLines = r.err.split('\n').filter((l) => /error/.test(l));
  expect(errLines).toHaveLength(1);
  expect(errLines[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at .*\.(js|ts):\d+/);
}

const sweepArgs = (out: string, ...extra: string[]) => [
  'sweep', '--sft', SFT, '--dpo', DPO, '--vector', vector, '--layers', '4,5', '--data', DATA,
  '--lambdas=-0.4:0.4:0.2', '--max-prompts', '4', '--max-new-tokens', '16', '--batch', '2', '--device', 'cpu', '--out', out, ...extra,
];

const lines = (p: string) => readFileSync(p, 'utf8').split('\n').filter((l) => l !== '');

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dsteer-sweep-'));
  const rng = new Rng(3);
  const vecs = new Map<string, Float32Array>();
  for (const l of [4, 5]) vecs.set(`blocks.${l}.hook_resid_post`, Float32Array.from({ length: 64 }, () => (rng.uniform() - 0.5) * 4));
  vector = join(tmp, 'v.safetensors');
  writeFileSync(vector, encodeVectorFile(vecs));
});

describe('dsteer sweep', () => {
  let full: string;

  it('--help shows the defaults', () => {
    const r = dsteer('sweep', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--max-new-tokens <n>.*\(default: "256"\)/s);
    expect(r.out).toMatch(/default: "-0.6:0.6:0.1"/);
  });

  it('writes manifest.json and generations.jsonl with the documented fields', () => {
    const out = join(tmp, 'full');
    const r = dsteer(...sweepArgs(out), '--format', 'json');
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.written).toBe(2 * 4 * 6); // per prompt: sft 0, 0.2, 0.4 and dpo 0, -0.4, -0.2
    expect(summary.skipped_done).toBe(0);
    expect(r.err).toMatch(/sweep \[#+\] 48\/48 rows, [\d.]+ tok\/s/);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(Object.keys(m)).toEqual(['dsteer', 'node', 'created', 'models', 'vector', 'datasets', 'config']);
    expect(m.models.sft.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(m.datasets.map((d: { name: string; format: string; prompts: number }) => `${d.name}:${d.format}:${d.prompts}`)).toEqual(['adv:advbench:4', 'micro-harmfulqa:harmfulqa:4']);
    expect(m.config).toEqual({ lambdas: [-0.4, -0.2, 0, 0.2, 0.4], max_new_tokens: 16, temperature: 0, top_p: 1, seed: 0, steer_positions: 'all', preserve_norm: false, chat_template: true, max_prompts: 4, device: 'cpu' });
    full = readFileSync(join(out, 'generations.jsonl'), 'utf8');
    const rows = full.trim().split('\n').map((l) => JSON.parse(l));
    expect(Object.keys(rows[0])).toEqual(['key', 'dataset', 'prompt_index', 'prompt', 'messages', 'model', 'lambda', 'prompt_tokens', 'ids', 'text', 'finish', 'logprob_sum', 'tokens']);
    expect(new Set(rows.map((x) => x.key)).size).toBe(48);
    expect(rows.filter((x) => x.lambda > 0).every((x) => x.model === 'sft')).toBe(true);
    expect(rows.filter((x) => x.lambda < 0).every((x) => x.model === 'dpo')).toBe(true);
    // re-running the finished sweep computes nothing
    const again = dsteer(...sweepArgs(out), '--format', 'json');
    expect(JSON.parse(again.out)).toMatchObject({ written: 0, skipped_done: 48 });
    expect(readFileSync(join(out, 'generations.jsonl'), 'utf8')).toBe(full);
  });

  it('resumes after SIGKILL mid-run: same JSONL as the uninterrupted run, no duplicate keys', async () => {
    const out = join(tmp, 'killed');
    const gen = join(out, 'generations.jsonl');
    const child = spawn(process.execPath, [BIN, ...sweepArgs(out)], { stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let killedAt = -1;
    for (let i = 0; i < 2000 && killedAt < 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (existsSync(gen) && lines(gen).length >= 5) {
        child.kill('SIGKILL');
        killedAt = lines(gen).length;
      }
    }
    const code = await exited;
    expect(killedAt).toBeGreaterThan(0);
    expect(code).toBe(null); // killed, not finished
    const before = lines(gen).length;
    expect(before).toBeLessThan(48);
    const r = dsteer(...sweepArgs(out), '--format', 'json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).skipped_done).toBe(before);
    expect(readFileSync(gen, 'utf8')).toBe(full);
  });

  it('a torn last line is dropped and rewritten', () => {
    const out = join(tmp, 'torn');
    expect(dsteer(...sweepArgs(out)).code).toBe(0);
    const gen = join(out, 'generations.jsonl');
    const text = readFileSync(gen, 'utf8');
    const cut = text.lastIndexOf('\n', text.length - 2) + 1 + 30; // 30 bytes into the last row
    truncateSync(gen, cut);
    expect(statSync(gen).size).toBe(cut);
    const r = dsteer(...sweepArgs(out), '--format', 'json');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/dropped a partial last line/);
    expect(JSON.parse(r.out)).toMatchObject({ written: 1, skipped_done: 47 });
    expect(readFileSync(gen, 'utf8')).toBe(full);
  });

  it('refuses to resume with a changed configuration, data or vector, naming the field', () => {
    const out = join(tmp, 'full');
    expectUserError(dsteer(...sweepArgs(out), '--max-new-tokens', '17'), /cannot resume, config\.max_new_tokens differs: the run has 16, this command gives 17/);
    expectUserError(dsteer(...sweepArgs(out), '--seed', '3'), /config\.seed differs/);
    expectUserError(dsteer(...sweepArgs(out), '--layers', '5'), /vector\.layers differs/);
    const v2 = join(tmp, 'v2.safetensors');
    copyFileSync(vector, v2);
    const bytes = readFileSync(v2);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(v2, bytes);
    const args = sweepArgs(out);
    args[args.indexOf(vector)] = v2;
    expectUserError(dsteer(...args), /vector\.hash differs/);
    const args2 = sweepArgs(out);
    args2[args2.indexOf('4')] = '3'; // --max-prompts 3
    expectUserError(dsteer(...args2), /datasets\[0\]\.prompts \(adv\) differs: the run has 4, this command gives 3/);
  });

  it('bad flags are one-line usage errors', () => {
    const out = join(tmp, 'bad');
    expectUserError(dsteer(...sweepArgs(out), '--lambdas', '1:0:0.1'), /--lambdas: end 0 is below start 1/);
    expectUserError(dsteer(...sweepArgs(out), '--lambdas=0.1,0.1'), /--lambdas: 0.1 is listed twice/);
    expectUserError(dsteer(...sweepArgs(out), '--batch', '0'), /--batch: "0" is not an integer in 1\.\.4096/);
    expectUserError(dsteer(...sweepArgs(out), '--data-format', 'xml'), /--data-format/);
    const swap = (flag: string, value: string): string[] => { const a = sweepArgs(out); a[a.indexOf(flag) + 1] = value; return a; };
    expectUserError(dsteer(...swap('--vector', join(tmp, 'nope.safetensors'))), /--vector .*nope\.safetensors: no such file/);
    expectUserError(dsteer(...swap('--dpo', tmp)), /--dpo .*: not a model folder \(no config\.json\)/);
    expectUserError(dsteer(...sweepArgs(out), '--data', 'a=x.csv,a=y.csv'), /--data: two files have the dataset name "a"/);
    expectUserError(dsteer(...sweepArgs(out), '--top-p', '0'), /--top-p: 0 must be in \(0, 1\]/);
    expectUserError(dsteer(...sweepArgs(out), '--layers', '9'), /no vector for layer 9/, 1);
    expectUserError(dsteer('sweep', '--dpo', DPO), /required option '--sft <dir>'/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
  });
});
