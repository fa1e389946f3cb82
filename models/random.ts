/**
 * Models with random weights built in memory from a config: benchmarks measure any shape (an
 * 8B-shaped model on a GPU) without files, and tests get models of awkward shapes.
 */
import { Rng } from '../engine/rng.js';
import type { Kernels } from '../kernels/backend.js';
import { parseConfig, type ModelConfig } from './config.js';
import type { Model } from './llama.js';
import { assembleWeights, packedLayout } from './weights.js';

const TILE = 1 << 16;

/**
 * A model with weights drawn uniformly from [-scale, scale] (norm weights 1, biases small); `fast`
 * repeats one random tile of 65,536 values instead (for benchmarking large shapes quickly).
 * @example
 * const m = randomModel({ model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
 *   num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64, max_position_embeddings: 64 }, cpuBackend(), 1);
 * assert(m.cfg.nLayers === 2 && m.weights.layers.length === 2);
 */
export function randomModel<F, I>(rawConfig: Record<string, unknown>, k: Kernels<F, I>, seed: number, scale?: number, fast = false): Model<F, I> {
  const cfg: ModelConfig = parseConfig(rawConfig, 'random model config');
  const rng = new Rng(seed);
  const s = scale ?? 1 / Math.sqrt(cfg.dim);
  const made = new Map<string, F>();
  for (const { key, sources, shape } of packedLayout(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (sources[0]!.endsWith('norm.weight')) data.fill(1);
    else if (fast && n > TILE) {
      // benchmarks of billion-parameter shapes: a random tile repeated (the values do not matter to speed)
      for (let i = 0; i < TILE; i++) data[i] = (rng.uniform() * 2 - 1) * s;
      for (let i = TILE; i < n; i += TILE) data.copyWithin(i, 0, Math.min(TILE, n - i));
    } else for (let i = 0; i < n; i++) data[i] = (rng.uniform() * 2 - 1) * (sources[0]!.endsWith('.bias') ? 0.1 : s);
    made.set(key, k.adoptF32(data, key, shape.length === 2 ? shape[1] : undefined));
  }
  const weights = assembleWeights(cfg, made);
  return { name: `random(${cfg.modelType} d${cfg.dim} L${cfg.nLayers} seed ${seed})`, cfg, weights, k };
}
