/**
 * The shipped micro world (assets/): the SFT and DPO folders load like any HF model, share one
 * tokenizer, and give the greedy answers recorded by the build (assets/micro/evaluation.json) on
 * its three fixed prompts; the shipped data files parse with the project's readers; the shipped
 * steering vector (assets/micro/vector.safetensors, scripts/rebuild-assets.sh makes it) belongs to
 * the shipped pair.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FileSource, NodeDir } from '../engine/byte-source-node.js';
import { collectAdvBench } from '../data/readers/advbench.js';
import { collectHarmfulQa } from '../data/readers/harmfulqa.js';
import { collectHh } from '../data/readers/hh.js';
import { collectLitmus } from '../data/readers/litmus.js';
import { cpuBackend } from '../kernels/backend.js';
import { generate } from '../models/generate.js';
import { loadModel } from '../models/load.js';
import { sameTokenization } from '../models/tokenizer.js';
import { readVectorFile } from '../steering/vector.js';
import { spectralAnalysis } from '../steering/spectral.js';
import { hashModelDir } from '../cli/hash.js';
import { repoPath } from './helpers.js';

const have = existsSync(repoPath('assets/micro/dpo/model.safetensors'));
if (!have) console.warn('SKIPPED: assets/micro is not built yet (dsteer train --preset micro --out assets ...)');

describe.skipIf(!have)('shipped micro world', () => {
  it('the pair loads and reproduces the recorded greedy answers', async () => {
    const evaluation = JSON.parse(readFileSync(repoPath('assets/micro/evaluation.json'), 'utf8')) as { samples: { prompt: string; sft: string; dpo: string }[] };
    expect(evaluation.samples).toHaveLength(3);
    const sft = await loadModel(await NodeDir.open(repoPath('assets/micro/sft')), cpuBackend());
    const dpo = await loadModel(await NodeDir.open(repoPath('assets/micro/dpo')), cpuBackend());
    expect(sameTokenization(sft.tokenizer, dpo.tokenizer, evaluation.samples.map((s) => s.prompt))).toBeNull();
    for (const s of evaluation.samples) {
      for (const [name, m] of [['sft', sft], ['dpo', dpo]] as const) {
        const ids = m.tokenizer.encodeChat([{ role: 'user', content: s.prompt }], { addGenerationPrompt: true });
        const [g] = await generate(m.model, [{ promptIds: ids, maxNewTokens: 96 }]);
        expect(m.tokenizer.decode(g!.ids), `${name}: ${s.prompt}`).toBe(s[name]);
      }
    }
  });

  it('the shipped data files parse without malformed rows', async () => {
    const opened: FileSource[] = [];
    const open = async (f: string): Promise<FileSource> => {
      const src = await FileSource.open(repoPath(`assets/data/${f}`));
      opened.push(src);
      return src;
    };
    for (const f of ['micro-hh.train.jsonl', 'micro-hh.test.jsonl']) {
      const { rows, report } = await collectHh(await open(f));
      expect(report.malformedCount, f).toBe(0);
      expect(rows.length, f).toBeGreaterThan(100);
    }
    expect((await collectHarmfulQa(await open('micro-harmfulqa.json'))).report.malformedCount).toBe(0);
    expect((await collectAdvBench(await open('micro-advbench.csv'))).report.malformedCount).toBe(0);
    const litmus = await collectLitmus(await open('micro-litmus.csv'));
    expect(litmus.report.malformedCount).toBe(0);
    expect(new Set(litmus.rows.map((r) => r.axiom)).size).toBe(7);
    for (const src of opened) await src.close();
  });

  it('the shipped vector belongs to the shipped pair: hashes, layers, read position, diagnostics, samples', async () => {
    const src = await FileSource.open(repoPath('assets/micro/vector.safetensors'));
    const sv = await readVectorFile(src);
    await src.close();
    expect([...sv.vectors.keys()]).toEqual([0, 1, 2, 3, 4, 5].map((l) => `blocks.${l}.hook_resid_post`));
    for (const v of sv.vectors.values()) expect(v.length).toBe(64);
    const prov = sv.provenance as { models: Record<'sft' | 'dpo', { path: string; hash: string }>; read_position: string; pairs: { kept: number }; layers: { layer: number; vector_norm: number }[] };
    expect(prov.models.sft).toEqual({ path: 'assets/micro/sft', hash: await hashModelDir(repoPath('assets/micro/sft')) });
    expect(prov.models.dpo).toEqual({ path: 'assets/micro/dpo', hash: await hashModelDir(repoPath('assets/micro/dpo')) });
    expect(prov.read_position).toBe('last prompt token, hook_resid_post');
    const diag = JSON.parse(readFileSync(repoPath('assets/micro/vector.diagnostics.json'), 'utf8')) as { pairs: number; read: string; layers: { layer: number; vector_norm: number }[] };
    expect(diag.pairs).toBe(prov.pairs.kept);
    expect(diag.read).toBe('prompt-end');
    for (const l of diag.layers) {
      const v = sv.vectors.get(`blocks.${l.layer}.hook_resid_post`)!;
      expect(Math.hypot(...v)).toBeCloseTo(l.vector_norm, 4); // f32 file vs the f64 norm in the diagnostics
    }
    const samples = await FileSource.open(repoPath('assets/micro/vector.samples.safetensors'));
    const spectral = await spectralAnalysis(samples, sv);
    await samples.close();
    expect(spectral.samples).toBe(diag.pairs);
    // the mean of the stored per-sample differences is the vector: the top singular direction aligns with it
    for (const l of spectral.layers) expect(l.alignment!).toBeGreaterThan(0.99);
  });
});
