/**
 * End-to-end and steering suites on any backend, with random-weight models built in memory from
 * a config (no files): prefill and decode tokens/s, dispatches per decoded token, the steered /
 * unsteered decode step ratio, and the speed-up of one batch carrying 8 lambdas over 8 runs.
 */
import type { Kernels } from '../kernels/backend.js';
import type { GpuKernels } from '../kernels/gpu-backend.js';
import { BatchBuilder } from '../models/batch.js';
import { generate } from '../models/generate.js';
import { createRunState, forward, setSteering, type Model } from '../models/llama.js';
import { randomModel } from '../models/random.js';
import { Rng } from '../engine/rng.js';
import { quantiles, type BenchResult } from './report.js';

/** Model configs by name: `small` suits CPUs and software adapters; `8b` is Llama-3.1-8B's shape. */
export const BENCH_CONFIGS: Record<string, Record<string, unknown>> = {
  tiny: { model_type: 'llama', hidden_size: 64, intermediate_size: 172, num_hidden_layers: 5, num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 512, max_position_embeddings: 512, tie_word_embeddings: true },
  small: { model_type: 'llama', hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 6, num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 4096, max_position_embeddings: 1024 },
  '8b': {
    model_type: 'llama', hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 128256,
    max_position_embeddings: 131072, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  },
};

function dispatchCount(k: Kernels): number | null {
  return k.kind === 'webgpu' ? (k as unknown as GpuKernels).gpu.dispatches : null;
}

/** Greedy decode `steps` tokens at batch 1 with the bare forward loop; seconds per step. */
async function decodeLoop(m: Model, steps: number, steered: boolean): Promise<number[]> {
  const cfg = m.cfg;
  const s = createRunState(m, { maxRows: 1, maxOut: 1, nSlots: 1, maxSeq: steps + 1 });
  const sites = Array.from({ length: Math.min(5, cfg.nLayers) }, (_, j) => `blocks.${cfg.nLayers - 1 - j}.hook_resid_post`);
  if (steered) setSteering(m, s, sites, new Float32Array(sites.length * cfg.dim).fill(0.01), false);
  const bb = new BatchBuilder(1, 1, 0, steered ? sites.length : 0);
  const steer = { alpha: sites.map(() => 0.5), vec: 0, from: 0 };
  const tok = m.k.allocI32(1);
  let id = 1;
  const times: number[] = [];
  for (let p = 0; p < steps; p++) {
    const t0 = performance.now();
    bb.reset();
    bb.add(0, id, p, true, false, steered ? steer : null);
    forward(m, s, bb.batch());
    m.k.argmax(tok, s.logits, 1, cfg.vocabSize);
    id = (await m.k.readI32(tok, 1))[0]!;
    times.push((performance.now() - t0) / 1000);
  }
  return times;
}

export async function benchE2e(k: Kernels, configName: string, steps: number, prefill: number): Promise<BenchResult[]> {
  const raw = BENCH_CONFIGS[configName]!;
  const m = randomModel(raw, k, 1, undefined, true);
  const shape = `${configName}: d${m.cfg.dim} L${m.cfg.nLayers} vocab ${m.cfg.vocabSize}`;
  const base = { suite: 'e2e', backend: k.description, dtype: 'f32 act', version: 'engine' } as const;
  // prefill: one forward of `prefill` rows, logits for the last
  const s = createRunState(m, { maxRows: prefill, maxOut: 1, nSlots: 1, maxSeq: prefill });
  const bb = new BatchBuilder(prefill, 1, 0, 0);
  const pre: number[] = [];
  for (let rep = 0; rep < 4; rep++) {
    bb.reset();
    for (let p = 0; p < prefill; p++) bb.add(0, (p * 7 + 1) % m.cfg.vocabSize, p, p === prefill - 1, false, null);
    const t0 = performance.now();
    forward(m, s, bb.batch());
    await k.readF32(s.logits, 1);
    if (rep > 0) pre.push(prefill / ((performance.now() - t0) / 1000));
  }
  await decodeLoop(m, 4, false); // warm-up: pipelines compiled, JIT warm
  const d0 = dispatchCount(k);
  const times = await decodeLoop(m, steps, false);
  const d1 = dispatchCount(k);
  const qp = quantiles(pre);
  const qd = quantiles(times.map((t) => 1 / t));
  const res: BenchResult[] = [
    { ...base, name: 'prefill', shape: `${shape}, ${prefill} tokens`, value: qp.median, unit: 'tok/s', spread: qp.iqr, samples: pre.length },
    { ...base, name: 'decode batch 1', shape: `${shape}, ${steps} steps`, value: qd.median, unit: 'tok/s', spread: qd.iqr, samples: times.length },
  ];
  if (d0 !== null && d1 !== null) {
    const per = (d1 - d0) / steps;
    res.push({ ...base, name: 'dispatches per token', shape, value: per, unit: 'dispatches', spread: 0, samples: steps, ratio: per / m.cfg.nLayers, ratioOf: 'per layer', target: '<= 7 per layer' });
  }
  return res;
}

export async function benchSteering(k: Kernels, configName: string, steps: number, prompts: number): Promise<BenchResult[]> {
  const m = randomModel(BENCH_CONFIGS[configName]!, k, 2, undefined, true);
  const shape = `${configName}: d${m.cfg.dim} L${m.cfg.nLayers}`;
  const base = { suite: 'steering', backend: k.description, dtype: 'f32 act', version: 'engine', shape } as const;
  await decodeLoop(m, 4, true);
  // steering overhead: paired, alternating runs; median of per-pair ratios of mean step time
  const ratios: number[] = [];
  for (let rep = 0; rep < 7; rep++) {
    const first = rep % 2 === 0;
    const a = first ? await decodeLoop(m, steps, false) : null;
    const b = await decodeLoop(m, steps, true);
    const a2 = a ?? (await decodeLoop(m, steps, false));
    const mean = (x: number[]): number => x.reduce((p, q) => p + q, 0) / x.length;
    ratios.push(mean(b) / mean(a2));
  }
  const qr = quantiles(ratios);
  // lambda-grid batching: 8 lambdas x P prompts in one generate() batch vs 8 sequential runs
  const lambdas = [-0.6, -0.4, -0.2, -0.1, 0.1, 0.2, 0.4, 0.6];
  const sites = [`blocks.${m.cfg.nLayers - 1}.hook_resid_post`];
  const rng = new Rng(5);
  const vec = new Float32Array(m.cfg.dim).map(() => rng.uniform() - 0.5);
  const steering = { sites, vectors: vec, preserveNorm: false };
  const promptIds = Array.from({ length: prompts }, (_, i) => Array.from({ length: 8 }, (_, j) => (i * 31 + j * 7 + 1) % m.cfg.vocabSize));
  const req = (lambda: number, p: number[]): Parameters<typeof generate>[1][number] => ({ promptIds: p, maxNewTokens: steps, stopIds: [], steer: { alpha: [lambda], vec: 0, from: 0 } });
  const speedups: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const batched = await generate(m, lambdas.flatMap((l) => promptIds.map((p) => req(l, p))), { steering, maxBatch: lambdas.length * prompts });
    const t1 = performance.now();
    const seq: number[][] = [];
    for (const l of lambdas) for (const r of await generate(m, promptIds.map((p) => req(l, p)), { steering, maxBatch: prompts })) seq.push(r.ids);
    const t2 = performance.now();
    if (batched.some((r, i) => r.ids.join() !== seq[i]!.join())) throw new Error('batched lambda grid differs from sequential runs');
    speedups.push((t2 - t1) / (t1 - t0));
  }
  const qs = quantiles(speedups);
  return [
    { ...base, name: 'steering-overhead', value: qr.median, unit: 'ratio', spread: qr.iqr, samples: ratios.length, ratio: qr.median, ratioOf: 'decode step steered on 5 layers / unsteered', target: '<= 1.02' },
    { ...base, name: 'lambda-batch-speedup', value: qs.median, unit: 'ratio', spread: qs.iqr, samples: speedups.length, ratio: qs.median, ratioOf: `8 lambdas x ${prompts} prompts in one batch vs 8 runs (tokens/s)`, target: '>= 1.5 CPU, >= 4 GPU' },
  ];
}
