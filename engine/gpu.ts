/**
 * WebGPU plumbing that knows nothing about transformers: buffers and views, a pipeline cache keyed
 * by kernel + version + constants + element type, explicit bind-group layouts, a uniform arena for
 * per-dispatch `Params` (one 256-byte slot per dispatch, bound with a dynamic offset), cached bind
 * groups, one command encoder per flush, read-back through staging buffers, timestamp timing.
 *
 * Ordering: dispatches are recorded into the pending encoder; `write()` and `read()` first submit
 * what is pending, so every write lands between the commands that precede and follow it in
 * program order. A forward pass writes its inputs first and then records all its dispatches, so
 * it is one encoder and one submit.
 */
/// <reference types="@webgpu/types" />
import type { GpuHandle } from './device.js';

/** A storage buffer range. `parts` splits a tensor too large for one binding into row blocks. */
export interface GBuf {
  buffer: GPUBuffer;
  /** Byte offset of the range in `buffer` (a multiple of the storage offset alignment). */
  offset: number;
  /** Byte length of the range. */
  size: number;
  /** Row blocks of a split tensor (each its own buffer), with the first row of each. */
  parts?: { buf: GBuf; row0: number; rows: number }[];
  /** Unique per (buffer, offset, size): the bind-group cache key. */
  key: string;
  /** Element type of a weight stored as f16 (shader-f16); absent means 32-bit elements. */
  f16?: boolean;
}

export type ParamType = 'u32' | 'i32' | 'f32';

/** A kernel's static description: its WGSL, storage bindings and Params fields. */
export interface KernelSource {
  name: string;
  version: string;
  /** WGSL text; `alias WT = f32;` may be switched to f16 (the only substitution). */
  code: string;
  /** Storage bindings 1..n in order: read-only or read-write. Params is always binding 0. */
  bindings: ('read' | 'rw')[];
  /** Params struct fields, in declaration order. */
  params: [string, ParamType][];
  /** Entry point (default `main`). */
  entry?: string;
}

export interface Pipeline {
  id: number;
  source: KernelSource;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

const PARAM_SLOT = 256;
const ARENA_BYTES = 1 << 20;

export class Gpu {
  readonly device: GPUDevice;
  readonly maxBinding: number;
  readonly align: number;
  readonly hasF16: boolean;
  readonly hasSubgroups: boolean;
  readonly hasTimestamps: boolean;
  /** Dispatches recorded since creation (benchmarks read it). */
  dispatches = 0;
  private nextKey = 0;
  private pipelines = new Map<string, Pipeline>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arena: GPUBuffer;
  private arenaData = new ArrayBuffer(ARENA_BYTES);
  private arenaU32 = new Uint32Array(this.arenaData);
  private arenaI32 = new Int32Array(this.arenaData);
  private arenaF32 = new Float32Array(this.arenaData);
  private arenaUsed = 0;
  private staging: GPUBuffer | null = null;

  constructor(readonly handle: GpuHandle) {
    this.device = handle.device;
    this.maxBinding = handle.limits.maxStorageBufferBindingSize;
    this.align = handle.limits.minStorageBufferOffsetAlignment || 256;
    this.hasF16 = handle.features.includes('shader-f16');
    this.hasSubgroups = handle.features.includes('subgroups');
    this.hasTimestamps = handle.features.includes('timestamp-query');
    this.arena = this.device.createBuffer({ size: ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'params arena' });
    // Validation and shader errors surface asynchronously; keep the first and raise it at the next
    // read or finish, so a bad kernel fails loudly with its label instead of leaving zeros.
    this.device.addEventListener('uncapturederror', (ev) => {
      this.error ??= (ev as GPUUncapturedErrorEvent).error.message;
    });
  }

  private error: string | undefined;

  private raise(): void {
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      throw new Error(`WebGPU error: ${e}`);
    }
  }

  /** A new storage buffer of at least `bytes` bytes (rounded up to 16), zero-filled. */
  buffer(bytes: number, label?: string): GBuf {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, ...(label ? { label } : {}) });
    return { buffer, offset: 0, size, key: `b${this.nextKey++}` };
  }

  /** Destroys a buffer made by `buffer()` and forgets its cached bind groups. */
  release(b: GBuf): void {
    const id = b.key.split('@')[0]!;
    for (const k of [...this.bindGroups.keys()]) if (k.split('|').some((part) => part.split('@')[0] === id)) this.bindGroups.delete(k);
    this.submit();
    b.buffer.destroy();
  }

  /** A view of `byteLength` bytes at `byteOffset` into `b` (must be aligned for binding). */
  view(b: GBuf, byteOffset: number, byteLength: number): GBuf {
    if (byteOffset % this.align !== 0) throw new Error(`view offset ${byteOffset} is not a multiple of the storage alignment ${this.align}`);
    if (byteOffset + byteLength > b.size) throw new Error(`view [${byteOffset}, ${byteOffset + byteLength}) exceeds its buffer of ${b.size} bytes`);
    const offset = b.offset + byteOffset;
    return { buffer: b.buffer, offset, size: byteLength, key: `${b.key.split('@')[0]}@${offset}+${byteLength}` };
  }

  /** Writes host data at `byteOffset` of `b`, after everything recorded so far. */
  write(b: GBuf, data: ArrayBufferView, byteOffset = 0): void {
    if (data.byteLength === 0) return;
    this.submit();
    // writeBuffer needs a multiple of 4 bytes
    const len = Math.ceil(data.byteLength / 4) * 4;
    if (len !== data.byteLength) {
      const tmp = new Uint8Array(len);
      tmp.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.device.queue.writeBuffer(b.buffer, b.offset + byteOffset, tmp);
    } else {
      this.device.queue.writeBuffer(b.buffer, b.offset + byteOffset, data.buffer, data.byteOffset, data.byteLength);
    }
  }

  /** Reads `byteLength` bytes at `byteOffset` of `b`, after everything recorded so far. */
  async read(b: GBuf, byteOffset: number, byteLength: number): Promise<ArrayBuffer> {
    const len = Math.ceil(byteLength / 4) * 4;
    if (this.staging === null || this.staging.size < len) {
      this.staging?.destroy();
      this.staging = this.device.createBuffer({ size: Math.max(len, 1 << 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'staging' });
    }
    this.endPass();
    const enc = this.encoder ?? this.device.createCommandEncoder();
    this.encoder = enc;
    enc.copyBufferToBuffer(b.buffer, b.offset + byteOffset, this.staging, 0, len);
    this.submit();
    const staging = this.staging;
    await staging.mapAsync(GPUMapMode.READ, 0, len);
    const out = staging.getMappedRange(0, len).slice(0, byteLength);
    staging.unmap();
    this.raise();
    return out;
  }

  /** Copies bytes between buffers, in order with the recorded dispatches. */
  copy(src: GBuf, srcOffset: number, dst: GBuf, dstOffset: number, bytes: number): void {
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src.buffer, src.offset + srcOffset, dst.buffer, dst.offset + dstOffset, bytes);
  }

  /** The pipeline of a kernel version with override constants and element type, compiled once. */
  pipeline(src: KernelSource, constants: Record<string, number> = {}, elem: 'f32' | 'f16' = 'f32'): Pipeline {
    const key = `${src.name}/${src.version}/${src.entry ?? "main"}/${elem}/${Object.entries(constants).sort().map(([k, v]) => `${k}=${v}`).join(',')}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    let code = src.code;
    if (elem === 'f16') {
      if (!this.hasF16) throw new Error(`kernel ${src.name}: f16 weights need the shader-f16 feature, which this adapter lacks`);
      code = 'enable f16;\n' + code.replace(/alias WT = f32;/, 'alias WT = f16;');
    }
    const uses = code.replace(/\/\/.*$/gm, '');
    if (this.hasSubgroups && /\bsubgroup[A-Z]\w*\s*\(/.test(uses) && !/enable subgroups;/.test(uses)) code = 'enable subgroups;\n' + code;
    const module = this.device.createShaderModule({ code, label: key });
    const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } }];
    src.bindings.forEach((kind, i) => entries.push({ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: kind === 'read' ? 'read-only-storage' : 'storage' } }));
    const layout = this.device.createBindGroupLayout({ entries, label: key });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: src.entry ?? 'main', constants },
      label: key,
    });
    p = { id: this.pipelines.size, source: src, pipeline, layout };
    this.pipelines.set(key, p);
    return p;
  }

  /** Records one dispatch: storage buffers in binding order, Params values in field order. */
  dispatch(p: Pipeline, bufs: GBuf[], params: number[], x: number, y = 1, z = 1): void {
    if (x === 0 || y === 0 || z === 0) return;
    const src = p.source;
    if (bufs.length !== src.bindings.length) throw new Error(`kernel ${src.name}: ${bufs.length} buffers for ${src.bindings.length} bindings`);
    if (params.length !== src.params.length) throw new Error(`kernel ${src.name}: ${params.length} params for ${src.params.length} fields`);
    for (const b of bufs) if (b.size > this.maxBinding) throw new Error(`kernel ${src.name}: a ${b.size}-byte binding exceeds the device limit of ${this.maxBinding}; split it`);
    if (this.arenaUsed + PARAM_SLOT > ARENA_BYTES) this.submit();
    const slot = this.arenaUsed;
    this.arenaUsed += PARAM_SLOT;
    const w = slot / 4;
    src.params.forEach(([, t], i) => {
      const v = params[i]!;
      if (t === 'f32') this.arenaF32[w + i] = v;
      else if (t === 'i32') this.arenaI32[w + i] = v;
      else this.arenaU32[w + i] = v;
    });
    let key = `${p.id}`;
    for (const b of bufs) key += `|${b.key}`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena, offset: 0, size: PARAM_SLOT } }];
      bufs.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset, size: b.size } }));
      bg = this.device.createBindGroup({ layout: p.layout, entries });
      this.bindGroups.set(key, bg);
    }
    if (this.pass === null) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass.setPipeline(p.pipeline);
    this.pass.setBindGroup(0, bg, [slot]);
    this.pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
  }

  private querySet: GPUQuerySet | null = null;
  private queryBuf: GPUBuffer | null = null;

  /**
   * GPU time in milliseconds of the dispatches `record` makes, from timestamp queries written at
   * the start and end of one compute pass (the `timestamp-query` feature); null without it.
   */
  async gpuTime(record: () => void): Promise<number | null> {
    if (!this.hasTimestamps) return null;
    this.submit();
    if (this.querySet === null) {
      this.querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 });
      this.queryBuf = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.STORAGE });
    }
    this.encoder = this.device.createCommandEncoder();
    this.pass = this.encoder.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    const before = this.dispatches;
    record();
    if (this.pass === null || this.dispatches === before) throw new Error('gpuTime: the recorded work must be dispatches within one pass');
    this.endPass();
    this.encoder.resolveQuerySet(this.querySet, 0, 2, this.queryBuf!, 0);
    const raw = await this.read({ buffer: this.queryBuf!, offset: 0, size: 16, key: 'timestamps' }, 0, 16);
    const t = new BigUint64Array(raw);
    return Number(t[1]! - t[0]!) / 1e6;
  }

  private endPass(): void {
    if (this.pass !== null) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submits everything recorded (params first). */
  submit(): void {
    this.endPass();
    if (this.encoder === null) return;
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arena, 0, this.arenaData, 0, this.arenaUsed);
    this.arenaUsed = 0;
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
  }

  /** Submits and waits until the GPU has finished. */
  async finish(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.raise();
  }

  destroy(): void {
    this.staging?.destroy();
    this.querySet?.destroy();
    this.queryBuf?.destroy();
    this.arena.destroy();
    this.handle.destroy();
  }
}

/** Splits a 1-D dispatch of `groups` workgroups into x * y with x <= 65535. */
export function grid(groups: number, maxPerDim = 65535): [number, number] {
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}
