import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MemoryDir, MemorySource, type ByteSource } from '../../engine/byte-source.js';
import { NodeDir } from '../../engine/byte-source-node.js';
import { DsteerError } from '../../engine/errors.js';
import {
  elementCount,
  encodeSafetensors,
  openModelTensors,
  readSafetensorsHeader,
  readTensorF32,
  type TensorInfo,
} from '../../models/safetensors.js';

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

/** A fixture folder under ../shared, or null (with a visible warning) when this machine lacks it. */
function sharedDir(rel: string): string | null {
  const p = SHARED + rel;
  if (existsSync(p)) return p;
  console.warn(`SKIP: ${p} is absent, so the tests that read it are skipped`);
  return null;
}

/** A safetensors file from a header (object or raw text) and a data buffer of `data` bytes. */
function rawFile(header: unknown, data: number | Uint8Array = 0): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

/** Runs `fn` and returns the DsteerError it throws (failing the test otherwise). */
async function dsteerError(fn: () => Promise<unknown>): Promise<DsteerError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DsteerError);
    return e as DsteerError;
  }
  throw new Error('expected a DsteerError, but nothing was thrown');
}

const headerError = (name: string, bytes: Uint8Array) => dsteerError(() => readSafetensorsHeader(new MemorySource(name, bytes)));

/** A source that hands back reads at an odd byteOffset, as a browser fetch slice might. */
function oddOffsetSource(inner: ByteSource): ByteSource {
  return {
    name: inner.name,
    size: inner.size,
    async read(offset, length) {
      const b = await inner.read(offset, length);
      const padded = new Uint8Array(length + 1);
      padded.set(b, 1);
      return padded.subarray(1);
    },
    close: () => inner.close(),
  };
}

describe('encodeSafetensors -> readSafetensorsHeader/readTensorF32', () => {
  const a = new Float32Array([1, -2.5, 65504, 2 ** -24, -0]);
  const b = new Float32Array([0.1, 0.2, 0.3]); // odd length of 2-byte values: the next tensor is misaligned
  const c = new Float32Array(Array.from({ length: 12 }, (_, i) => i / 7 - 0.5));
  const bytes = encodeSafetensors(
    [
      { name: 'a', dtype: 'F32', shape: [5], data: a },
      { name: 'b', dtype: 'F16', shape: [3], data: b },
      { name: 'c', dtype: 'F32', shape: [3, 4], data: c },
      { name: 'd', dtype: 'BF16', shape: [3], data: b },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    ],
    { format: 'pt', note: 'x' },
  );

  it('pads the header to a multiple of 8 with spaces and packs tensors without gaps', async () => {
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(bytes[8 + n - 1]).toBe(0x20);
    const { tensors } = await readSafetensorsHeader(new MemorySource('rt.safetensors', bytes));
    expect(tensors.get('a')!.offset).toBe(8 + n);
    expect(tensors.get('b')!.offset).toBe(8 + n + 20);
    expect(tensors.get('c')!.offset).toBe(8 + n + 26);
    expect(bytes.length).toBe(8 + n + 20 + 6 + 48 + 6);
  });

  it('round-trips names, shapes, metadata and values', async () => {
    const src = new MemorySource('rt.safetensors', bytes);
    const { tensors, metadata } = await readSafetensorsHeader(src);
    expect(metadata).toEqual({ format: 'pt', note: 'x' });
    expect([...tensors.keys()]).toEqual(['a', 'b', 'c', 'd', 'empty']);
    expect(tensors.get('c')!.shape).toEqual([3, 4]);
    expect(tensors.get('b')!.dtype).toBe('F16');
    const ra = await readTensorF32(tensors.get('a')!);
    expect([...ra]).toEqual([...a]);
    expect(Object.is(ra[4], -0)).toBe(true);
    expect([...(await readTensorF32(tensors.get('c')!))]).toEqual([...c]);
    expect([...(await readTensorF32(tensors.get('b')!))]).toEqual([0.0999755859375, 0.199951171875, 0.300048828125]);
    expect([...(await readTensorF32(tensors.get('d')!))]).toEqual([0.10009765625, 0.2001953125, 0.30078125]);
    expect((await readTensorF32(tensors.get('empty')!)).length).toBe(0);
  });

  it('gives the same values whatever the chunk size and read alignment', async () => {
    const src = oddOffsetSource(new MemorySource('odd.safetensors', bytes));
    const { tensors } = await readSafetensorsHeader(src);
    for (const name of ['a', 'b', 'c', 'd']) {
      const t = tensors.get(name)!;
      const whole = await readTensorF32(t);
      for (const chunk of [1, 4, 6, 8, 12, 1 << 20]) {
        const out = new Float32Array(elementCount(t.shape));
        expect(await readTensorF32(t, out, chunk)).toBe(out);
        expect([...out]).toEqual([...whole]);
      }
    }
  });

  it('reads only one chunk at a time', async () => {
    const big = new Float32Array(1000).map((_, i) => i);
    const inner = new MemorySource('big.safetensors', encodeSafetensors([{ name: 'w', dtype: 'F16', shape: [1000], data: big }]));
    let largest = 0;
    const src: ByteSource = {
      name: inner.name,
      size: inner.size,
      read: (offset, length) => {
        largest = Math.max(largest, length);
        return inner.read(offset, length);
      },
      close: () => inner.close(),
    };
    const { tensors } = await readSafetensorsHeader(src);
    largest = 0;
    const out = await readTensorF32(tensors.get('w')!, undefined, 256);
    expect(largest).toBe(256);
    expect(out[999]).toBe(999);
  });

  it('runs the TSDoc examples', async () => {
    const { tensors, metadata } = await readSafetensorsHeader(
      new MemorySource('v.safetensors', encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }], { a: 'b' })),
    );
    expect(tensors.get('w')!.shape).toEqual([2]);
    expect(metadata).toEqual({ a: 'b' });
    const f16 = encodeSafetensors([{ name: 'w', dtype: 'F16', shape: [2], data: new Float32Array([1, 2]) }]);
    const store = await openModelTensors(new MemoryDir('m', { 'model.safetensors': f16 }));
    const info = store.tensors.get('w')!;
    const out = new Float32Array(elementCount(info.shape));
    await readTensorF32(info, out);
    expect([...out]).toEqual([1, 2]);
    await store.close();
  });

  it('refuses an output array of the wrong length', async () => {
    const { tensors } = await readSafetensorsHeader(new MemorySource('rt.safetensors', bytes));
    const e = await dsteerError(() => readTensorF32(tensors.get('c')!, new Float32Array(11)));
    expect(e.message).toMatch(/^rt\.safetensors: tensor c has 12 elements but the output array holds 11/);
  });

  it('keeps a metadata key named __proto__ as plain data', async () => {
    const { metadata } = await readSafetensorsHeader(new MemorySource('p.safetensors', rawFile('{"__metadata__":{"__proto__":"x"}}')));
    expect(Object.keys(metadata)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
  });
});

describe('corrupt safetensors files (each error names the file and the fault)', () => {
  const w4 = (offs: [number, number] = [0, 4]) => ({ dtype: 'F32', shape: [1], data_offsets: offs });

  it('file shorter than 8 bytes', async () => {
    const e = await headerError('short.safetensors', new Uint8Array(5));
    expect(e.message).toMatch(/^short\.safetensors: not a safetensors file \(5 bytes; it must start with an 8-byte header length\)/);
  });

  it('header length beyond the file size', async () => {
    const bytes = rawFile({ w: w4() }, 4);
    new DataView(bytes.buffer).setBigUint64(0, 10_000n, true);
    const e = await headerError('long.safetensors', bytes);
    expect(e.message).toMatch(/^long\.safetensors: safetensors header length 10000 exceeds the \d+ bytes after it/);
  });

  it('absurd header length (over 100 MB)', async () => {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, 150_000_000n, true);
    const huge: ByteSource = { name: 'huge.safetensors', size: 200_000_000, read: async () => len, close: async () => {} };
    const e = await dsteerError(() => readSafetensorsHeader(huge));
    expect(e.message).toMatch(/^huge\.safetensors: safetensors header length 150000000 is over the 100000000-byte limit/);
  });

  it('header not valid UTF-8', async () => {
    const bytes = rawFile('{"w":1}');
    bytes[10] = 0xff;
    const e = await headerError('utf.safetensors', bytes);
    expect(e.message).toBe('utf.safetensors: safetensors header is not valid UTF-8');
  });

  it('header not JSON', async () => {
    const e = await headerError('json.safetensors', rawFile('{"w": {"dtype": '));
    expect(e.message).toMatch(/^json\.safetensors: safetensors header is not valid JSON \(/);
  });

  it('header JSON not an object', async () => {
    const e = await headerError('arr.safetensors', rawFile('[1, 2]'));
    expect(e.message).toBe('arr.safetensors: safetensors header is an array, expected a JSON object of tensors');
  });

  it('entry without dtype', async () => {
    const e = await headerError('nodt.safetensors', rawFile({ w: { shape: [1], data_offsets: [0, 4] } }, 4));
    expect(e.message).toMatch(/^nodt\.safetensors: tensor w has no dtype \(expected a string such as "F32"\)/);
  });

  it('dtype that the format does not define', async () => {
    const e = await headerError('q4.safetensors', rawFile({ w: { dtype: 'Q4_K', shape: [1], data_offsets: [0, 4] } }, 4));
    expect(e.message).toMatch(/^q4\.safetensors: tensor w has unknown dtype "Q4_K" \(known: BOOL, U8, I8/);
  });

  it('known but undecodable dtype read as float', async () => {
    const src = new MemorySource('i8.safetensors', rawFile({ w: { dtype: 'I8', shape: [2, 2], data_offsets: [0, 4] } }, 4));
    const { tensors } = await readSafetensorsHeader(src);
    expect(tensors.get('w')!.dtype).toBe('I8');
    const e = await dsteerError(() => readTensorF32(tensors.get('w')!));
    expect(e.message).toBe('i8.safetensors: tensor w has dtype I8; supported: F32, F16, BF16');
  });

  it('shape with a negative or fractional dimension', async () => {
    const e = await headerError('shape.safetensors', rawFile({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 4] } }, 4));
    expect(e.message).toMatch(/^shape\.safetensors: tensor w has shape \[2,-1\] \(expected a list of non-negative integers\)/);
  });

  it('data_offsets not two integers', async () => {
    const e = await headerError('offs.safetensors', rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4));
    expect(e.message).toMatch(/^offs\.safetensors: tensor w has data_offsets \[0\] \(expected \[begin, end\]/);
  });

  it('shape x dtype size differs from the byte length', async () => {
    const e = await headerError('size.safetensors', rawFile({ w: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 8] } }, 8));
    expect(e.message).toBe('size.safetensors: tensor w has shape [2, 3] of F16 (12 bytes) but data_offsets [0, 8] span 8 bytes');
  });

  it('offsets beyond the data buffer', async () => {
    const e = await headerError('trunc.safetensors', rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 10));
    expect(e.message).toMatch(/^trunc\.safetensors: tensor w has data_offsets \[0, 16\] beyond the 10-byte data buffer/);
  });

  it('overlapping tensors', async () => {
    const e = await headerError('overlap.safetensors', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: w4([4, 8]) }, 8));
    expect(e.message).toMatch(/^overlap\.safetensors: tensors a and b overlap in the data buffer/);
  });

  it('begin after end', async () => {
    const e = await headerError('order.safetensors', rawFile({ w: w4([8, 4]) }, 8));
    expect(e.message).toBe('order.safetensors: tensor w has data_offsets [8, 4]: begin is after end');
  });

  it('metadata value not a string', async () => {
    const e = await headerError('meta.safetensors', rawFile({ __metadata__: { total_size: 4 }, w: w4() }, 4));
    expect(e.message).toBe('meta.safetensors: __metadata__ value "total_size" is 4, expected a string');
  });
});

describe('openModelTensors', () => {
  const shard = (names: string[]) =>
    encodeSafetensors(names.map((name) => ({ name, dtype: 'F32' as const, shape: [2], data: new Float32Array([1, 2]) })), { format: 'pt' });
  const index = (weightMap: Record<string, string>) => JSON.stringify({ metadata: { total_size: 16 }, weight_map: weightMap });

  it('prefers model.safetensors and closes every file', async () => {
    const store = await openModelTensors(new MemoryDir('m', { 'model.safetensors': shard(['x']), 'model.safetensors.index.json': '{' }));
    expect(store.files).toEqual(['m/model.safetensors']);
    expect([...store.tensors.keys()]).toEqual(['x']);
    expect(store.metadata).toEqual({ format: 'pt' });
    await store.close();
  });

  it('opens a sharded checkpoint through its index', async () => {
    const dir = new MemoryDir('m', {
      'model.safetensors.index.json': index({ x: 's1.safetensors', y: 's2.safetensors', z: 's1.safetensors' }),
      's1.safetensors': shard(['x', 'z']),
      's2.safetensors': shard(['y']),
    });
    const store = await openModelTensors(dir);
    expect(store.files).toEqual(['m/s1.safetensors', 'm/s2.safetensors']);
    expect([...store.tensors.keys()].sort()).toEqual(['x', 'y', 'z']);
    expect(store.tensors.get('y')!.source.name).toBe('m/s2.safetensors');
    expect([...(await readTensorF32(store.tensors.get('y')!))]).toEqual([1, 2]);
    await store.close();
  });

  it('neither model.safetensors nor the index present', async () => {
    const e = await dsteerError(() => openModelTensors(new MemoryDir('empty-model', { 'config.json': '{}' })));
    expect(e.message).toBe('empty-model: no model weights found (expected model.safetensors or model.safetensors.index.json)');
  });

  it('index JSON invalid', async () => {
    const e = await dsteerError(() => openModelTensors(new MemoryDir('m', { 'model.safetensors.index.json': '{"weight_map": ' })));
    expect(e.message).toMatch(/^m\/model\.safetensors\.index\.json: not valid JSON \(/);
  });

  it('index without a weight_map object', async () => {
    const e = await dsteerError(() => openModelTensors(new MemoryDir('m', { 'model.safetensors.index.json': '{"metadata": {}}' })));
    expect(e.message).toBe('m/model.safetensors.index.json: field "weight_map" is missing (expected an object of tensor name -> shard file)');
  });

  it('index names a shard outside the folder', async () => {
    const e = await dsteerError(() => openModelTensors(new MemoryDir('m', { 'model.safetensors.index.json': index({ x: '../s1.safetensors' }) })));
    expect(e.message).toMatch(/^m\/model\.safetensors\.index\.json: weight_map\["x"\] is "\.\.\/s1\.safetensors" \(expected the file name of a shard/);
  });

  it('index names a missing shard', async () => {
    const dir = new MemoryDir('m', {
      'model.safetensors.index.json': index({ x: 's1.safetensors', y: 's2.safetensors' }),
      's1.safetensors': shard(['x']),
    });
    const e = await dsteerError(() => openModelTensors(dir));
    expect(e.message).toBe('m/model.safetensors.index.json: weight_map names shard s2.safetensors, which does not exist in m');
  });

  it('index names a tensor the shard lacks', async () => {
    const dir = new MemoryDir('m', {
      'model.safetensors.index.json': index({ x: 's1.safetensors', y: 's1.safetensors' }),
      's1.safetensors': shard(['x']),
    });
    const e = await dsteerError(() => openModelTensors(dir));
    expect(e.message).toBe('m/model.safetensors.index.json: weight_map puts tensor y in s1.safetensors, but m/s1.safetensors has no such tensor');
  });

  it('one tensor in two shards', async () => {
    const dir = new MemoryDir('m', {
      'model.safetensors.index.json': index({ x: 's1.safetensors', y: 's2.safetensors' }),
      's1.safetensors': shard(['x']),
      's2.safetensors': shard(['x', 'y']),
    });
    const e = await dsteerError(() => openModelTensors(dir));
    expect(e.message).toBe('m/model.safetensors.index.json: tensor x appears in two shards, m/s1.safetensors and m/s2.safetensors');
  });

  it('a corrupt shard is named by its own path', async () => {
    const dir = new MemoryDir('m', { 'model.safetensors.index.json': index({ x: 's1.safetensors' }), 's1.safetensors': new Uint8Array(3) });
    const e = await dsteerError(() => openModelTensors(dir));
    expect(e.message).toMatch(/^m\/s1\.safetensors: not a safetensors file/);
  });
});

/** Sum and sum of absolute values in f64, to compare with numpy's. */
function sums(v: Float32Array): [number, number] {
  let s = 0;
  let a = 0;
  for (const x of v) {
    s += x;
    a += Math.abs(x);
  }
  return [s, a];
}

async function expectTensor(t: TensorInfo | undefined, dtype: string, shape: number[], first3: number[], last: number, sum: number, absSum: number) {
  expect(t).toBeDefined();
  expect(t!.dtype).toBe(dtype);
  expect(t!.shape).toEqual(shape);
  const v = await readTensorF32(t!);
  expect([...v.subarray(0, 3)]).toEqual(first3);
  expect(v[v.length - 1]).toBe(last);
  const [s, a] = sums(v);
  expect(s).toBeCloseTo(sum, 6);
  expect(a).toBeCloseTo(absSum, 6);
}

// Expected values were computed with numpy from the raw bytes (f16 via '<f2', bf16 by shifting u16 << 16).
const stories = sharedDir('models/stories260k');
describe.skipIf(!stories)('real checkpoint: stories260k (F32, single file)', () => {
  it('lists 47 tensors and decodes them like numpy', async () => {
    const store = await openModelTensors(await NodeDir.open(stories!));
    try {
      expect(store.tensors.size).toBe(47);
      expect(store.metadata).toEqual({ format: 'pt' });
      await expectTensor(store.tensors.get('model.embed_tokens.weight'), 'F32', [512, 64],
        [-0.29474878311157227, 0.5618956089019775, 0.1754225343465805], -0.424032598733902, -752.3677446640068, 7820.582960873879);
      await expectTensor(store.tensors.get('model.layers.4.mlp.down_proj.weight'), 'F32', [64, 172],
        [-0.04791264981031418, 0.009621058590710163, -0.007109913043677807], -0.0035068716388195753, 19.543787761240765, 1184.266531288305);
      await expectTensor(store.tensors.get('model.norm.weight'), 'F32', [64],
        [2.4583089351654053, 1.3673226833343506, 1.7504382133483887], 1.7077769041061401, 115.95276230573654, 115.95276230573654);
    } finally {
      await store.close();
    }
  });
});

const qwen = sharedDir('fixtures/tiny-qwen2-f16-tied');
describe.skipIf(!qwen)('real checkpoint: tiny-qwen2-f16-tied (F16)', () => {
  it('lists 26 tensors and decodes F16 like numpy', async () => {
    const store = await openModelTensors(await NodeDir.open(qwen!));
    try {
      expect(store.tensors.size).toBe(26);
      expect(store.tensors.has('lm_head.weight')).toBe(false); // tied
      await expectTensor(store.tensors.get('model.embed_tokens.weight'), 'F16', [320, 48],
        [-0.90966796875, 0.265380859375, -1.0224609375], 1.3232421875, -33.83973717689514, 12149.787098646164);
      await expectTensor(store.tensors.get('model.layers.0.self_attn.q_proj.bias'), 'F16', [48],
        [0.0704345703125, -0.046051025390625, -0.060882568359375], 0.054168701171875, 0.28139305114746094, 3.327219009399414);
    } finally {
      await store.close();
    }
  });
});

const llama = sharedDir('fixtures/tiny-llama3-bf16-sharded');
describe.skipIf(!llama)('real checkpoint: tiny-llama3-bf16-sharded (BF16, two shards + index)', () => {
  it('joins both shards and decodes BF16 like numpy', async () => {
    const store = await openModelTensors(await NodeDir.open(llama!));
    try {
      expect(store.files.map((f) => f.slice(llama!.length).replace(/^\//, ''))).toEqual([
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
      ]);
      expect(store.tensors.size).toBe(30);
      expect(store.metadata).toEqual({ format: 'pt' });
      await expectTensor(store.tensors.get('lm_head.weight'), 'BF16', [384, 64],
        [-0.41015625, -0.0255126953125, -0.3359375], -0.1611328125, -6.160812616348267, 5871.051104307175);
      await expectTensor(store.tensors.get('model.embed_tokens.weight'), 'BF16', [384, 64],
        [-1.6015625, 0.06396484375, 0.7421875], 0.8125, -78.15504431724548, 19680.9640352726);
      await expectTensor(store.tensors.get('model.norm.weight'), 'BF16', [64],
        [1.03125, 1.046875, 0.9765625], 1.2109375, 63.7265625, 63.7265625);
    } finally {
      await store.close();
    }
  });
});
