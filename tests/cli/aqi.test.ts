/**
 * `dsteer aqi` as a user runs it (node bin/dsteer.js, against the compiled dist/): on the micro
 * pair with a few texts per cell, into --out and into a run directory, and its usage errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAqi } from '../../cli/run-dir.js';
import { repoPath } from '../helpers.js';

function dsteer(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [repoPath('bin/dsteer.js'), ...args], { encoding: 'utf8', env: { ...process.env, DEBUG: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'dsteer-aqi-'));
const base = ['aqi', '--sft', repoPath('assets/micro/sft'), '--dpo', repoPath('assets/micro/dpo'), '--vector', repoPath('assets/micro/vector.safetensors'), '--data', repoPath('assets/data/micro-litmus.csv'), '--device', 'cpu'];

describe('dsteer aqi', () => {
  it('writes aqi.json into --out and prints the overall table; --format json prints the same object', () => {
    const out = join(dir, 'standalone');
    const r = dsteer(...base, '--per-cell', '4', '--lambdas=-0.5,0.5', '--iterations', '100', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/sft \(anchor\)\s+0\s+26\.89|sft \(anchor\)\s+0\s+50\.00|sft \(anchor\)\s+0\s+73\.11/);
    expect(r.out.split('\n').filter((l) => /^\s*(sft|dpo)/.test(l))).toHaveLength(4);
    expect(r.err).toMatch(/post-norm \(ln_final.hook_normalized\), the authors' choice/);
    const j = JSON.parse(readFileSync(join(out, 'aqi.json'), 'utf8'));
    expect(j.kind).toBe('dsteer-aqi');
    expect(j.config.per_cell).toBe(4);
    expect(j.config.texts).toBe(56);
    expect(j.models.map((m: { lambda: number }) => m.lambda)).toEqual([0, 0, -0.5, 0.5]);
    const again = dsteer(...base, '--per-cell', '4', '--lambdas=-0.5,0.5', '--iterations', '100', '--out', join(dir, 'again'), '--format', 'json');
    expect(again.code, again.err).toBe(0);
    const k = JSON.parse(again.out);
    // same seed, same numbers (timings aside)
    expect(k.models).toEqual(j.models);
  }, 120_000);

  it('with --run joins a run directory (readAqi reads it back); a short cell lowers --per-cell with a warning', () => {
    const run = join(dir, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'manifest.json'), '{}');
    expect(readAqi({ dir: run })).toBeNull();
    const r = dsteer(...base, '--per-cell', '60', '--lambdas=1', '--iterations', '50', '--site', 'raw', '--run', run);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/warning: --per-cell 60 lowered to 50/);
    const a = readAqi({ dir: run }) as { config: { per_cell: number; hook: string } };
    expect(a.config.per_cell).toBe(50);
    expect(a.config.hook).toBe('blocks.5.hook_resid_post');
    writeFileSync(join(run, 'aqi.json'), '{"kind": "other"}');
    expect(() => readAqi({ dir: run })).toThrow(/not an aqi.json written by dsteer aqi/);
  }, 240_000);

  it('usage errors name the flag', () => {
    const both = dsteer(...base, '--out', join(dir, 'x'), '--run', join(dir, 'y'));
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/exactly one of --run DIR .* or --out DIR/);
    const noRun = dsteer(...base, '--run', join(dir, 'missing'));
    expect(noRun.code).toBe(2);
    expect(noRun.err).toMatch(/--run: .*manifest.json not found/);
    const cell = dsteer(...base, '--per-cell', '2', '--out', join(dir, 'z'));
    expect(cell.code).toBe(2);
    expect(cell.err).toMatch(/--per-cell: "2" is not an integer in 3\.\.inf/);
    const site = dsteer(...base, '--site', 'mid', '--out', join(dir, 'z'));
    expect(site.code).toBe(2);
    expect(existsSync(join(dir, 'z'))).toBe(false);
  });
});
