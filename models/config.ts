/**
 * Hugging Face `config.json` -> a typed, validated ModelConfig. The only file (with weights.ts)
 * that knows Hugging Face field names; everything else uses the camelCase fields below.
 */
import { DsteerError } from '../engine/errors.js';

/** Llama 3 frequency-dependent RoPE scaling (`rope_scaling.rope_type = "llama3"`). */
export interface Llama3RopeScaling {
  kind: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

/** A Llama-family decoder, validated. */
export interface ModelConfig {
  modelType: 'llama' | 'mistral' | 'qwen2';
  /** Residual stream width (hidden_size). */
  dim: number;
  /** SwiGLU inner width (intermediate_size). */
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  vocabSize: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  normEps: number;
  /** LM head shares the embedding table. */
  tiedEmbeddings: boolean;
  /** q/k/v projections carry a bias (qwen2 always; llama with attention_bias). */
  qkvBias: boolean;
  /** o projection carries a bias (llama with attention_bias). */
  oBias: boolean;
  /** Longest context this engine will run: max_position_embeddings, capped by an active sliding window. */
  maxContext: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** Storage dtype the checkpoint declares (informational; tensors carry their own dtype). */
  torchDtype: string | null;
}

const SUPPORTED = ['llama', 'mistral', 'qwen2'] as const;

type Json = Record<string, unknown>;

function fail(file: string, field: string, msg: string): never {
  throw new DsteerError(`${file}: field "${field}" ${msg}`);
}

function posInt(c: Json, file: string, field: string, fallback?: number): number {
  const v = c[field];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    fail(file, field, 'is missing (expected a positive integer)');
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(file, field, `is ${JSON.stringify(v)} (expected a positive integer)`);
  return v;
}

function posNum(c: Json, file: string, field: string, fallback?: number): number {
  const v = c[field];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    fail(file, field, 'is missing (expected a positive number)');
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(file, field, `is ${JSON.stringify(v)} (expected a positive number)`);
  return v;
}

function bool(c: Json, file: string, field: string, fallback: boolean): boolean {
  const v = c[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(file, field, `is ${JSON.stringify(v)} (expected true or false)`);
  return v;
}

function tokenIds(v: unknown, file: string, field: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) fail(file, field, `is ${JSON.stringify(v)} (expected a token id or a list of them)`);
  }
  return list as number[];
}

function parseRopeScaling(c: Json, file: string): Llama3RopeScaling | null {
  const rs = c['rope_scaling'];
  if (rs === undefined || rs === null) return null;
  if (typeof rs !== 'object' || Array.isArray(rs)) fail(file, 'rope_scaling', `is ${JSON.stringify(rs)} (expected an object or null)`);
  const r = rs as Json;
  const kind = r['rope_type'] ?? r['type'];
  const key = r['rope_type'] !== undefined ? 'rope_scaling.rope_type' : 'rope_scaling.type';
  if (kind === 'default') return null;
  if (kind !== 'llama3') fail(file, key, `is ${JSON.stringify(kind)} (supported: "default", "llama3")`);
  const s: Llama3RopeScaling = {
    kind: 'llama3',
    factor: posNum(r, file, 'factor'),
    lowFreqFactor: posNum(r, file, 'low_freq_factor'),
    highFreqFactor: posNum(r, file, 'high_freq_factor'),
    originalMaxPositions: posInt(r, file, 'original_max_position_embeddings'),
  };
  if (s.highFreqFactor <= s.lowFreqFactor) {
    fail(file, 'rope_scaling.high_freq_factor', `(${s.highFreqFactor}) must exceed low_freq_factor (${s.lowFreqFactor})`);
  }
  return s;
}

/**
 * Validates a parsed config.json. `file` names the file in error messages.
 * @example
 * const cfg = parseConfig({ model_type: 'llama', hidden_size: 64, intermediate_size: 172,
 *   num_hidden_layers: 5, num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 512,
 *   max_position_embeddings: 512, rms_norm_eps: 1e-5 }, 'config.json');
 * assert(cfg.headDim === 8 && cfg.nKvHeads === 4 && cfg.tiedEmbeddings === false);
 */
export function parseConfig(raw: unknown, file: string): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DsteerError(`${file}: expected a JSON object`);
  const c = raw as Json;
  const modelType = c['model_type'];
  if (!SUPPORTED.includes(modelType as (typeof SUPPORTED)[number])) {
    fail(file, 'model_type', `is ${JSON.stringify(modelType)} (supported: ${SUPPORTED.join(', ')})`);
  }
  const mt = modelType as ModelConfig['modelType'];
  const act = c['hidden_act'] ?? 'silu';
  if (act !== 'silu') fail(file, 'hidden_act', `is ${JSON.stringify(act)} (supported: "silu")`);
  if (bool(c, file, 'mlp_bias', false)) fail(file, 'mlp_bias', 'is true (MLP biases are not supported)');

  const dim = posInt(c, file, 'hidden_size');
  const nHeads = posInt(c, file, 'num_attention_heads');
  const nKvHeads = posInt(c, file, 'num_key_value_heads', nHeads);
  if (nHeads % nKvHeads !== 0) fail(file, 'num_key_value_heads', `(${nKvHeads}) must divide num_attention_heads (${nHeads})`);
  let headDim: number;
  if (c['head_dim'] !== undefined && c['head_dim'] !== null) headDim = posInt(c, file, 'head_dim');
  else {
    if (dim % nHeads !== 0) fail(file, 'hidden_size', `(${dim}) is not a multiple of num_attention_heads (${nHeads}) and head_dim is absent`);
    headDim = dim / nHeads;
  }
  if (headDim % 2 !== 0) fail(file, 'head_dim', `is ${headDim} (RoPE needs an even head dimension)`);

  const maxPositions = posInt(c, file, 'max_position_embeddings', 2048);
  let maxContext = maxPositions;
  // A sliding window never acts when the context is no longer than the window, so we cap the
  // context at the window instead of implementing windowed attention.
  const useSw = mt === 'qwen2' ? bool(c, file, 'use_sliding_window', false) : true;
  const sw = c['sliding_window'];
  if (useSw && sw !== undefined && sw !== null) {
    if (typeof sw !== 'number' || !Number.isInteger(sw) || sw <= 0) fail(file, 'sliding_window', `is ${JSON.stringify(sw)} (expected null or a positive integer)`);
    maxContext = Math.min(maxContext, sw);
  }

  const attnBias = bool(c, file, 'attention_bias', false);
  const eos = tokenIds(c['eos_token_id'], file, 'eos_token_id');
  const bos = tokenIds(c['bos_token_id'], file, 'bos_token_id');
  const dtype = c['torch_dtype'] ?? c['dtype'] ?? null;

  return {
    modelType: mt,
    dim,
    hiddenDim: posInt(c, file, 'intermediate_size'),
    nLayers: posInt(c, file, 'num_hidden_layers'),
    nHeads,
    nKvHeads,
    headDim,
    vocabSize: posInt(c, file, 'vocab_size'),
    ropeTheta: posNum(c, file, 'rope_theta', 10000),
    ropeScaling: parseRopeScaling(c, file),
    normEps: posNum(c, file, 'rms_norm_eps', 1e-6),
    tiedEmbeddings: bool(c, file, 'tie_word_embeddings', false),
    qkvBias: mt === 'qwen2' || attnBias,
    oBias: mt !== 'qwen2' && attnBias,
    maxContext,
    bosTokenId: bos.length > 0 ? bos[0]! : null,
    eosTokenIds: eos,
    torchDtype: typeof dtype === 'string' ? dtype : null,
  };
}

/**
 * Reads and validates `config.json` text.
 * @example
 * let err: unknown;
 * try { parseConfigText('{"model_type": "llama",}', 'config.json'); } catch (e) { err = e; }
 * assert(err instanceof DsteerError && err.message.startsWith('config.json: not valid JSON'));
 */
export function parseConfigText(text: string, file: string): ModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DsteerError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, file);
}
