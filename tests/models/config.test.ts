/**
 * config.json parsing: every supported variant, and one test per refused or corrupt case, each
 * checking that the message names the file, the field and what is accepted.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDir } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { cpuBackend } from '../../kernels/backend.js';
import { parseConfig, parseConfigText } from '../../models/config.js';
import { encodeSafetensors } from '../../models/safetensors.js';
import { expectedTensors, loadWeights, readModelConfig } from '../../models/weights.js';

const BASE = {
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 160,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
};

function refused(patch: Record<string, unknown>, re: RegExp): void {
  let err: unknown;
  try {
    parseConfig({ ...BASE, ...patch }, 'm/config.json');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DsteerError);
  expect((err as Error).message).toMatch(/^m\/config.json: /);
  expect((err as Error).message).toMatch(re);
}

describe('config.json: supported variants', () => {
  it('llama defaults: head_dim from hidden/heads, untied, no bias, context = max positions', () => {
    const c = parseConfig(BASE, 'config.json');
    expect(c).toMatchObject({ modelType: 'llama', dim: 64, hiddenDim: 160, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 16, vocabSize: 100 });
    expect(c).toMatchObject({ tiedEmbeddings: false, qkvBias: false, oBias: false, maxContext: 256, ropeTheta: 10000, ropeScaling: null, normEps: 1e-5 });
  });
  it('num_key_value_heads absent means multi-head attention', () => {
    const { num_key_value_heads: _, ...noKv } = BASE;
    expect(parseConfig(noKv, 'c').nKvHeads).toBe(4);
  });
  it('explicit head_dim wins (e.g. 128 with hidden 64 x 4 heads)', () => expect(parseConfig({ ...BASE, head_dim: 32 }, 'c').headDim).toBe(32));
  it('qwen2 has q/k/v bias and no o bias; llama attention_bias gives both', () => {
    expect(parseConfig({ ...BASE, model_type: 'qwen2' }, 'c')).toMatchObject({ qkvBias: true, oBias: false });
    expect(parseConfig({ ...BASE, attention_bias: true }, 'c')).toMatchObject({ qkvBias: true, oBias: true });
  });
  it('rope_scaling: null, default (rope_type or type) and llama3', () => {
    expect(parseConfig({ ...BASE, rope_scaling: null }, 'c').ropeScaling).toBeNull();
    expect(parseConfig({ ...BASE, rope_scaling: { rope_type: 'default' } }, 'c').ropeScaling).toBeNull();
    expect(parseConfig({ ...BASE, rope_scaling: { type: 'default' } }, 'c').ropeScaling).toBeNull();
    const l3 = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const want = { kind: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
    expect(parseConfig({ ...BASE, rope_scaling: { rope_type: 'llama3', ...l3 } }, 'c').ropeScaling).toEqual(want);
    expect(parseConfig({ ...BASE, rope_scaling: { type: 'llama3', ...l3 } }, 'c').ropeScaling).toEqual(want);
  });
  it('sliding windows: unused (qwen2 use_sliding_window false), null, or larger than the context are ignored; a smaller one caps the context', () => {
    expect(parseConfig({ ...BASE, model_type: 'qwen2', use_sliding_window: false, sliding_window: 16 }, 'c').maxContext).toBe(256);
    expect(parseConfig({ ...BASE, model_type: 'mistral', sliding_window: null }, 'c').maxContext).toBe(256);
    expect(parseConfig({ ...BASE, model_type: 'mistral', sliding_window: 4096 }, 'c').maxContext).toBe(256);
    expect(parseConfig({ ...BASE, model_type: 'mistral', sliding_window: 128 }, 'c').maxContext).toBe(128);
  });
  it('eos_token_id as a number or a list; bos may be null', () => {
    expect(parseConfig({ ...BASE, eos_token_id: [128001, 128009], bos_token_id: null }, 'c')).toMatchObject({ eosTokenIds: [128001, 128009], bosTokenId: null });
    expect(parseConfig({ ...BASE, eos_token_id: 2, bos_token_id: 1 }, 'c')).toMatchObject({ eosTokenIds: [2], bosTokenId: 1 });
  });
});

describe('config.json: each refused or corrupt case has its clear error', () => {
  it('not JSON', () => expect(() => parseConfigText('{"model_type": ', 'm/config.json')).toThrow(/^m\/config.json: not valid JSON/));
  it('not an object', () => expect(() => parseConfigText('[1, 2]', 'm/config.json')).toThrow(/^m\/config.json: expected a JSON object/));
  it('unsupported model_type', () => refused({ model_type: 'gemma2' }, /field "model_type" is "gemma2" \(supported: llama, mistral, qwen2\)/));
  it('missing model_type', () => refused({ model_type: undefined }, /field "model_type" is undefined \(supported: llama, mistral, qwen2\)/));
  it('hidden_act other than silu', () => refused({ hidden_act: 'gelu' }, /field "hidden_act" is "gelu" \(supported: "silu"\)/));
  it('mlp_bias', () => refused({ mlp_bias: true }, /field "mlp_bias" is true/));
  it('missing hidden_size', () => refused({ hidden_size: undefined }, /field "hidden_size" is missing \(expected a positive integer\)/));
  it('non-integer num_hidden_layers', () => refused({ num_hidden_layers: 2.5 }, /field "num_hidden_layers" is 2.5 \(expected a positive integer\)/));
  it('negative vocab_size', () => refused({ vocab_size: -1 }, /field "vocab_size" is -1/));
  it('string rms_norm_eps', () => refused({ rms_norm_eps: '1e-5' }, /field "rms_norm_eps" is "1e-5" \(expected a positive number\)/));
  it('kv heads not dividing heads', () => refused({ num_key_value_heads: 3 }, /field "num_key_value_heads" \(3\) must divide num_attention_heads \(4\)/));
  it('hidden_size not a multiple of heads without head_dim', () => refused({ hidden_size: 66 }, /field "hidden_size" \(66\) is not a multiple of num_attention_heads \(4\)/));
  it('odd head_dim', () => refused({ head_dim: 15 }, /field "head_dim" is 15 \(RoPE needs an even head dimension\)/));
  it('unsupported rope scaling type', () => refused({ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /field "rope_scaling.rope_type" is "yarn" \(supported: "default", "llama3"\)/));
  it('unsupported rope scaling under the old key', () => refused({ rope_scaling: { type: 'linear', factor: 2 } }, /field "rope_scaling.type" is "linear"/));
  it('llama3 scaling without factor', () => refused({ rope_scaling: { rope_type: 'llama3', low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }, /field "factor" is missing/));
  it('llama3 scaling with high <= low frequency factor', () =>
    refused({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 8192 } }, /high_freq_factor.*must exceed low_freq_factor/));
  it('rope_scaling not an object', () => refused({ rope_scaling: 'llama3' }, /field "rope_scaling" is "llama3" \(expected an object or null\)/));
  it('bad sliding_window', () => refused({ model_type: 'mistral', sliding_window: -5 }, /field "sliding_window" is -5/));
  it('bad eos_token_id', () => refused({ eos_token_id: 'eos' }, /field "eos_token_id" is "eos" \(expected a token id or a list of them\)/));
  it('non-boolean tie_word_embeddings', () => refused({ tie_word_embeddings: 'yes' }, /field "tie_word_embeddings" is "yes" \(expected true or false\)/));
});

describe('weights: missing and mis-shaped tensors are named', () => {
  const cfgText = JSON.stringify({ ...BASE, num_hidden_layers: 1, vocab_size: 8, hidden_size: 8, intermediate_size: 12, num_attention_heads: 2, num_key_value_heads: 1 });
  function tensors(skip?: string, reshape?: string): Uint8Array {
    const cfg = parseConfigText(cfgText, 'config.json');
    return encodeSafetensors(
      [...expectedTensors(cfg)]
        .filter(([n]) => n !== skip)
        .map(([name, shape]) => {
          const s = name === reshape ? [shape[0]! + 1, ...shape.slice(1)] : shape;
          return { name, dtype: 'F32' as const, shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)) };
        }),
    );
  }
  async function load(files: Record<string, Uint8Array | string>): Promise<unknown> {
    const dir = new MemoryDir('m', files);
    return loadWeights(dir, await readModelConfig(dir), cpuBackend());
  }
  it('a complete checkpoint loads', async () => {
    const r = (await load({ 'config.json': cfgText, 'model.safetensors': tensors() })) as { bytes: number; unused: string[] };
    expect(r.unused).toEqual([]);
    expect(r.bytes).toBeGreaterThan(0);
  });
  it('missing config.json', async () => expect(load({})).rejects.toThrow(/m\/config.json: missing/));
  it('missing tensor', async () =>
    expect(load({ 'config.json': cfgText, 'model.safetensors': tensors('model.layers.0.mlp.up_proj.weight') })).rejects.toThrow(
      /m: tensor "model.layers.0.mlp.up_proj.weight" is missing/,
    ));
  it('untied model without lm_head', async () => expect(load({ 'config.json': cfgText, 'model.safetensors': tensors('lm_head.weight') })).rejects.toThrow(/"lm_head.weight" is missing/));
  it('wrong shape', async () =>
    expect(load({ 'config.json': cfgText, 'model.safetensors': tensors(undefined, 'model.layers.0.self_attn.k_proj.weight') })).rejects.toThrow(
      /m\/model.safetensors: tensor "model.layers.0.self_attn.k_proj.weight" has shape \[5, 8\] but config.json implies \[4, 8\]/,
    ));
  it('extra tensors are reported as unused, not fatal', async () => {
    const cfg = parseConfigText(cfgText, 'config.json');
    const extra = encodeSafetensors([
      ...[...expectedTensors(cfg)].map(([name, shape]) => ({ name, dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) })),
      { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [4], data: new Float32Array(4) },
      { name: 'value_head.weight', dtype: 'F32', shape: [8], data: new Float32Array(8) },
    ]);
    const r = (await load({ 'config.json': cfgText, 'model.safetensors': extra })) as { unused: string[] };
    expect(r.unused).toEqual(['value_head.weight']);
  });
});
