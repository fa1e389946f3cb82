/**
 * The experiment suite: the D-STEER pipeline's own throughput on the shipped micro pair.
 * - sweep: generated tokens/s of a lambda sweep with the whole grid in one batch per side vs one
 *   generate() call per lambda (the original code's way), alternating runs, ratio per pair;
 * - extract: preference pairs/s of extraction (filter, then captures under both models).
 */
import { NodeDir, FileSource } from '../engine/byte-source-node.js';
import { Rng } from '../engine/rng.js';
import { readHh } from '../data/readers/hh.js';
import { readPrompts } from '../data/readers/prompts.js';
import type { Kernels } from '../kernels/backend.js';
import { loadModel } from '../models/load.js';
import { extractVectors } from '../steering/extract.js';
import { hhToPair, type PreferencePair } from '../steering/pairs.js';
import { runSweep, type SweepPrompt } from '../steering/sweep.js';
import { type SteeringVectors } from '../steering/vector.js';
import { assetPath } from './paths.js';
import { quantiles, type BenchResult } from './report.js';

async function microPair(k: Kernels) {
  const sft = await loadModel(await NodeDir.open(assetPath('micro/sft')), k);
  const dpo = await loadModel(await NodeDir.open(assetPath('micro/dpo')), k);
  return { sft, dpo };
}

/** Sweep tokens/s, lambda-batched vs one call per lambda (same rows; checked). */
export async function benchSweep(k: Kernels, prompts: number, tokens: number): Promise<BenchResult[]> {
  const { sft, dpo } = await microPair(k);
  const src = await FileSource.open(assetPath('data/micro-harmfulqa.json'));
  const list: SweepPrompt[] = [];
  for await (const p of readPrompts(src)) {
    list.push(p);
    if (list.length === prompts) break;
  }
  await src.close();
  const rng = new Rng(3);
  const dim = sft.model.cfg.dim;
  const vectors: SteeringVectors = { file: 'random', provenance: null, vectors: new Map([4, 5].map((l) => [`blocks.${l}.hook_resid_post`, Float32Array.from({ length: dim }, () => rng.uniform() - 0.5)])) };
  const lambdas = [-0.4, -0.3, -0.2, -0.1, 0.1, 0.2, 0.3, 0.4];
  const cfg = { lambdas, layers: [4, 5], maxNewTokens: tokens, temperature: 0, topP: 1, seed: 0, steerPositions: 'all' as const, preserveNorm: false, chatTemplate: true };
  const once = async (batching: boolean): Promise<{ tps: number; texts: string[] }> => {
    const texts: string[] = [];
    const s = await runSweep(sft, dpo, vectors, [{ name: 'qa', prompts: list }], cfg, (r) => void texts.push(`${r.key}:${r.ids.join()}`), { maxBatch: 64, chunkPrompts: prompts, lambdaBatching: batching });
    return { tps: s.tokens / s.seconds, texts: texts.sort() };
  };
  await once(true); // warm-up
  const ratios: number[] = [];
  const tpsB: number[] = [];
  const tpsS: number[] = [];
  for (let rep = 0; rep < 4; rep++) {
    const first = rep % 2 === 0;
    const a = first ? await once(true) : null;
    const b = await once(false);
    const a2 = a ?? (await once(true));
    if (a2.texts.join('\n') !== b.texts.join('\n')) throw new Error('lambda-batched sweep rows differ from per-lambda rows');
    tpsB.push(a2.tps);
    tpsS.push(b.tps);
    ratios.push(a2.tps / b.tps);
  }
  const shape = `micro pair, ${prompts} prompts x ${lambdas.length + 2} rows, ${tokens} tokens`;
  const base = { suite: 'experiment', backend: k.description, dtype: 'f32', version: 'engine', shape } as const;
  const qb = quantiles(tpsB);
  const qs = quantiles(tpsS);
  const qr = quantiles(ratios);
  return [
    { ...base, name: 'sweep tok/s, lambda-batched', value: qb.median, unit: 'tok/s', spread: qb.iqr, samples: tpsB.length },
    { ...base, name: 'sweep tok/s, one call per lambda', value: qs.median, unit: 'tok/s', spread: qs.iqr, samples: tpsS.length },
    { ...base, name: 'sweep lambda-batching speedup', value: qr.median, unit: 'ratio', spread: qr.iqr, samples: ratios.length, ratio: qr.median, ratioOf: 'batched / per-lambda tokens/s, paired runs' },
  ];
}

/** Extraction pairs/s on the micro pair (filter none, so every scanned pair is captured). */
export async function benchExtract(k: Kernels, pairs: number): Promise<BenchResult[]> {
  const { sft, dpo } = await microPair(k);
  const rows: PreferencePair[] = [];
  const src = await FileSource.open(assetPath('data/micro-hh.train.jsonl'));
  for await (const r of readHh(src)) {
    rows.push(hhToPair(r, { chat: true, format: 'one-message' }));
    if (rows.length === pairs) break;
  }
  await src.close();
  async function* gen(): AsyncGenerator<PreferencePair> {
    yield* rows;
  }
  const rates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const x = await extractVectors(sft, dpo, gen(), { maxPairs: pairs, filter: 'none' });
    rates.push(x.diagnostics.pairs / ((performance.now() - t0) / 1000));
  }
  const q = quantiles(rates);
  return [{ suite: 'experiment', name: 'extract pairs/s', backend: k.description, shape: `micro pair, ${pairs} HH pairs, filter none`, dtype: 'f32', version: 'engine', value: q.median, unit: 'pairs/s', spread: q.iqr, samples: rates.length }];
}
