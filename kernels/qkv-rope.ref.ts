/**
 * qkv-rope (CPU twin): RoPE on the fused QKV projection's output, with the KV-cache append
 * math:   for row r with qkv[r] = [q | k | v] (widths nHeads*headDim, nKvHeads*headDim, nKvHeads*headDim):
 *           q[r]                  = rope(qkv[r].q, pos[r])
 *           kCache[slot[r], pos[r]] = rope(qkv[r].k, pos[r])
 *           vCache[slot[r], pos[r]] = qkv[r].v
 *         = the composition of rope (rope.ref.ts) and kv-append (kv-append.ref.ts), which is how this
 *         twin computes it, so the fused GPU kernel is tested against the unfused oracle.
 * shapes: qkv [rows, qDim + 2 kvDim]; q [rows, qDim]; caches [slots, maxSeq, kvDim]; pos, slot [rows] i32
 * bytes:  ~2 * rows * (qDim + 2 kvDim) * 4
 * test:   tests/kernels/qkv-rope.test.ts
 */
import { kvAppendRef } from './kv-append.ref.js';
import { ropeRef } from './rope.ref.js';

export interface QkvScratch {
  k: Float32Array;
  v: Float32Array;
}

export function qkvRopeRef(
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  qkv: Float32Array,
  pos: Int32Array,
  slot: Int32Array,
  cos: Float32Array,
  sin: Float32Array,
  rows: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  maxSeq: number,
  scratch?: QkvScratch,
): void {
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const stride = qDim + 2 * kvDim;
  const k = scratch && scratch.k.length >= rows * kvDim ? scratch.k : new Float32Array(rows * kvDim);
  const v = scratch && scratch.v.length >= rows * kvDim ? scratch.v : new Float32Array(rows * kvDim);
  for (let r = 0; r < rows; r++) {
    const o = r * stride;
    q.set(qkv.subarray(o, o + qDim), r * qDim);
    k.set(qkv.subarray(o + qDim, o + qDim + kvDim), r * kvDim);
    v.set(qkv.subarray(o + qDim + kvDim, o + stride), r * kvDim);
  }
  ropeRef(q, pos, cos, sin, rows, nHeads, headDim);
  ropeRef(k, pos, cos, sin, rows, nKvHeads, headDim);
  kvAppendRef(kCache, vCache, k, v, slot, pos, rows, kvDim, maxSeq);
}
