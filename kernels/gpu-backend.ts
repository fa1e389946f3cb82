/**
 * The WebGPU backend: the Kernels interface over the WGSL launchers (kernels/<name>.ts), so the
 * same `forward()` runs on a GPU. Buffers are GBufs (engine/gpu.ts); f32 activations, i32 index
 * buffers, weight matrices optionally stored as f16 (when the adapter has shader-f16) and split
 * into row blocks when larger than one binding.
 */
import { f32ToF16 } from '../engine/dtype.js';
import type { GBuf, Gpu } from '../engine/gpu.js';
import { describeAdapter } from '../engine/device.js';
import { argmaxGpu } from './argmax.js';
import { attentionGpu, ATTENTION_DEFAULT } from './attention.js';
import type { Kernels } from './backend.js';
import { embeddingGpu } from './embedding.js';
import { gatherRowsGpu } from './gather-rows.js';
import { kvAppendGpu } from './kv-append.js';
import { linearGpu, LINEAR_DEFAULT } from './linear.js';
import { qkvRopeGpu } from './qkv-rope.js';
import { residualAddGpu } from './residual-add.js';
import { rmsnormGpu } from './rmsnorm.js';
import { ropeGpu } from './rope.js';
import { sampleGpu } from './sample.js';
import { logSoftmaxGpu } from './softmax.js';
import { swigluGpu, swigluGuGpu } from './swiglu.js';

export type GpuKernels = Kernels<GBuf, GBuf> & { readonly gpu: Gpu };

export interface GpuBackendOptions {
  /** Store weight matrices as f16 (needs shader-f16); activations and accumulation stay f32. */
  f16Weights?: boolean;
  /** Kernel versions to use instead of the defaults (benchmarks). */
  linearVersion?: Parameters<typeof linearGpu>[8];
  attentionVersion?: Parameters<typeof attentionGpu>[12];
}

/** Uploads a matrix [rows, rowLen], split into row blocks that each fit one binding. */
function uploadMatrix(g: Gpu, data: Float32Array, rowLen: number, f16: boolean, label: string): GBuf {
  const rows = data.length / rowLen;
  const elem = f16 ? 2 : 4;
  const perPart = Math.max(1, Math.floor(g.maxBinding / (rowLen * elem)));
  const put = (row0: number, n: number): GBuf => {
    const src = data.subarray(row0 * rowLen, (row0 + n) * rowLen);
    const b = g.buffer(src.length * elem, label);
    if (f16) {
      const h = new Uint16Array(src.length);
      f32ToF16(src, h);
      g.write(b, h);
      b.f16 = true;
    } else g.write(b, src);
    return b;
  };
  if (rows <= perPart) return put(0, rows);
  const parts: NonNullable<GBuf['parts']> = [];
  for (let r = 0; r < rows; r += perPart) parts.push({ buf: put(r, Math.min(perPart, rows - r)), row0: r, rows: Math.min(perPart, rows - r) });
  // the whole tensor is addressed only through its parts; the handle itself points at the first
  return { ...parts[0]!.buf, parts, key: `${parts[0]!.buf.key}*` };
}

/**
 * The WebGPU backend on an opened device.
 * @example
 * const h = await openGpu({ allowSoftware: true });
 * if (h) { const k = gpuBackend(new Gpu(h)); assert(k.kind === 'webgpu'); k.destroy(); } else assert(lastGpuError() !== '');
 */
export function gpuBackend(g: Gpu, opts: GpuBackendOptions = {}): GpuKernels {
  const f16 = opts.f16Weights === true;
  if (f16 && !g.hasF16) throw new Error('f16 weights need the shader-f16 feature, which this adapter lacks');
  const linearVersion = opts.linearVersion ?? LINEAR_DEFAULT;
  const attentionVersion = opts.attentionVersion ?? ATTENTION_DEFAULT;
  return {
    kind: 'webgpu',
    gpu: g,
    description: `webgpu ${describeAdapter(g.handle)}; weights ${f16 ? 'f16' : 'f32'}, f32 accumulation`,
    maxBinding: g.maxBinding,
    allocF32: (n, label) => g.buffer(n * 4, label),
    allocI32: (n, label) => g.buffer(n * 4, label),
    adoptF32(data, label, rowLen) {
      if (rowLen !== undefined) return uploadMatrix(g, data, rowLen, f16, label ?? 'weight');
      if (data.byteLength > g.maxBinding) throw new Error(`${label ?? 'tensor'}: ${data.byteLength} bytes exceed one binding and it is not a matrix`);
      const b = g.buffer(data.byteLength, label);
      g.write(b, data);
      return b;
    },
    viewF32: (buf, offset, length) => g.view(buf, offset * 4, length * 4),
    writeF32: (dst, data, offset = 0) => g.write(dst, data, offset * 4),
    writeI32: (dst, data, offset = 0) => g.write(dst, data, offset * 4),
    readF32: async (src, length, offset = 0) => new Float32Array(await g.read(src, offset * 4, length * 4)),
    readI32: async (src, length, offset = 0) => new Int32Array(await g.read(src, offset * 4, length * 4)),
    flush: () => g.finish(),
    destroy: () => g.destroy(),
    embedding: (out, table, ids, rows, dim) => embeddingGpu(g, out, table, ids, rows, dim),
    rmsnorm: (out, x, w, rows, dim, eps) => rmsnormGpu(g, out, x, w, rows, dim, eps),
    linear: (out, x, w, bias, rows, inDim, outDim) => linearGpu(g, out, x, w, bias, rows, inDim, outDim, linearVersion),
    rope: (x, pos, cos, sin, rows, nHeads, headDim) => ropeGpu(g, x, pos, cos, sin, rows, nHeads, headDim),
    kvAppend: (kc, vc, k, v, slot, pos, rows, kvDim, maxSeq) => kvAppendGpu(g, kc, vc, k, v, slot, pos, rows, kvDim, maxSeq),
    attention: (out, q, kc, vc, slot, pos, rows, nHeads, nKvHeads, headDim, maxSeq) =>
      attentionGpu(g, out, q, kc, vc, slot, pos, rows, nHeads, nKvHeads, headDim, maxSeq, attentionVersion),
    qkvRope: (q, kc, vc, qkv, pos, slot, cos, sin, rows, nHeads, nKvHeads, headDim, maxSeq) =>
      qkvRopeGpu(g, q, kc, vc, qkv, pos, slot, cos, sin, rows, nHeads, nKvHeads, headDim, maxSeq),
    swiglu: (out, gate, up, n) => swigluGpu(g, out, gate, up, n),
    swigluGu: (out, gu, rows, hidden) => swigluGuGpu(g, out, gu, rows, hidden),
    residualAdd: (x, branch, rows, dim, steer) => residualAddGpu(g, x, branch, rows, dim, steer, null),
    residualAddNorm: (x, branch, rows, dim, steer, w, out, eps) => residualAddGpu(g, x, branch, rows, dim, steer, { w, out, eps }),
    gatherRows: (out, src, idx, n, dim) => gatherRowsGpu(g, out, src, idx, n, dim),
    logSoftmax: (out, x, rows, n) => logSoftmaxGpu(g, out, x, rows, n),
    argmax: (out, x, rows, n) => argmaxGpu(g, out, x, rows, n),
    sample: (out, logits, rows, n, t, p, u) => sampleGpu(g, out, logits, rows, n, t, p, u),
  };
}
