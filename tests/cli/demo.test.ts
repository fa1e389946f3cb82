/**
 * The main job as a user runs it, end to end on the nano preset (the same commands the shipped
 * micro pair goes through, on a world that builds in seconds): `dsteer train --preset nano`, then
 * `dsteer demo --world` (extract, spectral, sweeps both ways, eval, report), then `dsteer eval` and
 * `dsteer report` on the finished run (resume: nothing recomputed), and one-line errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoPath } from '../helpers.js';

const BIN = repoPath('bin/dsteer.js');
let tmp: string;
let world: string;
let run: string;
let demo: { code: number; out: string; err: string };

function dsteer(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, DEBUG: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const lines = (p: string): string[] => readFileSync(p, 'utf8').split('\n').filter((l) => l !== '');

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dsteer-demo-'));
  world = join(tmp, 'nano');
  run = join(tmp, 'run');
  const t = dsteer('train', '--preset', 'nano', '--out', world, '--seed', '3');
  expect(t.code, t.err).toBe(0);
  demo = dsteer('demo', '--world', world, '--out', run, '--pairs', '6', '--filter', 'none', '--prompts', '3', '--max-new-tokens', '10', '--lambdas=-0.5,-0.25,0.25,0.5', '--aqi-per-cell', '3', '--device', 'cpu');
}, 240_000);

describe('dsteer demo on the nano preset', () => {
  it('runs every step and writes the run directory', () => {
    expect(demo.code, demo.err).toBe(0);
    for (const f of ['manifest.json', 'generations.jsonl', 'scores.jsonl', 'report.json', 'report.html', 'lambdas.csv', 'findings.csv', 'layers.csv', 'vector.safetensors', 'vector.diagnostics.json', 'vector.samples.safetensors', 'spectral.json', 'aqi.json', 'aqi.csv', 'summary.txt']) {
      expect(existsSync(join(run, f)), f).toBe(true);
    }
    for (const n of [1, 2, 3, 4, 5, 6]) expect(demo.err).toContain(`== ${n}/6 `);
  });

  it('sweeps three datasets both ways with anchors, and scores every row once', () => {
    const gens = lines(join(run, 'generations.jsonl')).map((l) => JSON.parse(l) as { key: string; dataset: string; model: string; lambda: number });
    // 3 datasets x 3 prompts x (2 anchors + 4 lambdas)
    expect(gens).toHaveLength(3 * 3 * 6);
    expect(new Set(gens.map((g) => g.dataset))).toEqual(new Set(['hh', 'harmfulqa', 'advbench']));
    expect(gens.every((g) => (g.lambda > 0 ? g.model === 'sft' : g.lambda < 0 ? g.model === 'dpo' : true))).toBe(true);
    const scores = lines(join(run, 'scores.jsonl')).map((l) => JSON.parse(l) as { key: string });
    expect(scores.map((s) => s.key).sort()).toEqual(gens.map((g) => g.key).sort());
  });

  it('report.json has the aggregates, the findings per dataset, four verdicts and the extraction', () => {
    const r = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
    expect(Object.keys(r.datasets).sort()).toEqual(['advbench', 'harmfulqa', 'hh']);
    for (const d of Object.values(r.datasets) as { anchors: { sft: { metrics: { shift: { mean: number } } } }; lambdas: unknown[] }[]) {
      // the likelihood shift is 0 on the SFT anchor by construction
      expect(Math.abs(d.anchors.sft.metrics.shift.mean)).toBeLessThan(1e-9);
      expect(d.lambdas).toHaveLength(4);
    }
    for (const name of ['hh', 'harmfulqa', 'advbench']) {
      expect(Object.keys(r.findings[name]).sort()).toEqual(['asymmetry', 'collapse_lambda', 'coverage', 'coverage_before_collapse', 'range', 'refusal_paradox']);
    }
    expect(r.reproduces.map((x: { finding: string }) => x.finding)).toHaveLength(4);
    expect(r.extraction.diagnostics.layers.length).toBeGreaterThan(0);
    expect(r.extraction.spectral.layers.length).toBeGreaterThan(0);
    expect(r.manifest.vector.path).toBe(join(run, 'vector.safetensors'));
    // the reduced AQI joined the report: both anchors and the four demo lambdas
    expect(r.aqi.models).toHaveLength(6);
  });

  it('ends with a summary table, the verdicts and the report path', () => {
    expect(demo.out).toMatch(/dataset\s+prompts\s+shift SFT/);
    expect(demo.out).toMatch(/\[(reproduced|NOT reproduced|cannot tell)\]/);
    expect(demo.out).toContain(join(run, 'report.html'));
    expect(readFileSync(join(run, 'report.html'), 'utf8')).toContain('<svg');
  });

  it('eval and report on the finished run recompute nothing and rewrite the report', () => {
    const before = readFileSync(join(run, 'scores.jsonl'), 'utf8');
    const e = dsteer('eval', '--run', run, '--device', 'cpu', '--format', 'json');
    expect(e.code, e.err).toBe(0);
    expect(e.err).toMatch(/already scored/);
    expect(readFileSync(join(run, 'scores.jsonl'), 'utf8')).toBe(before);
    expect(JSON.parse(e.out).reproduces).toHaveLength(4);
    const r = dsteer('report', '--run', run);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(join(run, 'report.html'));
  });

  it('refuses a judge that differs from the one the scores were made with, and a missing run, in one line', () => {
    const r = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')) as { judge: { mode: string } };
    const other = r.judge.mode === 'embedded' ? 'none' : 'embedded';
    const e = dsteer('eval', '--run', run, '--judge', other, '--device', 'cpu');
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/--judge .*scored with judge/);
    const m = dsteer('eval', '--run', join(tmp, 'nope'));
    expect(m.code).toBe(1);
    expect(m.err.trim().split('\n').filter((l) => /error/.test(l))).toHaveLength(1);
    expect(m.err).toMatch(/does not exist/);
  });
});
