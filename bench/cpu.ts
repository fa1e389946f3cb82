/**
 * CPU backend benchmarks (issue: engine core). Every figure is validated before it is timed.
 * - linear: the linear twin's GFLOP/s on 1x4096 and 64x4096 inputs by a 4096x4096 weight.
 * - decode: stories260k greedy decode tokens/s at batch 1, and the steered / unsteered step-time
 *   ratio (steering on every layer; target <= 1.02).
 * - load: peak resident memory while loading a synthetic ~200 MB checkpoint, over the bytes its
 *   weights occupy once loaded (target <= 1.3x), measured in a fresh child process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { NodeDir } from '../engine/byte-source-node.js';
import { Rng } from '../engine/rng.js';
import { cpuBackend } from '../kernels/backend.js';
import { linearRef } from '../kernels/linear.ref.js';
import { BatchBuilder } from '../models/batch.js';
import { generate } from '../models/generate.js';
import { createRunState, forward, setSteering, type Model } from '../models/llama.js';
import { loadModel } from '../models/load.js';
import { encodeSafetensors, type TensorToWrite } from '../models/safetensors.js';
import { expectedTensors } from '../models/weights.js';
import { parseConfig } from '../models/config.js';
import { quantiles, type BenchResult } from './report.js';

const VERSION = 'cpu-twins-1';

function randomArray(n: number, rng: Rng, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.uniform() * 2 - 1) * scale;
  return a;
}

async function timeTask(fn: () => void, ms: number): Promise<number[]> {
  const b = new Bench({ time: ms, warmupTime: Math.min(200, ms / 4) });
  b.add('t', fn);
  await b.run();
  const t = b.tasks[0]!.result as unknown as { samples?: number[]; latency?: { samples?: number[] } };
  const samples = t.latency?.samples ?? t.samples ?? [];
  if (samples.length === 0) throw new Error('tinybench returned no samples');
  return samples; // milliseconds per call
}

export async function benchLinear(ms: number): Promise<BenchResult[]> {
  const rng = new Rng(1);
  const out: BenchResult[] = [];
  const K = 4096;
  const N = 4096;
  const w = randomArray(N * K, rng, 0.02);
  for (const rows of [1, 64]) {
    const x = randomArray(rows * K, rng);
    const y = new Float32Array(rows * N);
    linearRef(y, x, w, null, rows, K, N);
    // validate a few outputs against a plain dot product before timing
    for (const [r, o] of [[0, 0], [rows - 1, N - 1], [Math.floor(rows / 2), 1234]] as const) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[r * K + k]! * w[o * K + k]!;
      if (Math.abs(Math.fround(s) - y[r * N + o]!) > 1e-5 * Math.max(1, Math.abs(s))) throw new Error(`linear twin wrong at (${r}, ${o})`);
    }
    const samples = await timeTask(() => linearRef(y, x, w, null, rows, K, N), ms);
    const flops = 2 * rows * K * N;
    const g = samples.map((t) => flops / (t / 1000) / 1e9);
    const q = quantiles(g);
    out.push({ suite: 'cpu', name: 'linear', backend: 'cpu', shape: `${rows}x${K} . ${N}x${K}^T`, dtype: 'f32', version: VERSION, value: q.median, unit: 'GFLOP/s', spread: q.iqr, samples: g.length });
  }
  return out;
}

export async function benchDecode(modelDir: string, steps: number): Promise<BenchResult[]> {
  const k = cpuBackend();
  const { model } = await loadModel(await NodeDir.open(modelDir), k);
  const m = model as Model<Float32Array, Int32Array>;
  const cfg = m.cfg;
  const maxSeq = Math.min(cfg.maxContext, steps + 1);
  const rng = new Rng(7);
  const sites = Array.from({ length: cfg.nLayers }, (_, l) => `blocks.${l}.hook_resid_post`);
  const vectors = randomArray(sites.length * cfg.dim, rng, 0.1);

  // Greedy decode from BOS, one token per forward, argmax on the logits: the generate() hot path
  // without the request bookkeeping. Returns seconds per token for each step.
  const run = (steered: boolean): { perStep: number[]; ids: number[] } => {
    const s = createRunState(m, { maxRows: 1, maxOut: 1, nSlots: 1, maxSeq });
    if (steered) setSteering(m, s, sites, vectors, false);
    const bb = new BatchBuilder(1, 1, 0, sites.length);
    const steer = { alpha: sites.map(() => 0.5), vec: 0, from: 0 };
    const out = new Int32Array(1);
    let id = cfg.bosTokenId ?? 1;
    const ids: number[] = [];
    const perStep: number[] = [];
    for (let p = 0; p < maxSeq - 1; p++) {
      const t0 = performance.now();
      bb.reset();
      bb.add(0, id, p, true, false, steered ? steer : null);
      forward(m, s, bb.batch());
      k.argmax(out, s.logits, 1, cfg.vocabSize);
      id = out[0]!;
      perStep.push((performance.now() - t0) / 1000);
      ids.push(id);
    }
    return { perStep, ids };
  };
  run(false); // warm up the JIT
  run(true);
  // Paired, alternating repetitions: the ratio is the median of per-pair ratios, which cancels
  // most of the drift of a shared machine.
  const plain: number[] = [];
  const steered: number[] = [];
  const ratios: number[] = [];
  let ref: number[] | null = null;
  for (let rep = 0; rep < 11; rep++) {
    const first = rep % 2 === 0;
    const b0 = first ? null : run(true);
    const a = run(false);
    const b = b0 ?? run(true);
    ref ??= a.ids;
    if (a.ids.join() !== ref.join()) throw new Error('decode is not deterministic');
    const tp = a.perStep.length / a.perStep.reduce((x, y) => x + y, 0);
    const ts = b.perStep.length / b.perStep.reduce((x, y) => x + y, 0);
    plain.push(tp);
    steered.push(ts);
    ratios.push(tp / ts);
  }
  const qp = quantiles(plain);
  const qs = quantiles(steered);
  const qr = quantiles(ratios);
  // the full generate() path (request bookkeeping, sampling kernel, read-back) at batch 1
  const gen: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    const [r] = await generate(m, [{ promptIds: [cfg.bosTokenId ?? 1], maxNewTokens: maxSeq - 1, stopIds: [] }]);
    if (r!.ids.join() !== ref!.join()) throw new Error('generate() disagrees with the bare decode loop');
    gen.push(r!.ids.length / ((performance.now() - t0) / 1000));
  }
  const qg = quantiles(gen);
  const shape = `${cfg.nLayers}L d${cfg.dim} batch 1, ${maxSeq - 1} steps`;
  return [
    { suite: 'cpu', name: 'decode stories260k', backend: 'cpu', shape, dtype: 'f32', version: VERSION, value: qp.median, unit: 'tok/s', spread: qp.iqr, samples: plain.length, target: '>= 1000 tok/s' },
    { suite: 'cpu', name: 'generate() stories260k', backend: 'cpu', shape, dtype: 'f32', version: VERSION, value: qg.median, unit: 'tok/s', spread: qg.iqr, samples: gen.length, target: '>= 1000 tok/s' },
    { suite: 'cpu', name: `decode steered (${sites.length} layers)`, backend: 'cpu', shape, dtype: 'f32', version: VERSION, value: qs.median, unit: 'tok/s', spread: qs.iqr, samples: steered.length, ratio: qr.median, ratioOf: 'step time steered/plain, paired', target: '<= 1.02' },
  ];
}

/** Writes a synthetic f16 Llama checkpoint of about `targetMB` of f32 weights. */
function writeSyntheticModel(dir: string, targetMB: number): void {
  const dim = 1024;
  const hidden = 2816;
  const vocab = 8192;
  const perLayer = 4 * dim * dim + 3 * dim * hidden;
  const nLayers = Math.max(1, Math.round((targetMB * 2 ** 20) / 4 / perLayer - (2 * vocab * dim) / perLayer));
  const raw = {
    model_type: 'llama', hidden_size: dim, intermediate_size: hidden, num_hidden_layers: nLayers, num_attention_heads: 16,
    num_key_value_heads: 16, vocab_size: vocab, max_position_embeddings: 2048, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  };
  const cfg = parseConfig(raw, 'synthetic');
  const rng = new Rng(3);
  const tensors: TensorToWrite[] = [...expectedTensors(cfg)].map(([name, shape]) => ({
    name, dtype: 'F16', shape, data: randomArray(shape.reduce((a, b) => a * b, 1), rng, 0.02),
  }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  const vocabJson = Object.fromEntries(Array.from({ length: vocab }, (_, i) => [`<${i}>`, i]));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({
    version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null,
    model: { type: 'WordLevel', vocab: vocabJson, unk_token: '<0>' },
  }));
}

/** In a child process: peak RSS while loading, over the f32 weight bytes. */
export async function benchLoad(targetMB: number): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dsteer-load-'));
  try {
    writeSyntheticModel(dir, targetMB);
    const child = fileURLToPath(new URL('./load-child.js', import.meta.url));
    const r = spawnSync(process.execPath, [child, dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`load child failed: ${r.stderr}`);
    const j = JSON.parse(r.stdout) as { baseline: number; peak: number; weightBytes: number; ms: number; fileBytes: number };
    const ratio = (j.peak - j.baseline) / j.weightBytes;
    const shape = `${(j.fileBytes / 2 ** 20).toFixed(0)} MiB f16 file -> ${(j.weightBytes / 2 ** 20).toFixed(0)} MiB f32`;
    return [
      { suite: 'cpu', name: 'load peak RSS', backend: 'cpu', shape, dtype: 'f16->f32', version: VERSION, value: (j.peak - j.baseline) / 2 ** 20, unit: 'MiB', spread: 0, samples: 1, ratio, ratioOf: '(peak - baseline RSS) / weight bytes', target: '<= 1.3' },
      { suite: 'cpu', name: 'load time', backend: 'cpu', shape, dtype: 'f16->f32', version: VERSION, value: j.ms, unit: 'ms', spread: 0, samples: 1 },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function haveDir(p: string): boolean {
  return existsSync(join(p, 'config.json'));
}

export function readVmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}
