/**
 * llama.cpp control vectors (`--control-vector FILE.gguf`) to and from our vector files.
 *
 * GGUF v3, little-endian: magic "GGUF", u32 version, u64 tensor count, u64 metadata count; the
 * metadata (key: u64 length + UTF-8 bytes; u32 value type; value); the tensor infos (name, u32
 * dimension count, u64 per dimension, u32 ggml type, u64 offset into the data section); padding to
 * `general.alignment` (default 32); the data section, each tensor at an aligned offset.
 *
 * Control vectors, as llama.cpp's loader (common_control_vector_load_one) reads them: 1-D F32
 * tensors `direction.{l}`, all of one length; `direction.{l}` is added to the output of 0-based
 * block l (after the block's last residual add, llama.cpp's `l_out`), i.e. our
 * `blocks.{l}.hook_resid_post`, at every position. The loader rejects l = 0, so our block 0 cannot
 * be exported (dropped only on request). Metadata is not read by the loader; llama.cpp's generator
 * and repeng both write `general.architecture` = "controlvector", `controlvector.model_hint` and
 * `controlvector.layer_count` (the number of direction tensors; int32 from llama.cpp, uint32 from
 * repeng). We write int32 and accept any integer type.
 */
import type { ByteSource } from '../engine/byte-source.js';
import { DsteerError } from '../engine/errors.js';
import { hookName, parseHookName } from '../models/hooks.js';
import type { SteeringVectors } from './vector.js';

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const VERSION = 3;
const DEFAULT_ALIGNMENT = 32;
const GGML_F32 = 0;
const GGML_TYPE_NAMES: Record<number, string> = { 0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 8: 'Q8_0', 30: 'BF16' };
export const CONTROL_VECTOR_ARCH = 'controlvector';

/** GGUF metadata value types. */
const enum T {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
}

/** A control vector read from GGUF. */
export interface ControlVector {
  /** `controlvector.model_hint`, or null when absent. */
  modelHint: string | null;
  /** `controlvector.layer_count`, or null when absent. */
  layerCount: number | null;
  /** Block index (the l of `direction.{l}`) to its values, ascending. */
  directions: Map<number, Float32Array>;
  dim: number;
}

export interface ExportOptions {
  /** Multiplies every value (folded into the file; llama.cpp's strength multiplies again). Default 1. */
  scale?: number;
  /** Drop a block-0 vector instead of refusing the file. */
  skipBlock0?: boolean;
  /** `controlvector.model_hint`. Default "llama". */
  modelHint?: string;
}

// ---- writing ----

class Writer {
  private parts: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  private num(bytes: number, set: (v: DataView) => void): void {
    const b = new Uint8Array(bytes);
    set(new DataView(b.buffer));
    this.push(b);
  }
  u32(x: number): void {
    this.num(4, (v) => v.setUint32(0, x, true));
  }
  i32(x: number): void {
    this.num(4, (v) => v.setInt32(0, x, true));
  }
  u64(x: number): void {
    this.num(8, (v) => v.setBigUint64(0, BigInt(x), true));
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.push(b);
  }
  bytes(b: Uint8Array): void {
    this.push(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n > 0) this.push(new Uint8Array(n));
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/**
 * Encodes the `blocks.{l}.hook_resid_post` vectors of a file as a llama.cpp control vector.
 * Returns the bytes and the hook names left out (block 0 with `skipBlock0`).
 * @example
 * const v = { vectors: new Map([['blocks.3.hook_resid_post', new Float32Array([1, -2])]]), provenance: null, file: 'v.safetensors' };
 * const { bytes } = encodeControlVector(v, { scale: 0.5 });
 * const cv = await readControlVector(new MemorySource('v.gguf', bytes));
 * assert(cv.directions.get(3)[1] === -1 && cv.layerCount === 1 && cv.modelHint === 'llama');
 */
export function encodeControlVector(sv: SteeringVectors, opts: ExportOptions = {}): { bytes: Uint8Array; skipped: string[] } {
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale)) throw new DsteerError(`--scale ${scale}: must be a finite number`, 2);
  const directions: [number, Float32Array][] = [];
  const skipped: string[] = [];
  let dim = -1;
  for (const [name, v] of sv.vectors) {
    const p = parseHookName(name);
    if (!p || p.site !== 'resid_post') {
      throw new DsteerError(`${sv.file}: vector ${name} cannot be exported: llama.cpp adds control vectors to block outputs, so only blocks.{l}.hook_resid_post vectors export`);
    }
    if (p.layer === 0) {
      if (opts.skipBlock0) {
        skipped.push(name);
        continue;
      }
      throw new DsteerError(`${sv.file}: has a vector at block 0 (${name}); llama.cpp rejects direction.0, so pass --skip-block0 to export the other blocks without it`);
    }
    if (dim >= 0 && v.length !== dim) throw new DsteerError(`${sv.file}: vector ${name} has ${v.length} values, the others ${dim}; a control vector has one length`);
    dim = v.length;
    directions.push([p.layer, Float32Array.from(v, (x) => x * scale)]);
  }
  if (directions.length === 0) throw new DsteerError(`${sv.file}: no vectors left to export${skipped.length ? ' (only block 0, which llama.cpp cannot load)' : ''}`);
  directions.sort((a, b) => a[0] - b[0]);
  const w = new Writer();
  w.u32(MAGIC);
  w.u32(VERSION);
  w.u64(directions.length);
  w.u64(3);
  w.str('general.architecture');
  w.u32(T.STRING);
  w.str(CONTROL_VECTOR_ARCH);
  w.str(`${CONTROL_VECTOR_ARCH}.model_hint`);
  w.u32(T.STRING);
  w.str(opts.modelHint ?? 'llama');
  w.str(`${CONTROL_VECTOR_ARCH}.layer_count`);
  w.u32(T.I32);
  w.i32(directions.length);
  const stride = Math.ceil((dim * 4) / DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
  directions.forEach(([l], i) => {
    w.str(`direction.${l}`);
    w.u32(1);
    w.u64(dim);
    w.u32(GGML_F32);
    w.u64(i * stride);
  });
  w.pad(DEFAULT_ALIGNMENT);
  for (const [, v] of directions) {
    const le = new Uint8Array(dim * 4);
    const view = new DataView(le.buffer);
    for (let j = 0; j < dim; j++) view.setFloat32(j * 4, v[j]!, true);
    w.bytes(le);
    w.pad(DEFAULT_ALIGNMENT);
  }
  return { bytes: w.concat(), skipped };
}

// ---- reading ----

class Reader {
  pos = 0;
  private view: DataView;
  constructor(private readonly file: string, private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.b.length) throw new DsteerError(`${this.file}: truncated or corrupt GGUF: ${what} needs ${n} bytes at offset ${this.pos}, but the file has ${this.b.length}`);
  }
  /** A little-endian view of the next `n` bytes (checked), without moving. */
  viewAt(n: number, what: string): DataView {
    this.need(n, what);
    return new DataView(this.b.buffer, this.b.byteOffset + this.pos, n);
  }
  u32(what: string): number {
    this.need(4, what);
    const x = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return x;
  }
  u64(what: string): number {
    this.need(8, what);
    const x = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw new DsteerError(`${this.file}: corrupt GGUF: ${what} is ${x}`);
    return Number(x);
  }
  str(what: string): string {
    const n = this.u64(`${what} length`);
    this.need(n, what);
    const s = new TextDecoder('utf-8', { fatal: false }).decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  /** A metadata value of type `t` (arrays are skipped and come back as null). */
  value(t: number, what: string): string | number | boolean | null {
    const sizes: Record<number, number> = { [T.U8]: 1, [T.I8]: 1, [T.U16]: 2, [T.I16]: 2, [T.U32]: 4, [T.I32]: 4, [T.F32]: 4, [T.BOOL]: 1, [T.U64]: 8, [T.I64]: 8, [T.F64]: 8 };
    if (t === T.STRING) return this.str(what);
    if (t === T.ARRAY) {
      const et = this.u32(`${what} element type`);
      const n = this.u64(`${what} element count`);
      for (let i = 0; i < n; i++) this.value(et, `${what}[${i}]`);
      return null;
    }
    const size = sizes[t];
    if (size === undefined) throw new DsteerError(`${this.file}: corrupt GGUF: ${what} has unknown value type ${t}`);
    this.need(size, what);
    const v = this.view;
    const at = this.pos;
    this.pos += size;
    switch (t) {
      case T.U8: return v.getUint8(at);
      case T.I8: return v.getInt8(at);
      case T.U16: return v.getUint16(at, true);
      case T.I16: return v.getInt16(at, true);
      case T.U32: return v.getUint32(at, true);
      case T.I32: return v.getInt32(at, true);
      case T.F32: return v.getFloat32(at, true);
      case T.BOOL: return v.getUint8(at) !== 0;
      case T.U64: return Number(v.getBigUint64(at, true));
      case T.I64: return Number(v.getBigInt64(at, true));
      default: return v.getFloat64(at, true);
    }
  }
}

/**
 * Reads a llama.cpp / repeng control vector. Refuses other architectures, non-F32 or non-1-D
 * tensors, tensors not named `direction.{l}`, and truncated or corrupt files, naming the problem.
 * @example
 * const v = { vectors: new Map([['blocks.1.hook_resid_post', new Float32Array([0.25, 4])]]), provenance: null, file: 'v.safetensors' };
 * const cv = await readControlVector(new MemorySource('v.gguf', encodeControlVector(v).bytes));
 * assert(cv.dim === 2 && [...cv.directions.keys()].join() === '1' && cv.directions.get(1)[0] === 0.25);
 */
export async function readControlVector(src: ByteSource): Promise<ControlVector> {
  const file = src.name;
  if (src.size < 24) throw new DsteerError(`${file}: not a GGUF file (${src.size} bytes; the header alone is 24)`);
  const r = new Reader(file, await src.read(0, src.size));
  if (r.u32('magic') !== MAGIC) throw new DsteerError(`${file}: not a GGUF file (it does not start with "GGUF")`);
  const version = r.u32('version');
  if (version !== 2 && version !== 3) throw new DsteerError(`${file}: GGUF version ${version}; supported: 2, 3`);
  const nTensors = r.u64('tensor count');
  const nKv = r.u64('metadata count');
  if (nTensors > 1_000_000 || nKv > 1_000_000) throw new DsteerError(`${file}: corrupt GGUF header (${nTensors} tensors, ${nKv} metadata entries)`);
  const meta = new Map<string, string | number | boolean | null>();
  for (let i = 0; i < nKv; i++) {
    const key = r.str(`metadata key ${i}`);
    meta.set(key, r.value(r.u32(`type of ${key}`), key));
  }
  const arch = meta.get('general.architecture');
  if (arch !== CONTROL_VECTOR_ARCH) {
    throw new DsteerError(`${file}: general.architecture is ${arch === undefined ? 'missing' : JSON.stringify(arch)}; only "${CONTROL_VECTOR_ARCH}" files (llama.cpp control vectors) are read`);
  }
  const alignment = meta.get('general.alignment') ?? DEFAULT_ALIGNMENT;
  if (typeof alignment !== 'number' || !Number.isInteger(alignment) || alignment < 1) throw new DsteerError(`${file}: general.alignment ${alignment} is not a positive integer`);
  const infos: { l: number; name: string; offset: number }[] = [];
  let dim = -1;
  for (let i = 0; i < nTensors; i++) {
    const name = r.str(`tensor ${i} name`);
    const nd = r.u32(`${name} dimension count`);
    if (nd > 8) throw new DsteerError(`${file}: corrupt GGUF: tensor ${name} has ${nd} dimensions`);
    const shape = Array.from({ length: nd }, (_, k) => r.u64(`${name} dimension ${k}`));
    const type = r.u32(`${name} type`);
    const offset = r.u64(`${name} offset`);
    const m = /^direction\.(\d+)$/.exec(name);
    if (!m) throw new DsteerError(`${file}: tensor ${name} is not a control vector direction; accepted names: direction.{l}, l >= 1`);
    if (type !== GGML_F32) throw new DsteerError(`${file}: tensor ${name} has ggml type ${GGML_TYPE_NAMES[type] ?? type}; only F32 control vectors are read`);
    if (nd !== 1) throw new DsteerError(`${file}: tensor ${name} has shape [${shape}]; control vector directions are 1-D`);
    if (dim >= 0 && shape[0] !== dim) throw new DsteerError(`${file}: tensor ${name} has ${shape[0]} values, the earlier ones ${dim}`);
    dim = shape[0]!;
    const l = Number(m[1]);
    if (infos.some((t) => t.l === l)) throw new DsteerError(`${file}: tensor ${name} appears twice`);
    infos.push({ l, name, offset });
  }
  if (infos.length === 0) throw new DsteerError(`${file}: has no direction.{l} tensors`);
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  const directions = new Map<number, Float32Array>();
  for (const t of infos.sort((a, b) => a.l - b.l)) {
    r.pos = dataStart + t.offset;
    const view = r.viewAt(dim * 4, `data of ${t.name}`);
    const v = new Float32Array(dim);
    for (let j = 0; j < dim; j++) {
      v[j] = view.getFloat32(j * 4, true);
      if (!Number.isFinite(v[j])) throw new DsteerError(`${file}: tensor ${t.name} has a non-finite value at index ${j}`);
    }
    directions.set(t.l, v);
  }
  const hint = meta.get(`${CONTROL_VECTOR_ARCH}.model_hint`);
  const count = meta.get(`${CONTROL_VECTOR_ARCH}.layer_count`);
  return { modelHint: typeof hint === 'string' ? hint : null, layerCount: typeof count === 'number' ? count : null, directions, dim };
}

/**
 * Our vectors for a control vector: `direction.{l}` becomes `blocks.{l}.hook_resid_post`.
 * @example
 * const m = controlVectorToVectors({ modelHint: null, layerCount: 1, dim: 1, directions: new Map([[3, new Float32Array([2])]]) });
 * assert([...m.keys()].join() === 'blocks.3.hook_resid_post');
 */
export function controlVectorToVectors(cv: ControlVector): Map<string, Float32Array> {
  return new Map([...cv.directions].map(([l, v]) => [hookName({ site: 'resid_post', layer: l }), v]));
}
