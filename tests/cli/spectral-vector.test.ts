/**
 * `dsteer spectral` and `dsteer vector export|import` as a user runs them (node bin/dsteer.js,
 * against the compiled dist/), on files written here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../engine/byte-source.js';
import { encodeSafetensors } from '../../models/safetensors.js';
import { layerSpectrum } from '../../steering/spectral.js';
import { encodeVectorFile, readVectorFile } from '../../steering/vector.js';
import { repoPath } from '../helpers.js';

function dsteer(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [repoPath('bin/dsteer.js'), ...args], { encoding: 'utf8', env: { ...process.env, DEBUG: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function expectUserError(r: { code: number; err: string }, pattern: RegExp): void {
  expect(r.code).toBeGreaterThan(0);
  const lines = r.err.split('\n').filter((l) => /error/.test(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at .*\.(js|ts):\d+/);
}

const dir = mkdtempSync(join(tmpdir(), 'dsteer-spectral-'));
const dim = 6;
const rows = new Float32Array(Array.from({ length: 5 * dim }, (_, i) => ((i * 7) % 11) / 4 - 1 + (i % dim === 0 ? 3 : 0)));
const vec = new Float32Array([1, 0.5, -0.25, 0, 0.125, 2]);

function writeFiles(stem: string, withSamples: boolean): string {
  const vpath = join(dir, `${stem}.safetensors`);
  writeFileSync(vpath, encodeVectorFile(new Map([['blocks.3.hook_resid_post', vec], ['blocks.1.hook_resid_post', vec.map((x) => -x)]]), { method: 'mean' }));
  if (withSamples) {
    const meta = { count: 5, cap: 2000, layers: [3], pairs: 9 };
    writeFileSync(join(dir, `${stem}.samples.safetensors`), encodeSafetensors([{ name: 'blocks.3.hook_resid_post', dtype: 'F16', shape: [5, dim], data: rows }], { 'dsteer.format': '1', 'dsteer.samples': JSON.stringify(meta) }));
  }
  return vpath;
}

describe('dsteer spectral', () => {
  it('--format json prints the analysis of NAME.samples.safetensors', () => {
    const v = writeFiles('v', true);
    const r = dsteer('spectral', '--vector', v, '--format', 'json');
    expect(r.err).toMatch(/alignment compared with the vectors of/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out).toMatchObject({ samples: 5, cap: 2000, alignment_with: 'vector' });
    expect(Object.keys(out.layers[0]).sort()).toEqual(['alignment', 'epsilon_rank', 'explained_variance', 'layer', 'sigma2_over_sigma1', 'spectral_entropy', 'top5']);
    // the rows are f16-exact, so the library call on them is the oracle
    const want = layerSpectrum(Float64Array.from(rows), 5, dim, 3, vec);
    expect(out.layers[0]).toEqual(JSON.parse(JSON.stringify(want)));
  });

  it('text format prints a table', () => {
    const r = dsteer('spectral', '--vector', join(dir, 'v.safetensors'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/samples: 5 per layer \(cap 2000\)/);
    expect(r.out).toMatch(/^layer\s+s2\/s1\s+entropy/m);
    expect(r.out).toMatch(/^3\s+0\.\d{4}/m);
  });

  it('a missing samples file says to re-run extract', () => {
    const v = writeFiles('nosamples', false);
    expectUserError(dsteer('spectral', '--vector', v), /nosamples\.samples\.safetensors: no samples file beside --vector .*re-run dsteer extract/);
  });

  it('--help shows the default format', () => {
    const r = dsteer('spectral', '--help');
    expect(r.code).toBe(0);
    expect(r.out.replace(/\s+/g, " ")).toMatch(/--format <format> .*\(choices: "text", "json", default: "text"\)/);
  });
});

describe('dsteer vector export / import', () => {
  it('round trip through GGUF: blocks stay at their index, scale folded in', async () => {
    const v = writeFiles('rt', false);
    const gguf = join(dir, 'rt.gguf');
    const ex = dsteer('vector', 'export', '--in', v, '--gguf', gguf, '--scale', '0.5', '--model-hint', 'tulu');
    expect(ex.code).toBe(0);
    expect(ex.err).toMatch(/2 directions, scale 0\.5 folded in/);
    const bytes = readFileSync(gguf);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(bytes.includes('direction.3')).toBe(true);
    expect(bytes.includes('direction.1')).toBe(true);
    const out = join(dir, 'back.safetensors');
    const im = dsteer('vector', 'import', '--gguf', gguf, '--out', out);
    expect(im.code).toBe(0);
    const sv = await readVectorFile(new MemorySource(out, new Uint8Array(readFileSync(out))));
    expect([...sv.vectors.keys()]).toEqual(['blocks.1.hook_resid_post', 'blocks.3.hook_resid_post']);
    expect([...sv.vectors.get('blocks.3.hook_resid_post')!]).toEqual([...vec].map((x) => x * 0.5));
    expect(sv.provenance).toMatchObject({ imported_from: { format: 'gguf control vector', model_hint: 'tulu', layer_count: 2 } });
  });

  it('refuses block 0 unless --skip-block0, and bad GGUF input, with one error line', () => {
    const v0 = join(dir, 'b0.safetensors');
    writeFileSync(v0, encodeVectorFile(new Map([['blocks.0.hook_resid_post', vec], ['blocks.2.hook_resid_post', vec]])));
    expectUserError(dsteer('vector', 'export', '--in', v0, '--gguf', join(dir, 'b0.gguf')), /block 0 .*--skip-block0/);
    expect(existsSync(join(dir, 'b0.gguf'))).toBe(false);
    const ok = dsteer('vector', 'export', '--in', v0, '--gguf', join(dir, 'b0.gguf'), '--skip-block0');
    expect(ok.code).toBe(0);
    expect(ok.err).toMatch(/left out blocks\.0\.hook_resid_post/);
    const junk = join(dir, 'junk.gguf');
    writeFileSync(junk, 'GGUF but then nothing useful at all, really');
    expectUserError(dsteer('vector', 'import', '--gguf', junk, '--out', join(dir, 'x.safetensors')), /junk\.gguf: (truncated or corrupt GGUF|GGUF version)/);
    expectUserError(dsteer('vector', 'export', '--in', v0, '--gguf', join(dir, 'y.gguf'), '--scale', 'abc'), /--scale: "abc" is not a number/);
  });

  it('export --help shows defaults', () => {
    const r = dsteer('vector', 'export', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--scale <s>.*\(default: "1"\)/s);
    expect(r.out).toMatch(/--model-hint <name>.*\(default: "llama"\)/s);
  });
});
