/** A model exported as an HF directory loads in the engine and computes exactly what its parameters do. */
import { describe, expect, it } from 'vitest';
import { MemoryDir } from '../../engine/byte-source.js';
import { Rng } from '../../engine/rng.js';
import { cpuBackend } from '../../kernels/backend.js';
import { parseConfig } from '../../models/config.js';
import { loadModel } from '../../models/load.js';
import { feed } from '../../models/run.js';
import { assembleWeights, packedLayout } from '../../models/weights.js';
import { exportHfModel } from '../../train/export.js';

const RAW = {
  model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: 12, max_position_embeddings: 32, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2,
};
const vocab = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`<${i}>`, i]));
const TOKENIZER = JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordLevel', vocab, unk_token: '<0>' } });

describe('exportHfModel', () => {
  it('round trip: the exported directory loads and gives the logits of a model assembled from the same parameters', async () => {
    const cfg = parseConfig(RAW, 'c');
    const rng = new Rng(3);
    const params = new Map(packedLayout(cfg).map((p) => [p.key, new Float32Array(p.shape.reduce((a, b) => a * b, 1)).map(() => rng.uniform() - 0.5)]));
    const files = exportHfModel(RAW, params, { 'tokenizer.json': TOKENIZER });
    const { model } = await loadModel(new MemoryDir('exported', files), cpuBackend());
    const direct = { name: 'direct', cfg, weights: assembleWeights(cfg, params), k: cpuBackend() };
    const ids = [1, 5, 9, 3, 7];
    const get = async (m: typeof model): Promise<Float32Array[]> => {
      const rows: Float32Array[] = [];
      await feed(m, [{ ids, logits: { from: 0, to: ids.length } }], { onLogits: (_s, _p, r) => rows.push(r.slice()) });
      return rows;
    };
    const a = await get(model);
    const b = await get(direct);
    a.forEach((r, i) => expect(Array.from(r), `position ${i}`).toEqual(Array.from(b[i]!)));
    expect(JSON.parse(files['config.json'] as string).architectures).toEqual(['LlamaForCausalLM']);
  });

  it('refuses parameters of the wrong size, naming the tensor', () => {
    const cfg = parseConfig(RAW, 'c');
    const params = new Map(packedLayout(cfg).map((p) => [p.key, new Float32Array(p.shape.reduce((a, b) => a * b, 1))]));
    params.set('0.wqkv', new Float32Array(3));
    expect(() => exportHfModel(RAW, params, {})).toThrow(/parameter 0.wqkv has 3 values/);
  });
});
