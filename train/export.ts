/**
 * Writes trained parameters as a Hugging Face model directory (config.json, model.safetensors with
 * the standard tensor names, tokenizer files), so the engine, or any HF-compatible tool, loads the
 * result like any other checkpoint. Parameters are in the engine's packed layout
 * (models/weights.ts packedLayout: q/k/v and gate/up stacked); export splits them back by rows.
 * Returns file contents; the caller writes them (no file system here).
 */
import { DsteerError } from '../engine/errors.js';
import { parseConfig } from '../models/config.js';
import { encodeSafetensors, type TensorToWrite } from '../models/safetensors.js';
import { expectedTensors, packedLayout } from '../models/weights.js';

/**
 * @example
 * const raw = { model_type: 'llama', hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2,
 *   num_key_value_heads: 1, vocab_size: 16, max_position_embeddings: 32, tie_word_embeddings: true };
 * const params = new Map(packedLayout(parseConfig(raw, 'c')).map((p) => [p.key, new Float32Array(p.shape.reduce((a, b) => a * b, 1))]));
 * const files = exportHfModel(raw, params, {});
 * assert(files['model.safetensors'] instanceof Uint8Array && JSON.parse(files['config.json']).hidden_size === 8);
 */
export function exportHfModel(
  rawConfig: Record<string, unknown>,
  params: Map<string, Float32Array>,
  extraFiles: Record<string, string>,
  metadata: Record<string, string> = {},
): Record<string, string | Uint8Array> & { 'model.safetensors': Uint8Array; 'config.json': string } {
  const cfg = parseConfig(rawConfig, 'config');
  const shapes = expectedTensors(cfg);
  const tensors: TensorToWrite[] = [];
  for (const p of packedLayout(cfg)) {
    const data = params.get(p.key);
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (!data || data.length !== n) throw new DsteerError(`export: parameter ${p.key} has ${data?.length ?? 'no'} values; the config needs ${n}`);
    let off = 0;
    for (const name of p.sources) {
      const shape = shapes.get(name)!;
      const m = shape.reduce((a, b) => a * b, 1);
      tensors.push({ name, dtype: 'F32', shape, data: data.subarray(off, off + m) });
      off += m;
    }
  }
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    ...extraFiles,
    'config.json': JSON.stringify({ architectures: ['LlamaForCausalLM'], torch_dtype: 'float32', ...rawConfig }, null, 2) + '\n',
    'model.safetensors': encodeSafetensors(tensors, { format: 'pt', ...metadata }),
  };
}
