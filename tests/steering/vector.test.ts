import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MemorySource } from '../../engine/byte-source.js';
import { FileSource } from '../../engine/byte-source-node.js';
import { DsteerError } from '../../engine/errors.js';
import { parseConfigText } from '../../models/config.js';
import { encodeSafetensors, type TensorToWrite } from '../../models/safetensors.js';
import { encodeVectorFile, readVectorFile, selectLayers, validateVectors, type SteeringVectors } from '../../steering/vector.js';

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

function dsteerError(fn: () => unknown): Promise<DsteerError> {
  return (async () => {
    try {
      await fn();
    } catch (e) {
      expect(e).toBeInstanceOf(DsteerError);
      return e as DsteerError;
    }
    throw new Error('expected a DsteerError, but nothing was thrown');
  })();
}

const vec = (...xs: number[]) => new Float32Array(xs);

/** A safetensors file with the given tensors and metadata (format "1" unless overridden). */
function file(name: string, tensors: Partial<TensorToWrite>[], metadata: Record<string, string> = { 'dsteer.format': '1' }): MemorySource {
  const full = tensors.map((t) => ({ dtype: 'F32' as const, shape: [t.data!.length], ...t }) as TensorToWrite);
  return new MemorySource(name, encodeSafetensors(full, metadata));
}

function sv(names: string[], dim = 4): SteeringVectors {
  return { vectors: new Map(names.map((n) => [n, new Float32Array(dim)])), provenance: null, file: 'v.safetensors' };
}

describe('encodeVectorFile -> readVectorFile', () => {
  it('round-trips vectors and provenance, in forward order', async () => {
    const vectors = new Map([
      ['blocks.3.hook_resid_post', vec(1, 2, 3)],
      ['blocks.1.hook_resid_post', vec(-1, 0.5, 0)],
      ['blocks.1.hook_resid_mid', vec(4, 5, 6)],
      ['blocks.10.hook_resid_post', vec(7, 8, 9)],
    ]);
    const provenance = { method: 'mean-diff', pairs: 128, norms: [1.5, 2] };
    const back = await readVectorFile(new MemorySource('rt.safetensors', encodeVectorFile(vectors, provenance)));
    expect(back.file).toBe('rt.safetensors');
    expect([...back.vectors.keys()]).toEqual(['blocks.1.hook_resid_mid', 'blocks.1.hook_resid_post', 'blocks.3.hook_resid_post', 'blocks.10.hook_resid_post']);
    for (const [k, v] of vectors) expect([...back.vectors.get(k)!]).toEqual([...v]);
    expect(back.provenance).toEqual(provenance);
  });

  it('has null provenance when none was written', async () => {
    const back = await readVectorFile(new MemorySource('v.safetensors', encodeVectorFile(new Map([['blocks.0.hook_resid_post', vec(1)]]))));
    expect(back.provenance).toBeNull();
  });

  it('accepts F16 and BF16 tensors, converted to f32', async () => {
    const src = file('half.safetensors', [
      { name: 'blocks.0.hook_resid_post', dtype: 'F16', data: vec(1, -2.5, 0.1) },
      { name: 'blocks.1.hook_resid_post', dtype: 'BF16', data: vec(1, -2.5, 0.1) },
    ]);
    const back = await readVectorFile(src);
    expect([...back.vectors.get('blocks.0.hook_resid_post')!]).toEqual([1, -2.5, 0.0999755859375]);
    expect([...back.vectors.get('blocks.1.hook_resid_post')!]).toEqual([1, -2.5, 0.10009765625]);
  });

  it('runs the TSDoc examples', async () => {
    const s = await readVectorFile(new MemorySource('v.safetensors', encodeVectorFile(new Map([['blocks.1.hook_resid_post', vec(0.5, -1)]]))));
    expect([...s.vectors.keys()]).toEqual(['blocks.1.hook_resid_post']);
    expect(s.provenance).toBeNull();
    const bytes = encodeVectorFile(new Map([['blocks.0.hook_resid_post', new Float32Array(64)]]), { method: 'mean-diff' });
    const r = await readVectorFile(new MemorySource('w.safetensors', bytes));
    expect(() => validateVectors(r, { dim: 64, nLayers: 5 })).not.toThrow();
    const three = sv(['blocks.0.hook_resid_post', 'blocks.1.hook_resid_mid', 'blocks.2.hook_resid_post']);
    expect(selectLayers(three, null)).toEqual(['blocks.0.hook_resid_post', 'blocks.1.hook_resid_mid', 'blocks.2.hook_resid_post']);
    expect(selectLayers(three, [2, 0])).toEqual(['blocks.2.hook_resid_post', 'blocks.0.hook_resid_post']);
  });

  it('refuses to write a name that is not a steerable hook', () => {
    expect(() => encodeVectorFile(new Map([['blocks.0.hook_resid_pre', vec(1)]]))).toThrow(
      'vector file writer: blocks.0.hook_resid_pre is not a steerable hook name',
    );
  });
});

describe('bad vector files (each error names the file and the fault)', () => {
  const ok = { name: 'blocks.0.hook_resid_post', data: vec(1, 2) };

  it('not a safetensors file', async () => {
    const e = await dsteerError(() => readVectorFile(new MemorySource('junk.safetensors', new TextEncoder().encode('hello'))));
    expect(e.message).toMatch(/^junk\.safetensors: not a safetensors file/);
  });

  it('missing dsteer.format', async () => {
    const e = await dsteerError(() => readVectorFile(file('nofmt.safetensors', [ok], { format: 'pt' })));
    expect(e.message).toBe('nofmt.safetensors: __metadata__ has no "dsteer.format"; accepted: "1" (is this a dsteer steering vector file?)');
  });

  it('wrong dsteer.format', async () => {
    const e = await dsteerError(() => readVectorFile(file('fmt2.safetensors', [ok], { 'dsteer.format': '2' })));
    expect(e.message).toBe('fmt2.safetensors: __metadata__ has "dsteer.format" = "2"; accepted: "1" (is this a dsteer steering vector file?)');
  });

  it('tensor name that is not a hook name', async () => {
    const e = await dsteerError(() => readVectorFile(file('name.safetensors', [{ name: 'model.norm.weight', data: vec(1) }])));
    expect(e.message).toBe(
      'name.safetensors: tensor model.norm.weight is not a steerable hook name (accepted: blocks.{l}.hook_resid_post, blocks.{l}.hook_resid_mid)',
    );
  });

  it('hook name of a site that cannot be steered', async () => {
    const e = await dsteerError(() => readVectorFile(file('pre.safetensors', [{ name: 'blocks.2.hook_resid_pre', data: vec(1) }])));
    expect(e.message).toMatch(/^pre\.safetensors: tensor blocks\.2\.hook_resid_pre is not a steerable hook name/);
  });

  it('2-D tensor', async () => {
    const e = await dsteerError(() => readVectorFile(file('2d.safetensors', [{ name: 'blocks.0.hook_resid_post', shape: [2, 2], data: vec(1, 2, 3, 4) }])));
    expect(e.message).toBe('2d.safetensors: tensor blocks.0.hook_resid_post has shape [2, 2]; a steering vector is 1-D, [hidden]');
  });

  it('no tensors at all', async () => {
    const e = await dsteerError(() => readVectorFile(file('empty.safetensors', [])));
    expect(e.message).toMatch(/^empty\.safetensors: holds no tensors/);
  });

  it('dtype that is not a float', async () => {
    const bytes = new Uint8Array(8 + 8 + 128 + 2);
    const header = JSON.stringify({ __metadata__: { 'dsteer.format': '1' }, 'blocks.0.hook_resid_post': { dtype: 'I8', shape: [2], data_offsets: [0, 2] } });
    const json = new TextEncoder().encode(header.padEnd(136, ' '));
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    const e = await dsteerError(() => readVectorFile(new MemorySource('i8.safetensors', bytes)));
    expect(e.message).toBe('i8.safetensors: tensor blocks.0.hook_resid_post has dtype I8; supported: F32, F16, BF16');
  });

  it('non-finite value', async () => {
    const e = await dsteerError(() => readVectorFile(file('nan.safetensors', [{ name: 'blocks.0.hook_resid_post', data: vec(1, NaN) }])));
    expect(e.message).toMatch(/^nan\.safetensors: tensor blocks\.0\.hook_resid_post has a non-finite value \(NaN\) at index 1/);
  });

  it('provenance that is not JSON', async () => {
    const e = await dsteerError(() => readVectorFile(file('prov.safetensors', [ok], { 'dsteer.format': '1', 'dsteer.provenance': '{method:' })));
    expect(e.message).toMatch(/^prov\.safetensors: __metadata__ "dsteer\.provenance" is not valid JSON \(/);
  });

  it('wrong hidden size', () => {
    const s = sv(['blocks.3.hook_resid_post'], 32);
    expect(() => validateVectors(s, { dim: 64, nLayers: 5 })).toThrow(
      new DsteerError("v.safetensors: tensor blocks.3.hook_resid_post has 32 values but the model's hidden size is 64"),
    );
  });

  it('layer out of range', () => {
    const s = sv(['blocks.0.hook_resid_post', 'blocks.5.hook_resid_mid']);
    expect(() => validateVectors(s, { dim: 4, nLayers: 5 })).toThrow(
      new DsteerError('v.safetensors: tensor blocks.5.hook_resid_mid names block 5, but the model has blocks 0..4'),
    );
  });

  it('selectLayers with a layer the file lacks', () => {
    const s = sv(['blocks.0.hook_resid_post', 'blocks.2.hook_resid_post', 'blocks.1.hook_resid_mid']);
    expect(() => selectLayers(s, [0, 1])).toThrow(
      new DsteerError('v.safetensors: no vector for layer 1 (blocks.1.hook_resid_post); it has layers 0, 2'),
    );
  });

  it('selectLayers when the file has only resid_mid vectors', () => {
    expect(() => selectLayers(sv(['blocks.1.hook_resid_mid']), [1])).toThrow(
      'v.safetensors: no vector for layer 1 (blocks.1.hook_resid_post); it has no hook_resid_post vectors, only blocks.1.hook_resid_mid',
    );
  });

  it('selectLayers with a repeated or negative layer', () => {
    const s = sv(['blocks.0.hook_resid_post']);
    expect(() => selectLayers(s, [0, 0])).toThrow('--layers: layer 0 is listed twice');
    expect(() => selectLayers(s, [-1])).toThrow('--layers: -1 is not a layer number (expected an integer >= 0)');
  });
});

const fixtures: [string, number[], number[]][] = [
  // folder, layers in steer.safetensors, first 3 values of the last vector (numpy)
  ['tiny-qwen2-f16-tied', [0, 1], [-0.5008577108383179, 0.14556409418582916, 0.254971981048584]],
  ['tiny-llama3-bf16-sharded', [0, 1, 2], [0.17528413236141205, 0.1385299265384674, -1.1566531658172607]],
  ['tiny-mistral-f32', [0, 1, 2, 3], []],
];
for (const [folder, layers, first3] of fixtures) {
  const dir = `${SHARED}fixtures/${folder}`;
  const present = existsSync(`${dir}/steer.safetensors`);
  if (!present) console.warn(`SKIP: ${dir}/steer.safetensors is absent, so its vector-file test is skipped`);
  describe.skipIf(!present)(`real vector file: ${folder}/steer.safetensors`, () => {
    it('reads, validates against the model config and selects layers', async () => {
      const src = await FileSource.open(`${dir}/steer.safetensors`);
      try {
        const s = await readVectorFile(src);
        const cfg = parseConfigText(readFileSync(`${dir}/config.json`, 'utf8'), 'config.json');
        validateVectors(s, cfg);
        const names = layers.map((l) => `blocks.${l}.hook_resid_post`);
        expect(selectLayers(s, null)).toEqual(names);
        expect(selectLayers(s, [layers.at(-1)!])).toEqual([names.at(-1)]);
        expect(s.provenance).toBeNull();
        const last = s.vectors.get(names.at(-1)!)!;
        expect(last.length).toBe(cfg.dim);
        if (first3.length > 0) expect([...last.subarray(0, 3)]).toEqual(first3);
      } finally {
        await src.close();
      }
    });
  });
}
