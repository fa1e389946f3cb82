/**
 * `dsteer extract` as a user runs it (node bin/dsteer.js, the compiled dist/), end to end on the
 * shipped micro pair: the three files exist and parse, stdout carries the diagnostics, errors are
 * one line naming the flag or field.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../engine/byte-source-node.js';
import { readSafetensorsHeader } from '../../models/safetensors.js';
import { readVectorFile } from '../../steering/vector.js';
import { recordToPair } from '../../cli/extract.js';
import { repoPath } from '../helpers.js';

const SFT = repoPath('assets/micro/sft');
const DPO = repoPath('assets/micro/dpo');
const DATA = repoPath('assets/data/micro-hh.train.jsonl');

function dsteer(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [repoPath('bin/dsteer.js'), ...args], { encoding: 'utf8', env: { ...process.env, DEBUG: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function expectUserError(r: { code: number; err: string }, pattern: RegExp, code: number): void {
  expect(r.code).toBe(code);
  const errLines = r.err.split('\n').filter((l) => /error/.test(l));
  expect(errLines).toHaveLength(1);
  expect(errLines[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at .*\.(js|ts):\d+/);
}

describe('dsteer extract', () => {
  it('--help shows the defaults', () => {
    const r = dsteer('extract', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--max-pairs <n>.*\(default: "10000"\)/s);
    expect(r.out).toMatch(/default: "dpo-prefers-chosen"/);
    expect(r.out).toMatch(/--spectral-samples <n>.*\(default: "2000"\)/s);
  });

  it('end to end on the micro pair: vector, diagnostics and samples files; JSON on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsteer-extract-'));
    const out = join(dir, 'v.safetensors');
    const r = dsteer('extract', '--sft', SFT, '--dpo', DPO, '--data', DATA, '--max-pairs', '10', '--max-scan', '80', '--out', out, '--device', 'cpu', '--format', 'json');
    expect(r.err).toMatch(/micro-hh.train.jsonl: \d+ rows read, \d+ used, 0 malformed/);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/extract: pairs kept .* 10\/10/);
    const diag = JSON.parse(readFileSync(join(dir, 'v.diagnostics.json'), 'utf8'));
    expect(JSON.parse(r.out)).toEqual(diag);
    expect(diag.pairs).toBe(10);
    expect(diag.filter.name).toBe('dpo-prefers-chosen');
    expect(diag.filter.kept).toBe(10);
    expect(diag.filter.scanned).toBe(diag.filter.kept + diag.filter.rejected_by_filter + diag.filter.skipped_too_long + diag.filter.skipped_empty_answer);
    expect(diag.method).toBe('mean');
    expect(diag.component).toBeNull();
    expect(diag.layers).toHaveLength(6);
    for (const l of diag.layers) {
      for (const key of ['vector_norm', 'mean_residual_norm', 'cos_states_chosen', 'cos_states_rejected', 'cos_chosen_rejected', 'split_half_cosine']) expect(typeof l[key]).toBe('number');
      expect(l.hook).toBe(`blocks.${l.layer}.hook_resid_post`);
      expect(l.sample_cosine.n).toBe(10);
      expect(l.sample_cosine.histogram.edges).toHaveLength(41);
    }
    const src = await FileSource.open(out);
    const sv = await readVectorFile(src);
    await src.close();
    expect([...sv.vectors.keys()]).toHaveLength(6);
    expect(sv.vectors.get('blocks.5.hook_resid_post')!).toHaveLength(64);
    const prov = sv.provenance as Record<string, any>;
    expect(prov.models.sft.path).toBe(SFT);
    expect(prov.models.sft.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(prov.models.dpo.hash).not.toBe(prov.models.sft.hash);
    expect(prov.dataset.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(prov).toMatchObject({ filter: 'dpo-prefers-chosen', read_position: 'last token, hook_resid_post', method: 'mean', prompt_format: 'one-message', chat_template: true });
    expect(prov.layers[5].vector_norm).toBeCloseTo(diag.layers[5].vector_norm, 12);
    const samples = await FileSource.open(join(dir, 'v.samples.safetensors'));
    const { tensors, metadata } = await readSafetensorsHeader(samples);
    await samples.close();
    expect(JSON.parse(metadata['dsteer.samples']!)).toEqual({ count: 10, cap: 10, layers: [0, 1, 2, 3, 4, 5], pairs: 10 });
    expect(tensors.get('blocks.3.hook_resid_post')!.shape).toEqual([10, 64]);
    expect(tensors.get('blocks.3.hook_resid_post')!.dtype).toBe('F16');
  });

  it('--method pc --component 1 on chosen layers, the table format, raw transcripts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsteer-extract-'));
    const out = join(dir, 'pc.safetensors');
    const r = dsteer('extract', '--sft', SFT, '--dpo', DPO, '--data', DATA, '--max-pairs', '6', '--filter', 'none', '--no-chat-template',
      '--method', 'pc', '--component', '1', '--spectral-layers', '4,5', '--out', out, '--device', 'cpu');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^pairs kept: 6 \(filter none: 6 scanned, 6 kept/);
    expect(r.out).toMatch(/method: pc \(component 1\)/);
    const src = await FileSource.open(out);
    const sv = await readVectorFile(src);
    await src.close();
    expect([...sv.vectors.keys()]).toEqual(['blocks.4.hook_resid_post', 'blocks.5.hook_resid_post']);
    const prov = sv.provenance as Record<string, any>;
    expect(prov).toMatchObject({ method: 'pc', component: 1, prompt_format: 'raw transcript (no chat template)', chat_template: false });
    expect(prov.sign_alignment).toMatch(/dot product with the mean difference is > 0/);
    expect(existsSync(join(dir, 'pc.diagnostics.json'))).toBe(true);
  });

  it('UltraFeedback/Tulu message rows (malformed rows reported by line) and generic rows with the field flags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsteer-extract-'));
    const msg = (q: string, a: string) => [{ role: 'user', content: q }, { role: 'assistant', content: a }];
    const rows = [
      { prompt: 'how do i fix a bike?', chosen: msg('how do i fix a bike?', 'check the chain first.'), rejected: msg('how do i fix a bike?', 'no.') },
      { prompt: 'broken', chosen: 'not a list', rejected: 3 },
      { prompt: 'why is the sky blue?', chosen: msg('why is the sky blue?', 'light scatters in the air.'), rejected: msg('why is the sky blue?', 'i can not help.') },
      { prompt: 'how do i teach my dog to sit?', chosen: msg('how do i teach my dog to sit?', 'hold a treat above its nose.'), rejected: msg('how do i teach my dog to sit?', 'no.') },
    ];
    const uf = join(dir, 'uf.jsonl');
    writeFileSync(uf, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = dsteer('extract', '--sft', SFT, '--dpo', DPO, '--data', uf, '--max-pairs', '3', '--filter', 'none', '--out', join(dir, 'uf.safetensors'), '--device', 'cpu', '--format', 'json');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/uf.jsonl: 4 rows read, 3 used, 1 malformed \(line 2: /);
    expect(JSON.parse(r.out).pairs).toBe(3);
    const src = await FileSource.open(join(dir, 'uf.safetensors'));
    const prov = (await readVectorFile(src)).provenance as Record<string, any>;
    await src.close();
    expect(prov.dataset.layout).toMatch(/message lists/);

    const generic = join(dir, 'generic.jsonl');
    writeFileSync(generic, [{ q: 'how do i fix a bike?', good: 'check the chain.', bad: 'no.' }, { q: 'why is the sky blue?', good: 'light scatters.', bad: 'no.' }].map((x) => JSON.stringify(x)).join('\n') + '\n');
    const g = dsteer('extract', '--sft', SFT, '--dpo', DPO, '--data', generic, '--prompt-field', 'q', '--chosen-field', 'good', '--rejected-field', 'bad',
      '--no-chat-template', '--max-pairs', '2', '--filter', 'none', '--out', join(dir, 'g.safetensors'), '--device', 'cpu', '--format', 'json');
    expect(g.code).toBe(0);
    expect(JSON.parse(g.out).pairs).toBe(2);
    const gs = await FileSource.open(join(dir, 'g.safetensors'));
    const gp = (await readVectorFile(gs)).provenance as Record<string, any>;
    await gs.close();
    expect(gp.dataset).toMatchObject({ promptField: 'q', chosenField: 'good', rejectedField: 'bad' });
  });

  it('recordToPair: message rows as chat messages, or as an HH transcript without the template', () => {
    const rec = { lineNo: 1, kind: 'messages' as const, prompt: [{ role: 'user' as const, content: 'Hi' }, { role: 'assistant' as const, content: 'Yes?' }, { role: 'user' as const, content: 'Go' }], chosen: 'Ok', rejected: 'No' };
    expect(recordToPair(rec, { chat: true, format: 'one-message' })).toEqual({ prompt: { messages: rec.prompt }, chosen: 'Ok', rejected: 'No' });
    expect(recordToPair(rec, { chat: false, format: 'one-message' })).toEqual({ prompt: { text: '\n\nHuman: Hi\n\nAssistant: Yes?\n\nHuman: Go\n\nAssistant:' }, chosen: ' Ok', rejected: ' No' });
  });

  it('user errors: one line naming the flag or the config field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsteer-extract-'));
    expectUserError(dsteer('extract', '--sft', SFT, '--dpo', DPO, '--data', DATA, '--out', join(dir, 'v.safetensors'), '--component', '2'), /--component needs --method pc/, 2);
    expectUserError(dsteer('extract', '--sft', SFT, '--dpo', DPO, '--data', DATA, '--out', join(dir, 'v.bin')), /--out: .* must end in \.safetensors/, 2);
    // a DPO folder whose config differs in one field
    const bad = join(dir, 'dpo');
    mkdirSync(bad);
    for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) copyFileSync(join(DPO, f), join(bad, f));
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(DPO, 'config.json'), 'utf8')), rope_theta: 5000 }));
    expectUserError(dsteer('extract', '--sft', SFT, '--dpo', bad, '--data', DATA, '--out', join(dir, 'v.safetensors'), '--device', 'cpu'), /differ in config field "ropeTheta" \(10000 vs 5000\)/, 1);
  });
});
