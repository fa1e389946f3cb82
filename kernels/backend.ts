/**
 * The Kernels interface: every op the forward pass calls, over opaque buffers. The CPU backend
 * below is built from the twins (`*.ref.ts`); the WebGPU backend implements the same interface
 * with WGSL launchers, so `models/llama.ts` `forward()` is written once for both.
 *
 * Buffers: F holds f32 values, I holds i32 values. Ops are recorded in call order; on the CPU they
 * run at once, on a GPU they run at `flush()` or at the next read. Nothing here allocates per call.
 */
import { argmaxRef } from './argmax.ref.js';
import { attentionRef, attentionScratch, type AttentionScratch } from './attention.ref.js';
import { embeddingRef } from './embedding.ref.js';
import { kvAppendRef } from './kv-append.ref.js';
import { linearRef } from './linear.ref.js';
import { qkvRopeRef, type QkvScratch } from './qkv-rope.ref.js';
import { residualSteerNormRef, residualSteerRef, type SteerArgs } from './residual-add.ref.js';
import { rmsnormRef } from './rmsnorm.ref.js';
import { ropeRef } from './rope.ref.js';
import { sampleRef, sampleScratch, type SampleScratch } from './sample.ref.js';
import { logSoftmaxRef } from './softmax.ref.js';
import { swigluGuRef, swigluRef } from './swiglu.ref.js';

/** Steering arguments of one residual write, over backend buffers (see residual-add.ref.ts). */
export interface SteerBufs<F, I> {
  vectors: F; // [nVec, nSites, dim]
  nSites: number;
  site: number;
  alpha: F; // [rows, nSites]
  vec: I; // [rows]
  from: I; // [rows]
  pos: I; // [rows]
  preserveNorm: boolean;
}

export interface Kernels<F = unknown, I = unknown> {
  readonly kind: 'cpu' | 'webgpu';
  /** One line for logs and benchmark tables: backend and adapter. */
  readonly description: string;
  /** Largest buffer one kernel can bind, in bytes (Infinity on the CPU). Run states size themselves to it. */
  readonly maxBinding: number;

  // memory
  allocF32(n: number, label?: string): F;
  allocI32(n: number, label?: string): I;
  /**
   * Takes ownership of a host array as a buffer (the CPU adopts it, a GPU uploads it). `rowLen`
   * marks a weight matrix [rows, rowLen]: a GPU may store it as f16 and split it into row blocks
   * when it exceeds a binding.
   */
  adoptF32(data: Float32Array, label?: string, rowLen?: number): F;
  /** A sub-range [offset, offset + length) of a buffer, in elements. */
  viewF32(buf: F, offset: number, length: number): F;
  writeF32(dst: F, data: Float32Array, offset?: number): void;
  writeI32(dst: I, data: Int32Array, offset?: number): void;
  readF32(src: F, length: number, offset?: number): Promise<Float32Array>;
  readI32(src: I, length: number, offset?: number): Promise<Int32Array>;
  /** Submits recorded work (a no-op on the CPU). */
  flush(): Promise<void>;
  /** Frees device resources; the backend is unusable afterwards. */
  destroy(): void;

  // ops (shapes in the twins' headers)
  embedding(out: F, table: F, ids: I, rows: number, dim: number): void;
  rmsnorm(out: F, x: F, w: F, rows: number, dim: number, eps: number): void;
  linear(out: F, x: F, w: F, bias: F | null, rows: number, inDim: number, outDim: number): void;
  rope(x: F, pos: I, cos: F, sin: F, rows: number, nHeads: number, headDim: number): void;
  kvAppend(kCache: F, vCache: F, k: F, v: F, slot: I, pos: I, rows: number, kvDim: number, maxSeq: number): void;
  /** RoPE on a fused [q | k | v] projection: q -> q, rotated k and v -> the KV cache (qkv-rope.ref.ts). */
  qkvRope(q: F, kCache: F, vCache: F, qkv: F, pos: I, slot: I, cos: F, sin: F, rows: number, nHeads: number, nKvHeads: number, headDim: number, maxSeq: number): void;
  attention(out: F, q: F, kCache: F, vCache: F, slot: I, pos: I, rows: number, nHeads: number, nKvHeads: number, headDim: number, maxSeq: number): void;
  swiglu(out: F, gate: F, up: F, n: number): void;
  /** out[r, i] = silu(gu[r, i]) * gu[r, hidden + i]: SwiGLU on a fused gate/up projection's rows. */
  swigluGu(out: F, gu: F, rows: number, hidden: number): void;
  residualAdd(x: F, branch: F, rows: number, dim: number, steer: SteerBufs<F, I> | null): void;
  /** residualAdd, then normOut = rmsnorm(x) * normW (fused on the GPU; `branch` must not be `normOut`). */
  residualAddNorm(x: F, branch: F, rows: number, dim: number, steer: SteerBufs<F, I> | null, normW: F, normOut: F, eps: number): void;
  /** out[i, :] = src[idx[i], :] for i < n. */
  gatherRows(out: F, src: F, idx: I, n: number, dim: number): void;
  logSoftmax(out: F, x: F, rows: number, n: number): void;
  argmax(out: I, x: F, rows: number, n: number): void;
  sample(out: I, logits: F, rows: number, n: number, temperature: F, topP: F, u: F): void;
}

export type CpuKernels = Kernels<Float32Array, Int32Array>;

/** out[i, :] = src[idx[i], :] (CPU twin of gather-rows). */
export function gatherRowsRef(out: Float32Array, src: Float32Array, idx: Int32Array, n: number, dim: number): void {
  const rows = src.length / dim;
  for (let i = 0; i < n; i++) {
    const r = idx[i]!;
    if (r < 0 || r >= rows) throw new RangeError(`gather row ${r} is outside 0..${rows - 1}`);
    out.set(src.subarray(r * dim, r * dim + dim), i * dim);
  }
}

/** The CPU backend: the twins, called directly on typed arrays. */
export function cpuBackend(): CpuKernels {
  let attScratch: AttentionScratch | null = null;
  let smpScratch: SampleScratch | null = null;
  let qkvScratch: QkvScratch = { k: new Float32Array(0), v: new Float32Array(0) };
  return {
    kind: 'cpu',
    description: 'cpu (TypeScript kernel twins, f32 storage, f64 accumulation)',
    maxBinding: Infinity,
    allocF32: (n) => new Float32Array(n),
    allocI32: (n) => new Int32Array(n),
    adoptF32: (data) => data,
    viewF32: (buf, offset, length) => buf.subarray(offset, offset + length),
    writeF32: (dst, data, offset = 0) => dst.set(data, offset),
    writeI32: (dst, data, offset = 0) => dst.set(data, offset),
    readF32: async (src, length, offset = 0) => src.slice(offset, offset + length),
    readI32: async (src, length, offset = 0) => src.slice(offset, offset + length),
    flush: async () => {},
    destroy: () => {},
    embedding: embeddingRef,
    rmsnorm: rmsnormRef,
    linear: linearRef,
    rope: ropeRef,
    kvAppend: kvAppendRef,
    attention(out, q, kCache, vCache, slot, pos, rows, nHeads, nKvHeads, headDim, maxSeq) {
      if (attScratch === null || attScratch.scores.length < maxSeq || attScratch.acc.length < headDim) {
        attScratch = attentionScratch(maxSeq, headDim);
      }
      attentionRef(out, q, kCache, vCache, slot, pos, rows, nHeads, nKvHeads, headDim, maxSeq, attScratch);
    },
    qkvRope(q, kCache, vCache, qkv, pos, slot, cos, sin, rows, nHeads, nKvHeads, headDim, maxSeq) {
      const n = rows * nKvHeads * headDim;
      if (qkvScratch.k.length < n) qkvScratch = { k: new Float32Array(n), v: new Float32Array(n) };
      qkvRopeRef(q, kCache, vCache, qkv, pos, slot, cos, sin, rows, nHeads, nKvHeads, headDim, maxSeq, qkvScratch);
    },
    swiglu: swigluRef,
    swigluGu: swigluGuRef,
    residualAdd(x, branch, rows, dim, steer) {
      residualSteerRef(x, branch, rows, dim, steer satisfies SteerArgs | null);
    },
    residualAddNorm(x, branch, rows, dim, steer, normW, normOut, eps) {
      residualSteerNormRef(x, branch, rows, dim, steer, normW, normOut, eps);
    },
    gatherRows: gatherRowsRef,
    logSoftmax: logSoftmaxRef,
    argmax: argmaxRef,
    sample(out, logits, rows, n, temperature, topP, u) {
      if (smpScratch === null || smpScratch.probs.length < n) smpScratch = sampleScratch(n);
      sampleRef(out, logits, rows, n, temperature, topP, u, smpScratch);
    },
  };
}
