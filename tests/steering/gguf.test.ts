import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { controlVectorToVectors, encodeControlVector, readControlVector } from '../../steering/gguf.js';
import type { SteeringVectors } from '../../steering/vector.js';

const sv = (entries: [string, number[]][]): SteeringVectors => ({ vectors: new Map(entries.map(([n, v]) => [n, new Float32Array(v)])), provenance: null, file: 'v.safetensors' });

/**
 * Independent minimal GGUF parser (written from the spec: header, typed metadata, tensor infos,
 * aligned data), using Buffer reads rather than the module's DataView reader.
 */
function parseGguf(bytes: Uint8Array) {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const u32 = () => ((p += 4), b.readUInt32LE(p - 4));
  const u64 = () => ((p += 8), Number(b.readBigUInt64LE(p - 8)));
  const str = () => {
    const n = u64();
    p += n;
    return b.toString('utf8', p - n, p);
  };
  const magic = b.toString('latin1', 0, 4);
  p = 4;
  const version = u32();
  const nt = u64();
  const nkv = u64();
  const kv: Record<string, { type: number; value: unknown }> = {};
  for (let i = 0; i < nkv; i++) {
    const key = str();
    const type = u32();
    let value: unknown;
    if (type === 8) value = str();
    else if (type === 5) value = ((p += 4), b.readInt32LE(p - 4));
    else if (type === 4) value = u32();
    else throw new Error(`test parser: type ${type}`);
    kv[key] = { type, value };
  }
  const tensors: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nt; i++) {
    const name = str();
    const nd = u32();
    const dims = Array.from({ length: nd }, () => u64());
    tensors.push({ name, dims, type: u32(), offset: u64() });
  }
  const start = Math.ceil(p / 32) * 32;
  const data = (t: (typeof tensors)[number]) => Array.from({ length: t.dims[0]! }, (_, j) => b.readFloatLE(start + t.offset + 4 * j));
  return { magic, version, kv, tensors, start, data, size: b.length };
}

async function dsteerError(p: Promise<unknown> | (() => unknown)): Promise<DsteerError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(DsteerError);
    return e as DsteerError;
  }
  throw new Error('expected a DsteerError');
}

describe('GGUF control vectors', () => {
  const v = sv([
    ['blocks.3.hook_resid_post', [1, -2, 3.5]],
    ['blocks.7.hook_resid_post', [0.25, 0, -1e-3]],
  ]);

  it('our block 3 is written as direction.3, in the byte layout an independent parser reads', () => {
    const { bytes, skipped } = encodeControlVector(v, { modelHint: 'tulu' });
    expect(skipped).toEqual([]);
    const g = parseGguf(bytes);
    expect(g.magic).toBe('GGUF');
    expect(g.version).toBe(3);
    expect(g.kv).toEqual({
      'general.architecture': { type: 8, value: 'controlvector' },
      'controlvector.model_hint': { type: 8, value: 'tulu' },
      'controlvector.layer_count': { type: 5, value: 2 },
    });
    expect(g.tensors.map((t) => [t.name, t.dims, t.type])).toEqual([['direction.3', [3], 0], ['direction.7', [3], 0]]);
    for (const t of g.tensors) expect((g.start + t.offset) % 32).toBe(0);
    expect(g.data(g.tensors[0]!)).toEqual([1, -2, 3.5]);
    expect(g.data(g.tensors[1]!)).toEqual([0.25, 0, Math.fround(-1e-3)]);
    expect(g.size % 32).toBe(0);
  });

  it('round trip: direction.3 comes back at blocks.3.hook_resid_post, scale folded in', async () => {
    const { bytes } = encodeControlVector(v, { scale: -0.5 });
    const cv = await readControlVector(new MemorySource('v.gguf', bytes));
    expect(cv).toMatchObject({ modelHint: 'llama', layerCount: 2, dim: 3 });
    const back = controlVectorToVectors(cv);
    expect([...back.keys()]).toEqual(['blocks.3.hook_resid_post', 'blocks.7.hook_resid_post']);
    expect([...back.get('blocks.3.hook_resid_post')!]).toEqual([-0.5, 1, -1.75]);
    expect([...back.get('blocks.7.hook_resid_post')!]).toEqual([-0.125, -0, Math.fround(Math.fround(-1e-3) * -0.5)]);
  });

  it('block 0 is refused unless skipped; other sites are refused by name', async () => {
    const with0 = sv([['blocks.0.hook_resid_post', [1, 1, 1]], ['blocks.2.hook_resid_post', [1, 2, 3]]]);
    expect((await dsteerError(() => encodeControlVector(with0))).message).toMatch(/block 0 .*--skip-block0/);
    const { bytes, skipped } = encodeControlVector(with0, { skipBlock0: true });
    expect(skipped).toEqual(['blocks.0.hook_resid_post']);
    expect(parseGguf(bytes).tensors.map((t) => t.name)).toEqual(['direction.2']);
    const mid = sv([['blocks.2.hook_resid_mid', [1, 2, 3]]]);
    expect((await dsteerError(() => encodeControlVector(mid))).message).toMatch(/blocks\.2\.hook_resid_mid cannot be exported.*hook_resid_post/);
    expect((await dsteerError(() => encodeControlVector(sv([['blocks.0.hook_resid_post', [1]]]), { skipBlock0: true }))).message).toMatch(/no vectors left/);
  });

  it('reads a file in the layout repeng writes (uint32 layer_count, general.alignment set, extra keys)', async () => {
    // hand-built: arch, model_hint, uint32 layer_count, general.alignment = 64, an array key
    const parts: Buffer[] = [];
    const u32 = (x: number) => { const t = Buffer.alloc(4); t.writeUInt32LE(x); parts.push(t); };
    const u64 = (x: number) => { const t = Buffer.alloc(8); t.writeBigUInt64LE(BigInt(x)); parts.push(t); };
    const str = (s: string) => { u64(Buffer.byteLength(s)); parts.push(Buffer.from(s)); };
    parts.push(Buffer.from('GGUF'));
    u32(3); u64(2); u64(5);
    str('general.architecture'); u32(8); str('controlvector');
    str('controlvector.model_hint'); u32(8); str('mistral');
    str('controlvector.layer_count'); u32(4); u32(2);
    str('general.alignment'); u32(4); u32(64);
    str('x.list'); u32(9); u32(4); u64(2); u32(7); u32(9);
    str('direction.1'); u32(1); u64(2); u32(0); u64(0);
    str('direction.5'); u32(1); u64(2); u32(0); u64(64);
    const head = Buffer.concat(parts);
    const start = Math.ceil(head.length / 64) * 64;
    const file = Buffer.alloc(start + 128);
    head.copy(file);
    file.writeFloatLE(1.5, start); file.writeFloatLE(-2, start + 4);
    file.writeFloatLE(3, start + 64); file.writeFloatLE(4, start + 68);
    const cv = await readControlVector(new MemorySource('repeng.gguf', new Uint8Array(file)));
    expect(cv.modelHint).toBe('mistral');
    expect(cv.layerCount).toBe(2);
    expect([...cv.directions].map(([l, x]) => [l, [...x]])).toEqual([[1, [1.5, -2]], [5, [3, 4]]]);
  });

  it('refuses truncated, corrupt and foreign files with clear messages', async () => {
    const { bytes } = encodeControlVector(v);
    const read = (b: Uint8Array, name = 'v.gguf') => readControlVector(new MemorySource(name, b));
    expect((await dsteerError(read(bytes.slice(0, 10)))).message).toMatch(/v\.gguf: not a GGUF file/);
    for (const cut of [30, 60, 120, bytes.length - 40, bytes.length - 21]) {
      expect((await dsteerError(read(bytes.slice(0, cut)))).message).toMatch(/v\.gguf: truncated or corrupt GGUF/);
    }
    const badMagic = bytes.slice();
    badMagic[0] = 0x58;
    expect((await dsteerError(read(badMagic))).message).toMatch(/does not start with "GGUF"/);
    const badVersion = bytes.slice();
    badVersion[4] = 9;
    expect((await dsteerError(read(badVersion))).message).toMatch(/GGUF version 9; supported: 2, 3/);
    const llama = new TextDecoder('latin1').decode(bytes).replace('controlvector', 'llamaxxxxxxxx');
    expect((await dsteerError(read(Uint8Array.from(llama, (c) => c.charCodeAt(0)))))).toHaveProperty('message', expect.stringMatching(/general\.architecture is "llamaxxxxxxxx"; only "controlvector"/));
    // an F16 tensor: patch the first tensor's ggml type (u32 after its one dimension)
    const g = parseGguf(bytes);
    const f16 = bytes.slice();
    const at = Buffer.from(f16.buffer).indexOf('direction.3') + 'direction.3'.length + 4 + 8;
    expect(g.tensors[0]!.type).toBe(0);
    new DataView(f16.buffer).setUint32(at, 1, true);
    expect((await dsteerError(read(f16))).message).toMatch(/direction\.3 has ggml type F16; only F32/);
  });
});
