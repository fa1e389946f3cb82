/**
 * Weights: Hugging Face tensor names -> typed fields, every shape checked against the config,
 * loaded tensor by tensor (decoded to f32 in chunks and handed to the backend), so peak memory
 * stays near the size of the loaded weights. With config.ts, the only file that knows HF names.
 */
import type { FileDir } from '../engine/byte-source.js';
import { DsteerError } from '../engine/errors.js';
import type { Kernels } from '../kernels/backend.js';
import { parseConfigText, type ModelConfig } from './config.js';
import { openModelTensors, readTensorF32, type TensorInfo } from './safetensors.js';

export interface LayerWeights<F> {
  attnNorm: F; // [dim]
  wq: F; // [nHeads * headDim, dim]
  wk: F; // [nKvHeads * headDim, dim]
  wv: F; // [nKvHeads * headDim, dim]
  wo: F; // [dim, nHeads * headDim]
  bq: F | null; // [nHeads * headDim]
  bk: F | null; // [nKvHeads * headDim]
  bv: F | null; // [nKvHeads * headDim]
  bo: F | null; // [dim]
  mlpNorm: F; // [dim]
  wGate: F; // [hiddenDim, dim]
  wUp: F; // [hiddenDim, dim]
  wDown: F; // [dim, hiddenDim]
}

export interface ModelWeights<F> {
  embed: F; // [vocab, dim]
  layers: LayerWeights<F>[];
  finalNorm: F; // [dim]
  lmHead: F; // [vocab, dim] (the embedding table itself when tied)
}

/** Extra tensors some checkpoints carry that are recomputed here (not reported as unused). */
const HARMLESS_EXTRA = /\.rotary_emb\.inv_freq$/;

export interface LoadedWeights<F> {
  weights: ModelWeights<F>;
  /** Bytes of f32 weights held by the backend. */
  bytes: number;
  /** Tensor names in the files that were not used. */
  unused: string[];
}

/** Progress callback: tensors done, tensors total, bytes read so far. */
export type LoadProgress = (done: number, total: number, bytes: number) => void;

/** The HF tensor names this config needs, with their expected shapes, in load order. */
export function expectedTensors(cfg: ModelConfig): Map<string, number[]> {
  const { dim, hiddenDim, nHeads, nKvHeads, headDim, vocabSize } = cfg;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [vocabSize, dim]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `model.layers.${l}.`;
    m.set(p + 'input_layernorm.weight', [dim]);
    m.set(p + 'self_attn.q_proj.weight', [qDim, dim]);
    m.set(p + 'self_attn.k_proj.weight', [kvDim, dim]);
    m.set(p + 'self_attn.v_proj.weight', [kvDim, dim]);
    if (cfg.qkvBias) {
      m.set(p + 'self_attn.q_proj.bias', [qDim]);
      m.set(p + 'self_attn.k_proj.bias', [kvDim]);
      m.set(p + 'self_attn.v_proj.bias', [kvDim]);
    }
    m.set(p + 'self_attn.o_proj.weight', [dim, qDim]);
    if (cfg.oBias) m.set(p + 'self_attn.o_proj.bias', [dim]);
    m.set(p + 'post_attention_layernorm.weight', [dim]);
    m.set(p + 'mlp.gate_proj.weight', [hiddenDim, dim]);
    m.set(p + 'mlp.up_proj.weight', [hiddenDim, dim]);
    m.set(p + 'mlp.down_proj.weight', [dim, hiddenDim]);
  }
  m.set('model.norm.weight', [dim]);
  if (!cfg.tiedEmbeddings) m.set('lm_head.weight', [vocabSize, dim]);
  return m;
}

function shapeStr(s: number[]): string {
  return `[${s.join(', ')}]`;
}

/**
 * Loads and checks every weight of a model directory into a backend.
 * @example
 * const cfg = await readModelConfig(dir);
 * const { weights } = await loadWeights(dir, cfg, cpuBackend());
 * assert(weights.layers.length === cfg.nLayers);
 */
export async function loadWeights<F, I>(dir: FileDir, cfg: ModelConfig, k: Kernels<F, I>, onProgress?: LoadProgress): Promise<LoadedWeights<F>> {
  const store = await openModelTensors(dir);
  try {
    const want = expectedTensors(cfg);
    for (const [name, shape] of want) {
      const t = store.tensors.get(name);
      if (!t) throw new DsteerError(`${dir.name}: tensor "${name}" is missing (config.json's ${cfg.modelType} layout with ${cfg.nLayers} layers needs it)`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new DsteerError(`${t.source.name}: tensor "${name}" has shape ${shapeStr(t.shape)} but config.json implies ${shapeStr(shape)}`);
      }
    }
    const unused = [...store.tensors.keys()].filter((n) => !want.has(n) && !(n === 'lm_head.weight' && cfg.tiedEmbeddings) && !HARMLESS_EXTRA.test(n));
    const loaded = new Map<string, F>();
    let done = 0;
    let bytes = 0;
    for (const name of want.keys()) {
      const t = store.tensors.get(name) as TensorInfo;
      const data = await readTensorF32(t);
      loaded.set(name, k.adoptF32(data, name, t.shape.length === 2 ? t.shape[1] : undefined));
      bytes += data.byteLength;
      onProgress?.(++done, want.size, bytes);
    }
    const weights = assembleWeights(cfg, loaded);
    return { weights, bytes, unused };
  } finally {
    await store.close();
  }
}

/** Typed fields from tensors keyed by HF name (all of expectedTensors(cfg) must be present). */
export function assembleWeights<F>(cfg: ModelConfig, byName: Map<string, F>): ModelWeights<F> {
  const get = (n: string): F => {
    const t = byName.get(n);
    if (t === undefined) throw new Error(`tensor ${n} was not loaded`);
    return t;
  };
  const opt = (n: string): F | null => byName.get(n) ?? null;
  const layers: LayerWeights<F>[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `model.layers.${l}.`;
    layers.push({
      attnNorm: get(p + 'input_layernorm.weight'),
      wq: get(p + 'self_attn.q_proj.weight'),
      wk: get(p + 'self_attn.k_proj.weight'),
      wv: get(p + 'self_attn.v_proj.weight'),
      wo: get(p + 'self_attn.o_proj.weight'),
      bq: opt(p + 'self_attn.q_proj.bias'),
      bk: opt(p + 'self_attn.k_proj.bias'),
      bv: opt(p + 'self_attn.v_proj.bias'),
      bo: opt(p + 'self_attn.o_proj.bias'),
      mlpNorm: get(p + 'post_attention_layernorm.weight'),
      wGate: get(p + 'mlp.gate_proj.weight'),
      wUp: get(p + 'mlp.up_proj.weight'),
      wDown: get(p + 'mlp.down_proj.weight'),
    });
  }
  const embed = get('model.embed_tokens.weight');
  return { embed, layers, finalNorm: get('model.norm.weight'), lmHead: cfg.tiedEmbeddings ? embed : get('lm_head.weight') };
}

/**
 * Reads and validates `config.json` of a model directory.
 * @example
 * const cfg = await readModelConfig(dir);
 * assert(cfg.dim === 64 && cfg.nLayers === 3 && cfg.nKvHeads === 2);
 */
export async function readModelConfig(dir: FileDir): Promise<ModelConfig> {
  const text = await dir.readText('config.json');
  if (text === null) throw new DsteerError(`${dir.path('config.json')}: missing (a Hugging Face model folder needs config.json)`);
  return parseConfigText(text, dir.path('config.json'));
}
