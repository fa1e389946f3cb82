/**
 * Our reader and writer of the safetensors format (Hugging Face's tensor file).
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
 *   { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ...,
 *     "__metadata__": { "<key>": "<string value>" } }
 * then the data buffer; offsets are relative to the start of the data buffer (byte 8 + N).
 * A sharded checkpoint adds `model.safetensors.index.json`: { "metadata": {...},
 * "weight_map": { "<tensor>": "<shard file>" } }.
 *
 * Validated on read, every failure a DsteerError naming the file and the tensor: the file holds
 * the 8-byte length; N fits in the file and is at most 100 MB; the header is UTF-8 JSON and an
 * object; each entry has a known dtype string, a shape of non-negative integers and two integer
 * data_offsets with begin <= end; product(shape) x itemsize = end - begin; end lies within the
 * data buffer; no two tensors share bytes; `__metadata__` values are strings. Gaps between
 * tensors are tolerated (the reference Rust library refuses them; our writer never makes them).
 *
 * Tensors are read lazily, chunk by chunk, so loading never holds a whole file in memory; only
 * F32, F16 and BF16 decode to f32. Everything goes through ByteSource/FileDir, so this runs in a
 * browser unchanged.
 */
import type { ByteSource, FileDir } from '../engine/byte-source.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../engine/dtype.js';
import { DsteerError } from '../engine/errors.js';

/** The dtypes that decode to f32. */
export type StDtype = 'F32' | 'F16' | 'BF16';
const DECODABLE: readonly StDtype[] = ['F32', 'F16', 'BF16'];

/** Bits per element of every dtype the format defines (sub-byte types pack tightly). */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, I64: 64, U64: 64, F64: 64, C64: 64,
};

/** Longest JSON header accepted; real ones are kilobytes, so a larger length means a corrupt file. */
export const MAX_HEADER_BYTES = 100_000_000;
/** Bytes read per step when decoding a tensor: the most extra memory a read holds. */
export const READ_CHUNK_BYTES = 8 << 20;

export const MODEL_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Where one tensor lives: its file and absolute byte range. */
export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  source: ByteSource;
  /** Absolute byte offset of the first element in the file. */
  offset: number;
  byteLength: number;
}

/** The tensors of a model directory, one or several files, held open until `close()`. */
export interface TensorStore {
  tensors: Map<string, TensorInfo>;
  /** `__metadata__` of the file; for a sharded model, of all shards (the first shard wins a clash). */
  metadata: Record<string, string>;
  /** The files opened, as named in messages. */
  files: string[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function parseJsonHeader(file: string, bytes: Uint8Array): Json {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DsteerError(`${file}: safetensors header is not valid UTF-8`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DsteerError(`${file}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(raw)) throw new DsteerError(`${file}: safetensors header is ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}, expected a JSON object of tensors`);
  return raw;
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw new DsteerError(`${file}: __metadata__ is ${JSON.stringify(raw)}, expected an object of strings`);
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new DsteerError(`${file}: __metadata__ value "${k}" is ${JSON.stringify(v)}, expected a string`);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays plain data.
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>;
}

/** Validates one header entry; `dataStart`/`dataSize` locate the data buffer in the file. */
function parseEntry(source: ByteSource, name: string, raw: unknown, dataStart: number, dataSize: number): TensorInfo {
  const where = `${source.name}: tensor ${name}`;
  if (!isObject(raw)) throw new DsteerError(`${where} has entry ${JSON.stringify(raw)}, expected {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offs } = raw;
  if (typeof dtype !== 'string') throw new DsteerError(`${where} has ${dtype === undefined ? 'no dtype' : `dtype ${JSON.stringify(dtype)}`} (expected a string such as "F32")`);
  const bits = DTYPE_BITS[dtype];
  if (bits === undefined) throw new DsteerError(`${where} has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BITS).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    throw new DsteerError(`${where} has shape ${JSON.stringify(shape)} (expected a list of non-negative integers)`);
  }
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt)) {
    throw new DsteerError(`${where} has data_offsets ${JSON.stringify(offs)} (expected [begin, end], two non-negative integers)`);
  }
  const [begin, end] = offs as [number, number];
  if (begin > end) throw new DsteerError(`${where} has data_offsets [${begin}, ${end}]: begin is after end`);
  const totalBits = elementCount(shape) * bits;
  if (totalBits / 8 !== end - begin) {
    throw new DsteerError(`${where} has shape [${shape.join(', ')}] of ${dtype} (${totalBits / 8} bytes) but data_offsets [${begin}, ${end}] span ${end - begin} bytes`);
  }
  if (end > dataSize) throw new DsteerError(`${where} has data_offsets [${begin}, ${end}] beyond the ${dataSize}-byte data buffer (file truncated?)`);
  return { name, dtype, shape: shape.slice(), source, offset: dataStart + begin, byteLength: end - begin };
}

function checkNoOverlap(file: string, tensors: TensorInfo[]): void {
  const sorted = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.offset < prev.offset + prev.byteLength) {
      throw new DsteerError(`${file}: tensors ${prev.name} and ${cur.name} overlap in the data buffer (each tensor needs its own bytes)`);
    }
  }
}

/**
 * Reads and validates the header of a safetensors file. Tensor data is not read.
 * @example
 * const { tensors, metadata } = await readSafetensorsHeader(new MemorySource('v.safetensors',
 *   encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }], { a: 'b' })));
 * assert(tensors.get('w')!.shape.join() === '2' && metadata.a === 'b');
 */
export async function readSafetensorsHeader(
  source: ByteSource,
): Promise<{ tensors: Map<string, TensorInfo>; metadata: Record<string, string> }> {
  const file = source.name;
  if (source.size < 8) throw new DsteerError(`${file}: not a safetensors file (${source.size} bytes; it must start with an 8-byte header length)`);
  const lenBytes = await source.read(0, 8);
  const n64 = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(source.size - 8)) {
    throw new DsteerError(`${file}: safetensors header length ${n64} exceeds the ${source.size - 8} bytes after it (not a safetensors file, or truncated)`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) throw new DsteerError(`${file}: safetensors header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit (corrupt file?)`);
  const header = parseJsonHeader(file, await source.read(8, n));
  const dataStart = 8 + n;
  const dataSize = source.size - dataStart;
  const metadata = parseMetadata(file, header['__metadata__']);
  const tensors = new Map<string, TensorInfo>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    tensors.set(name, parseEntry(source, name, raw, dataStart, dataSize));
  }
  checkNoOverlap(file, [...tensors.values()]);
  return { tensors, metadata };
}

async function openSingle(source: ByteSource): Promise<TensorStore> {
  try {
    const { tensors, metadata } = await readSafetensorsHeader(source);
    return { tensors, metadata, files: [source.name], close: () => source.close() };
  } catch (e) {
    await source.close();
    throw e;
  }
}

function parseIndex(indexPath: string, text: string): Map<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DsteerError(`${indexPath}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(raw)) throw new DsteerError(`${indexPath}: expected a JSON object with "weight_map"`);
  const wm = raw['weight_map'];
  if (!isObject(wm)) throw new DsteerError(`${indexPath}: field "weight_map" is ${JSON.stringify(wm) ?? 'missing'} (expected an object of tensor name -> shard file)`);
  const map = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(wm)) {
    if (typeof shard !== 'string' || shard === '' || /[/\\]/.test(shard)) {
      throw new DsteerError(`${indexPath}: weight_map["${tensor}"] is ${JSON.stringify(shard)} (expected the file name of a shard in the same folder)`);
    }
    map.set(tensor, shard);
  }
  if (map.size === 0) throw new DsteerError(`${indexPath}: weight_map is empty`);
  return map;
}

async function openSharded(dir: FileDir, indexText: string): Promise<TensorStore> {
  const indexPath = dir.path(INDEX_FILE);
  const weightMap = parseIndex(indexPath, indexText);
  const sources: ByteSource[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(sources.map((s) => s.close()));
  };
  try {
    const tensors = new Map<string, TensorInfo>();
    const metadata = new Map<string, string>();
    const shardTensors = new Map<string, Map<string, TensorInfo>>();
    for (const shard of new Set(weightMap.values())) {
      const source = await dir.open(shard);
      if (!source) throw new DsteerError(`${indexPath}: weight_map names shard ${shard}, which does not exist in ${dir.name}`);
      sources.push(source);
      const h = await readSafetensorsHeader(source);
      shardTensors.set(shard, h.tensors);
      for (const [k, v] of Object.entries(h.metadata)) if (!metadata.has(k)) metadata.set(k, v);
      for (const [name, t] of h.tensors) {
        const prev = tensors.get(name);
        if (prev) throw new DsteerError(`${indexPath}: tensor ${name} appears in two shards, ${prev.source.name} and ${source.name}`);
        tensors.set(name, t);
      }
    }
    for (const [name, shard] of weightMap) {
      if (!shardTensors.get(shard)!.has(name)) {
        throw new DsteerError(`${indexPath}: weight_map puts tensor ${name} in ${shard}, but ${dir.path(shard)} has no such tensor`);
      }
    }
    return { tensors, metadata: Object.fromEntries(metadata), files: sources.map((s) => s.name), close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * Opens the weights of a Hugging Face model directory: `model.safetensors` when present, else the
 * shards listed by `model.safetensors.index.json` (each shard must exist, hold the tensors the
 * index assigns it, and share no tensor with another shard). Call `close()` when done.
 * @example
 * const bytes = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
 * const store = await openModelTensors(new MemoryDir('m', { 'model.safetensors': bytes }));
 * const w = await readTensorF32(store.tensors.get('w')!);
 * await store.close();
 * assert(w[0] === 1 && w[1] === 2);
 */
export async function openModelTensors(dir: FileDir): Promise<TensorStore> {
  const single = await dir.open(MODEL_FILE);
  if (single) return openSingle(single);
  const indexText = await dir.readText(INDEX_FILE);
  if (indexText !== null) return openSharded(dir, indexText);
  throw new DsteerError(`${dir.name}: no model weights found (expected ${MODEL_FILE} or ${INDEX_FILE})`);
}

function checkLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new DsteerError('safetensors: this host is big-endian; dsteer reads and writes little-endian tensors only');
}

/**
 * Decodes an F32, F16 or BF16 tensor into f32, reading `chunkBytes` at a time so the extra memory
 * is one chunk, never the whole tensor. Works for any data offset alignment.
 * @example
 * const store = await openModelTensors(dir); // the two shards of the tiny Llama
 * const info = store.tensors.get('model.norm.weight')!;
 * const out = await readTensorF32(info, new Float32Array(elementCount(info.shape)));
 * await store.close();
 * assert(info.dtype === 'BF16' && out.length === 64);
 */
export async function readTensorF32(t: TensorInfo, out?: Float32Array, chunkBytes = READ_CHUNK_BYTES): Promise<Float32Array> {
  if (!(DECODABLE as readonly string[]).includes(t.dtype)) {
    throw new DsteerError(`${t.source.name}: tensor ${t.name} has dtype ${t.dtype}; supported: ${DECODABLE.join(', ')}`);
  }
  checkLittleEndian();
  const count = elementCount(t.shape);
  const dst = out ?? new Float32Array(count);
  if (dst.length !== count) {
    throw new DsteerError(`${t.source.name}: tensor ${t.name} has ${count} elements but the output array holds ${dst.length}`);
  }
  const item = t.dtype === 'F32' ? 4 : 2;
  const step = Math.max(4, chunkBytes - (chunkBytes % 4));
  // F16/BF16 need 2-byte-aligned input for a Uint16Array view; a source may hand back any offset.
  let scratch: Uint16Array | null = null;
  for (let done = 0; done < t.byteLength; done += step) {
    const len = Math.min(step, t.byteLength - done);
    const bytes = await t.source.read(t.offset + done, len);
    const first = done / item;
    if (item === 4) {
      new Uint8Array(dst.buffer, dst.byteOffset + first * 4, len).set(bytes);
      continue;
    }
    let halves: Uint16Array;
    if (bytes.byteOffset % 2 === 0) halves = new Uint16Array(bytes.buffer, bytes.byteOffset, len / 2);
    else {
      scratch ??= new Uint16Array(Math.min(step, t.byteLength) / 2);
      halves = scratch.subarray(0, len / 2);
      new Uint8Array(halves.buffer, halves.byteOffset, len).set(bytes);
    }
    const target = dst.subarray(first, first + len / 2);
    if (t.dtype === 'F16') f16ToF32(halves, target);
    else bf16ToF32(halves, target);
  }
  return dst;
}

/** A tensor to write: f32 values stored as `dtype`. */
export interface TensorToWrite {
  name: string;
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  data: Float32Array;
}

/**
 * Writes a safetensors file: the header JSON padded with spaces to a multiple of 8 bytes (so the
 * data buffer starts 8-aligned), then the tensors back to back in the given order with no gaps,
 * as the reference library requires (a tensor after an odd-length F16/BF16 one is therefore not
 * 4-byte aligned; readers must not assume it is). F16/BF16 round to nearest even.
 * @example
 * const bytes = encodeSafetensors([{ name: 'w', dtype: 'F16', shape: [2], data: new Float32Array([1, 2]) }]);
 * const { tensors } = await readSafetensorsHeader(new MemorySource('w.safetensors', bytes));
 * assert(tensors.get('w')!.dtype === 'F16');
 */
export function encodeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  checkLittleEndian();
  const entries: [string, unknown][] = [];
  if (metadata && Object.keys(metadata).length > 0) entries.push(['__metadata__', metadata]);
  const names = new Set<string>(['__metadata__']);
  let pos = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new DsteerError(`safetensors writer: tensor name ${t.name} is reserved or repeated`);
    if (!t.shape.every(isNonNegInt) || elementCount(t.shape) !== t.data.length) {
      throw new DsteerError(`safetensors writer: tensor ${t.name} has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    }
    const size = t.data.length * (t.dtype === 'F32' ? 4 : 2);
    names.add(t.name);
    entries.push([t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + size] }]);
    pos += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(entries)));
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + pos);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const t of tensors) {
    let bytes: Uint8Array;
    if (t.dtype === 'F32') bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    else {
      const halves = new Uint16Array(t.data.length);
      if (t.dtype === 'F16') f32ToF16(t.data, halves);
      else f32ToBf16(t.data, halves);
      bytes = new Uint8Array(halves.buffer);
    }
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}
