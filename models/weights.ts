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

/**
 * One block's weights as the engine holds them: q/k/v stacked into one matrix (one projection,
 * one dispatch) and gate/up stacked likewise, so the forward pass reads each input row once.
 */
export interface LayerWeights<F> {
  attnNorm: F; // [dim]
  wqkv: F; // [qDim + 2 kvDim, dim]  rows: q_proj, then k_proj, then v_proj
  bqkv: F | null; // [qDim + 2 kvDim]
  wo: F; // [dim, qDim]
  bo: F | null; // [dim]
  mlpNorm: F; // [dim]
  wgu: F; // [2 hiddenDim, dim]  rows: gate_proj, then up_proj
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
    for (const p of packedLayout(cfg)) {
      // the sources of a packed tensor are decoded straight into their rows of one array
      const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
      let off = 0;
      for (const name of p.sources) {
        const t = store.tensors.get(name) as TensorInfo;
        const n = t.shape.reduce((a, b) => a * b, 1);
        await readTensorF32(t, data.subarray(off, off + n));
        off += n;
        onProgress?.(++done, want.size, bytes + off * 4);
      }
      loaded.set(p.key, k.adoptF32(data, p.key, p.shape.length === 2 ? p.shape[1] : undefined));
      bytes += data.byteLength;
    }
    const weights = assembleWeights(cfg, loaded);
    return { weights, bytes, unused };
  } finally {
    await store.close();
  }
}

/** An engine tensor and the HF tensors stacked (by rows, in order) to make it. */
export interface PackedTensor {
  key: string;
  sources: string[];
  shape: number[];
}

/** The engine's tensors for a config, each from one or more HF tensors, in load order. */
export function packedLayout(cfg: ModelConfig): PackedTensor[] {
  const { dim, hiddenDim, nHeads, nKvHeads, headDim, vocabSize } = cfg;
  const qkv = (nHeads + 2 * nKvHeads) * headDim;
  const out: PackedTensor[] = [{ key: 'embed', sources: ['model.embed_tokens.weight'], shape: [vocabSize, dim] }];
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `model.layers.${l}.`;
    const a = `model.layers.${l}.self_attn.`;
    out.push({ key: `${l}.attnNorm`, sources: [p + 'input_layernorm.weight'], shape: [dim] });
    out.push({ key: `${l}.wqkv`, sources: [a + 'q_proj.weight', a + 'k_proj.weight', a + 'v_proj.weight'], shape: [qkv, dim] });
    if (cfg.qkvBias) out.push({ key: `${l}.bqkv`, sources: [a + 'q_proj.bias', a + 'k_proj.bias', a + 'v_proj.bias'], shape: [qkv] });
    out.push({ key: `${l}.wo`, sources: [a + 'o_proj.weight'], shape: [dim, nHeads * headDim] });
    if (cfg.oBias) out.push({ key: `${l}.bo`, sources: [a + 'o_proj.bias'], shape: [dim] });
    out.push({ key: `${l}.mlpNorm`, sources: [p + 'post_attention_layernorm.weight'], shape: [dim] });
    out.push({ key: `${l}.wgu`, sources: [p + 'mlp.gate_proj.weight', p + 'mlp.up_proj.weight'], shape: [2 * hiddenDim, dim] });
    out.push({ key: `${l}.wDown`, sources: [p + 'mlp.down_proj.weight'], shape: [dim, hiddenDim] });
  }
  out.push({ key: 'finalNorm', sources: ['model.norm.weight'], shape: [dim] });
  if (!cfg.tiedEmbeddings) out.push({ key: 'lmHead', sources: ['lm_head.weight'], shape: [vocabSize, dim] });
  return out;
}

/** Typed fields from the tensors of packedLayout(cfg), keyed by their `key`. */
export function assembleWeights<F>(cfg: ModelConfig, byKey: Map<string, F>): ModelWeights<F> {
  const get = (n: string): F => {
    const t = byKey.get(n);
    if (t === undefined) throw new Error(`tensor ${n} was not loaded`);
    return t;
  };
  const opt = (n: string): F | null => byKey.get(n) ?? null;
  const layers: LayerWeights<F>[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    layers.push({
      attnNorm: get(`${l}.attnNorm`),
      wqkv: get(`${l}.wqkv`),
      bqkv: opt(`${l}.bqkv`),
      wo: get(`${l}.wo`),
      bo: opt(`${l}.bo`),
      mlpNorm: get(`${l}.mlpNorm`),
      wgu: get(`${l}.wgu`),
      wDown: get(`${l}.wDown`),
    });
  }
  const embed = get('embed');
  return { embed, layers, finalNorm: get('finalNorm'), lmHead: cfg.tiedEmbeddings ? embed : get('lmHead') };
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
