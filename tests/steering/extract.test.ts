/**
 * extractVectors on tiny random models whose answer is known, against oracles computed here in
 * float64 from per-pair, one-sequence captures (two passes: states first, then means, filters
 * from scorePairs). Tolerances: 1e-12 relative for f64 sums in another order; f32 rounding of one
 * add for the steered case (|h| x 2^-24 per element).
 */
import { describe, expect, it } from 'vitest';
import { MemoryDir, MemorySource } from '../../engine/byte-source.js';
import { NodeDir } from '../../engine/byte-source-node.js';
import { f16ToF32, f32ToF16 } from '../../engine/dtype.js';
import { Rng } from '../../engine/rng.js';
import { cpuBackend } from '../../kernels/backend.js';
import type { Model } from '../../models/llama.js';
import { randomModel } from '../../models/random.js';
import { feed } from '../../models/run.js';
import { readSafetensorsHeader, readTensorF32 } from '../../models/safetensors.js';
import { loadTokenizer, type ModelTokenizer } from '../../models/tokenizer.js';
import { cosine, quantileSorted } from '../../steering/extract-stats.js';
import { encodeSamplesFile, extractVectors, pcVector, type ExtractModel, type PairFilter } from '../../steering/extract.js';
import { scorePairs, type PreferencePair } from '../../steering/pairs.js';
import { repoPath } from '../helpers.js';

const CFG = {
  model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 3, num_attention_heads: 4,
  num_key_value_heads: 2, vocab_size: 1024, max_position_embeddings: 64, bos_token_id: 1, eos_token_id: 2,
};
const L = 3;
const D = 32;
const hook = (l: number): string => `blocks.${l}.hook_resid_post`;

async function microTokenizer(overrides: Record<string, unknown> = {}): Promise<ModelTokenizer> {
  const dir = await NodeDir.open(repoPath('assets/micro/sft'));
  if (Object.keys(overrides).length === 0) return loadTokenizer(dir, { bosTokenId: 1, eosTokenIds: [2] });
  const files: Record<string, string> = {};
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) files[f] = (await dir.readText(f))!;
  files['tokenizer_config.json'] = JSON.stringify({ ...JSON.parse(files['tokenizer_config.json']!), ...overrides });
  return loadTokenizer(new MemoryDir('altered-tokenizer', files), { bosTokenId: 1, eosTokenIds: [2] });
}

const WORDS = ['the', 'dog', 'can', 'sit', 'here', 'is', 'a', 'safe', 'way', 'no', 'i', 'help', 'you', 'bike', 'fix', 'why', 'water', 'cold'];
/** Random raw-text pairs of a few words each (prompts in the HH raw-transcript shape). */
function randomPairs(n: number, seed: number): PreferencePair[] {
  const rng = new Rng(seed);
  const words = (k: number): string => Array.from({ length: k }, () => WORDS[Math.floor(rng.uniform() * WORDS.length)]).join(' ');
  return Array.from({ length: n }, () => ({
    prompt: { text: `\n\nHuman: ${words(2 + Math.floor(rng.uniform() * 4))}\n\nAssistant:` },
    chosen: ` ${words(1 + Math.floor(rng.uniform() * 6))}`,
    rejected: ` ${words(1 + Math.floor(rng.uniform() * 6))}`,
  }));
}

async function* stream(pairs: PreferencePair[], pulled?: { n: number }): AsyncGenerator<PreferencePair> {
  for (const p of pairs) {
    if (pulled) pulled.n++;
    yield p;
  }
}

/** Oracle: last-token hook_resid_post states of one conversation, run alone. */
async function states(m: Model, tok: ModelTokenizer, p: PreferencePair, which: 'chosen' | 'rejected'): Promise<Float64Array[]> {
  const { ids } = tok.encodePromptContinuation(p.prompt, p[which]);
  const out: Float64Array[] = [];
  const hooks = Array.from({ length: L }, (_, l) => hook(l));
  await feed(m, [{ ids, capture: { from: ids.length - 1, to: ids.length } }], { hooks, onCapture: (_s, _p, caps) => hooks.forEach((h) => out.push(Float64Array.from(caps.get(h)!))) });
  return out;
}

/** Oracle: chosen differences h_DPO - h_SFT per kept pair and layer (f64 of the f32 states). */
async function oracleDiffs(sft: Model, dpo: Model, tok: ModelTokenizer, pairs: PreferencePair[]): Promise<{ chosen: Float64Array[][]; rejected: Float64Array[][]; sftC: Float64Array[][]; dpoC: Float64Array[][] }> {
  const chosen: Float64Array[][] = [];
  const rejected: Float64Array[][] = [];
  const sftC: Float64Array[][] = [];
  const dpoC: Float64Array[][] = [];
  for (const p of pairs) {
    const [sc, dc, sr, dr] = [await states(sft, tok, p, 'chosen'), await states(dpo, tok, p, 'chosen'), await states(sft, tok, p, 'rejected'), await states(dpo, tok, p, 'rejected')];
    chosen.push(dc.map((v, l) => v.map((x, i) => x - sc[l]![i]!)));
    rejected.push(dr.map((v, l) => v.map((x, i) => x - sr[l]![i]!)));
    sftC.push(sc);
    dpoC.push(dc);
  }
  return { chosen, rejected, sftC, dpoC };
}

function meanOf(vs: Float64Array[]): Float64Array {
  const out = new Float64Array(vs[0]!.length);
  for (const v of vs) v.forEach((x, i) => (out[i]! += x));
  return out.map((x) => x / vs.length);
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
}

const k = cpuBackend();
const sftModel = randomModel(CFG, k, 11);
const dpoModel = randomModel(CFG, k, 12);

describe('extractVectors', () => {
  it('the same model as SFT and DPO gives exactly zero vectors', async () => {
    const tok = await microTokenizer();
    const side: ExtractModel = { model: sftModel, tokenizer: tok };
    const x = await extractVectors(side, side, stream(randomPairs(6, 1)), { maxPairs: 6, filter: 'none', batch: 4 });
    expect([...x.vectors.keys()]).toEqual([0, 1, 2].map(hook));
    for (const v of x.vectors.values()) expect(v.every((e) => e === 0)).toBe(true);
    for (const l of x.diagnostics.layers) {
      expect(l.vector_norm).toBe(0);
      expect(l.cos_states_chosen).toBeCloseTo(1, 12);
      expect(l.cos_chosen_rejected).toBeNull(); // zero vectors have no direction
      expect(l.split_half_cosine).toBeNull();
      expect(l.sample_cosine!.n).toBe(0);
    }
  });

  it('a DPO side that differs by u at the last block gives u there and 0 elsewhere', async () => {
    // the DPO "model" is the SFT model steered by u at lambda 1 at blocks.2.hook_resid_post, the
    // last block's output: blocks 0 and 1 are untouched (causal), block 2's state is h + u in f32
    const tok = await microTokenizer();
    const rng = new Rng(5);
    const u = Float32Array.from({ length: D }, () => rng.uniform() * 2 - 1);
    const dpo: ExtractModel = { model: sftModel, tokenizer: tok, steering: { setup: { sites: [hook(2)], vectors: u, preserveNorm: false }, steer: { alpha: [1], vec: 0, from: 0 } } };
    const x = await extractVectors({ model: sftModel, tokenizer: tok }, dpo, stream(randomPairs(5, 2)), { maxPairs: 5, filter: 'none', batch: 2 });
    expect(x.vectors.get(hook(0))!.every((e) => e === 0)).toBe(true);
    expect(x.vectors.get(hook(1))!.every((e) => e === 0)).toBe(true);
    // one f32 rounding of h + u per element: |h| < 16 here, so <= 16 x 2^-24
    const resid = x.diagnostics.layers[2]!.mean_residual_norm;
    expect(resid).toBeLessThan(16);
    expectClose(x.vectors.get(hook(2))!, u, 16 * 2 ** -24);
    expect(x.diagnostics.layers[2]!.cos_chosen_rejected).toBeCloseTo(1, 6);
    expect(x.diagnostics.layers[2]!.sample_cosine!.min!).toBeGreaterThan(0.999);
  });

  it('streaming sums equal a two-pass mean, independent of the chunk size; split halves and sample cosines by hand', async () => {
    const tok = await microTokenizer();
    const pairs = randomPairs(7, 3);
    const runs = [];
    for (const batch of [1, 3, 8]) {
      runs.push(await extractVectors({ model: sftModel, tokenizer: tok }, { model: dpoModel, tokenizer: tok }, stream(pairs), { maxPairs: 7, filter: 'none', batch, spectralSamples: 5 }));
    }
    for (const r of runs.slice(1)) for (let l = 0; l < L; l++) expect(r.vectors.get(hook(l))).toEqual(runs[0]!.vectors.get(hook(l)));
    const x = runs[0]!;
    const o = await oracleDiffs(sftModel, dpoModel, tok, pairs);
    for (let l = 0; l < L; l++) {
      const mean = meanOf(o.chosen.map((d) => d[l]!));
      expectClose(x.vectors.get(hook(l))!, mean, 1e-6 * Math.max(...mean.map(Math.abs))); // f32 of the f64 mean
      const dl = x.diagnostics.layers[l]!;
      expect(dl.vector_norm).toBeCloseTo(Math.hypot(...x.vectors.get(hook(l))!), 10);
      expect(dl.cos_chosen_rejected!).toBeCloseTo(cosine(mean, meanOf(o.rejected.map((d) => d[l]!)))!, 12);
      expect(dl.cos_states_chosen!).toBeCloseTo(cosine(meanOf(o.dpoC.map((d) => d[l]!)), meanOf(o.sftC.map((d) => d[l]!)))!, 12);
      expect(dl.mean_residual_norm).toBeCloseTo(o.sftC.reduce((t, d) => t + Math.hypot(...d[l]!), 0) / 7, 10);
      const even = meanOf(o.chosen.filter((_, i) => i % 2 === 0).map((d) => d[l]!));
      const odd = meanOf(o.chosen.filter((_, i) => i % 2 === 1).map((d) => d[l]!));
      expect(dl.split_half_cosine!).toBeCloseTo(cosine(even, odd)!, 12);
      // sample cosines: the first 5 differences rounded to f16 (as stored), against the mean
      const cos = o.chosen.slice(0, 5).map((d) => {
        const h = new Uint16Array(D);
        f32ToF16(Float32Array.from(d[l]!), h);
        const back = new Float32Array(D);
        f16ToF32(h, back);
        return cosine(back, mean)!;
      });
      const sorted = [...cos].sort((a, b) => a - b);
      const s = dl.sample_cosine!;
      expect(s.n).toBe(5);
      expect(s.mean!).toBeCloseTo(cos.reduce((a, b) => a + b, 0) / 5, 12);
      expect(s.min).toBe(sorted[0]);
      expect(s.max).toBe(sorted[4]);
      expect(s.median).toBe(sorted[2]);
      expect(s.p25!).toBeCloseTo(sorted[1]!, 15); // position 4 x 0.25 = 1
      expect(s.p05!).toBeCloseTo(sorted[0]! + 0.2 * (sorted[1]! - sorted[0]!), 12); // position 0.2
      expect(s.p95!).toBeCloseTo(quantileSorted(sorted, 0.95), 15);
      expect(s.histogram.counts.reduce((a, b) => a + b, 0)).toBe(5);
      // the stored samples are exactly those f16 values
      const stored = x.samples.rowsF32(l);
      o.chosen.slice(0, 5).forEach((d, i) => {
        const h = new Uint16Array(D);
        f32ToF16(Float32Array.from(d[l]!), h);
        const back = new Float32Array(D);
        f16ToF32(h, back);
        expect(stored.subarray(i * D, (i + 1) * D)).toEqual(back);
      });
    }
  });

  it('each filter keeps the pairs scorePairs says it should, and stops at maxPairs / maxScan', async () => {
    const tok = await microTokenizer();
    const pairs = randomPairs(12, 4);
    const dpoScores = (await scorePairs(dpoModel, tok, pairs, sftModel)).scores;
    const expected: Record<PairFilter, number[]> = {
      'dpo-prefers-chosen': [],
      'mean-logprob': [],
      'dpo-reward': [],
      none: [],
    };
    dpoScores.forEach((s, i) => {
      if (s.chosen >= s.rejected) expected['dpo-prefers-chosen'].push(i);
      if (s.chosenMean >= s.rejectedMean) expected['mean-logprob'].push(i);
      if (s.chosenReward! - s.rejectedReward! > 0) expected['dpo-reward'].push(i);
      expected.none.push(i);
    });
    // the random pairs give each filter a proper subset (else the test could not tell filters apart)
    for (const f of ['dpo-prefers-chosen', 'mean-logprob', 'dpo-reward'] as const) {
      expect(expected[f].length).toBeGreaterThan(0);
      expect(expected[f].length).toBeLessThan(12);
    }
    expect(expected['dpo-prefers-chosen']).not.toEqual(expected['mean-logprob']);
    const o = await oracleDiffs(sftModel, dpoModel, tok, pairs);
    for (const f of Object.keys(expected) as PairFilter[]) {
      const x = await extractVectors({ model: sftModel, tokenizer: tok }, { model: dpoModel, tokenizer: tok }, stream(pairs), { maxPairs: 12, filter: f, batch: 5 });
      const keep = expected[f];
      expect(x.diagnostics.filter).toEqual({ name: f, scanned: 12, kept: keep.length, skipped_too_long: 0, skipped_empty_answer: 0, rejected_by_filter: 12 - keep.length });
      const mean = meanOf(keep.map((i) => o.chosen[i]![2]!));
      expectClose(x.vectors.get(hook(2))!, mean, 1e-6 * Math.max(...mean.map(Math.abs)));
    }
    // maxPairs: stop after 2 kept; the pairs scanned are exactly those up to the 2nd kept one
    const keep = expected['dpo-prefers-chosen'];
    if (keep.length >= 2) {
      const pulled = { n: 0 };
      const x = await extractVectors({ model: sftModel, tokenizer: tok }, { model: dpoModel, tokenizer: tok }, stream(pairs, pulled), { maxPairs: 2, batch: 4 });
      expect(x.diagnostics.filter.kept).toBe(2);
      expect(x.diagnostics.filter.scanned).toBe(keep[1]! + 1);
      expect(pulled.n).toBe(keep[1]! + 1);
    }
    // maxScan: at most 3 pairs looked at
    const pulled = { n: 0 };
    const y = await extractVectors({ model: sftModel, tokenizer: tok }, { model: dpoModel, tokenizer: tok }, stream(pairs, pulled), { maxPairs: 12, maxScan: 3, filter: 'none' });
    expect(y.diagnostics.filter.scanned).toBe(3);
    expect(pulled.n).toBe(3);
  });

  it('pairs longer than the context and empty answers are skipped and counted; no pair kept is an error', async () => {
    const tok = await microTokenizer();
    const long = { prompt: { text: `\n\nHuman: ${'the dog '.repeat(60)}\n\nAssistant:` }, chosen: ' yes', rejected: ' no' };
    const empty = { prompt: { text: '\n\nHuman: hi\n\nAssistant:' }, chosen: '', rejected: ' no' };
    const side = { model: sftModel, tokenizer: tok };
    const x = await extractVectors(side, side, stream([long, empty, ...randomPairs(2, 6)]), { maxPairs: 5, filter: 'none' });
    expect(x.diagnostics.filter).toMatchObject({ scanned: 4, kept: 2, skipped_too_long: 1, skipped_empty_answer: 1 });
    await expect(extractVectors(side, side, stream([long]), { maxPairs: 5 })).rejects.toThrow(/no pair kept: 1 scanned, 1 longer than the context \(64 tokens\)/);
  });

  it('refuses SFT/DPO pairs whose configs or tokenizers differ, naming the field', async () => {
    const tok = await microTokenizer();
    const other = randomModel({ ...CFG, num_hidden_layers: 2 }, k, 11);
    await expect(extractVectors({ model: sftModel, tokenizer: tok }, { model: other, tokenizer: tok }, stream(randomPairs(1, 1)), { maxPairs: 1 })).rejects.toThrow(
      /differ in config field "nLayers" \(3 vs 2\)/,
    );
    const eps = randomModel({ ...CFG, rms_norm_eps: 1e-5 }, k, 11);
    await expect(extractVectors({ model: sftModel, tokenizer: tok }, { model: eps, tokenizer: tok }, stream(randomPairs(1, 1)), { maxPairs: 1 })).rejects.toThrow(/config field "normEps"/);
    const noBos = await microTokenizer({ add_bos_token: false });
    await expect(extractVectors({ model: sftModel, tokenizer: tok }, { model: dpoModel, tokenizer: noBos }, stream(randomPairs(1, 1)), { maxPairs: 1 })).rejects.toThrow(
      /tokenizers of .* differ: the post-processor adds BOS vs does not add/,
    );
  });

  it('pc: the component of the centred samples, sign-aligned with the mean and rescaled to its norm', async () => {
    const tok = await microTokenizer();
    const pairs = randomPairs(10, 7);
    const sft = { model: sftModel, tokenizer: tok };
    const dpo = { model: dpoModel, tokenizer: tok };
    const mean = await extractVectors(sft, dpo, stream(pairs), { maxPairs: 10, filter: 'none' });
    let flips = 0;
    for (const component of [0, 1, 2]) {
      const x = await extractVectors(sft, dpo, stream(pairs), { maxPairs: 10, filter: 'none', method: 'pc', component });
      expect(x.diagnostics).toMatchObject({ method: 'pc', component });
      for (let l = 0; l < L; l++) {
        const v = x.vectors.get(hook(l))!;
        const m = mean.vectors.get(hook(l))!;
        const rows = Float64Array.from(x.samples.rowsF32(l));
        const oracle = powerComponents(rows, 10, D, component + 1)[component]!;
        const c = cosine(v, oracle)!;
        expect(Math.abs(c)).toBeGreaterThan(1 - 1e-6); // the same axis
        let dot = 0;
        for (let i = 0; i < D; i++) dot += v[i]! * m[i]!;
        expect(dot).toBeGreaterThan(0); // sign-aligned with the mean difference
        expect(Math.hypot(...v)).toBeCloseTo(Math.hypot(...m), 5);
        const prov = (x.provenance.layers as { layer: number; flipped: boolean }[])[l]!;
        if (prov.flipped) flips++;
      }
    }
    expect(flips).toBeGreaterThan(0); // the alignment actually reversed some SVD signs here
    expect(flips).toBeLessThan(9);
  });

  it('pcVector flips a component that points against the mean, and refuses components the data cannot define', () => {
    // centred rows +-(1, 2): the SVD returns (1, 2)/sqrt(5) (largest entry positive)
    const rows = (m: [number, number]): Float64Array => new Float64Array([m[0] - 1, m[1] - 2, m[0] + 1, m[1] + 2]);
    const against = pcVector(rows([-0.5, -1]), 2, 2, new Float64Array([-0.5, -1]), 0, 'layer 0');
    expect(against.flipped).toBe(true);
    expectClose(against.v, [-0.5, -1], 1e-7);
    const along = pcVector(rows([3, 0]), 2, 2, new Float64Array([3, 0]), 0, 'layer 0');
    expect(along.flipped).toBe(false);
    expectClose(along.v, [3 / Math.sqrt(5), 6 / Math.sqrt(5)], 1e-6);
    expect(() => pcVector(rows([3, 0]), 2, 2, new Float64Array([3, 0]), 1, 'layer 4')).toThrow(/--component 1: layer 4 has 2 stored samples of dim 2, so components 0..0 exist/);
  });

  it('the samples file holds the stored f16 differences with its metadata', async () => {
    const tok = await microTokenizer();
    const x = await extractVectors({ model: sftModel, tokenizer: tok }, { model: dpoModel, tokenizer: tok }, stream(randomPairs(4, 8)), {
      maxPairs: 4, filter: 'none', spectralSamples: 3, spectralLayers: [2, 0],
    });
    const { tensors, metadata } = await readSafetensorsHeader(new MemorySource('s.safetensors', encodeSamplesFile(x.samples, 4)));
    expect(JSON.parse(metadata['dsteer.samples']!)).toEqual({ count: 3, cap: 3, layers: [0, 2], pairs: 4 });
    expect(metadata['dsteer.format']).toBe('1');
    expect([...tensors.keys()]).toEqual([hook(0), hook(2)]);
    const t = tensors.get(hook(2))!;
    expect(t.dtype).toBe('F16');
    expect(t.shape).toEqual([3, D]);
    expect(await readTensorF32(t)).toEqual(x.samples.rowsF32(2));
    expect(x.diagnostics.layers[1]!.sample_cosine).toBeNull(); // layer 1 not stored
    expect(x.provenance.spectral_samples).toEqual({ count: 3, cap: 3, layers: [0, 2] });
  });
});

/** Test-only oracle: the first `k` right-singular vectors of the centred rows by power iteration with deflation (f64). */
function powerComponents(rows: Float64Array, n: number, d: number, k: number): Float64Array[] {
  const c = new Float64Array(rows);
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += c[i * d + j]!;
    m /= n;
    for (let i = 0; i < n; i++) c[i * d + j]! -= m;
  }
  const cov = new Float64Array(d * d); // C^T C
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b]! += c[i * d + a]! * c[i * d + b]!;
  const out: Float64Array[] = [];
  const rng = new Rng(99);
  for (let t = 0; t < k; t++) {
    let v = Float64Array.from({ length: d }, () => rng.uniform() - 0.5);
    for (let it = 0; it < 5000; it++) {
      for (const w of out) {
        let p = 0;
        for (let j = 0; j < d; j++) p += v[j]! * w[j]!;
        for (let j = 0; j < d; j++) v[j]! -= p * w[j]!;
      }
      const nv = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) nv[a]! += cov[a * d + b]! * v[b]!;
      const len = Math.hypot(...nv);
      v = nv.map((x) => x / len);
    }
    out.push(v);
  }
  return out;
}
