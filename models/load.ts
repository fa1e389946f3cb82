/**
 * Loading a Hugging Face model directory: config, tokenizer, weights, onto a backend.
 */
import type { FileDir } from '../engine/byte-source.js';
import type { Kernels } from '../kernels/backend.js';
import type { Model } from './llama.js';
import { loadTokenizer, type ModelTokenizer } from './tokenizer.js';
import { loadWeights, readModelConfig, type LoadProgress } from './weights.js';

export interface LoadedModel<F, I> {
  model: Model<F, I>;
  tokenizer: ModelTokenizer;
  /** Bytes of f32 weights held by the backend. */
  weightBytes: number;
  /** Tensors in the files the model does not use. */
  unused: string[];
}

/**
 * Loads config.json, the tokenizer files and the weights of `dir` onto backend `k`.
 * @example
 * const { model, tokenizer } = await loadModel(await NodeDir.open(modelDir), cpuBackend());
 * assert(model.cfg.dim === 64 && tokenizer.decode([5, 9]) === '<5> <9>');
 */
export async function loadModel<F, I>(dir: FileDir, k: Kernels<F, I>, onProgress?: LoadProgress): Promise<LoadedModel<F, I>> {
  const cfg = await readModelConfig(dir);
  const tokenizer = await loadTokenizer(dir, { bosTokenId: cfg.bosTokenId, eosTokenIds: cfg.eosTokenIds });
  // eos ids from generation_config.json and tokenizer_config.json count for generation too
  cfg.eosTokenIds = tokenizer.eosIds;
  const { weights, bytes, unused } = await loadWeights(dir, cfg, k, onProgress);
  return { model: { name: dir.name, cfg, weights, k }, tokenizer, weightBytes: bytes, unused };
}
