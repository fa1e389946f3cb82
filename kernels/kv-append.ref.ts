/**
 * kv-append (CPU twin)
 * math:   kCache[slot[r], pos[r], :] = k[r, :];  vCache[slot[r], pos[r], :] = v[r, :]
 * shapes: k, v [rows, kvDim] (kvDim = nKvHeads * headDim); caches [slots, maxSeq, kvDim]; slot, pos [rows] i32
 * bytes:  4 * rows * kvDim * 4
 * test:   tests/kernels/kv-append.test.ts
 */
export function kvAppendRef(
  kCache: Float32Array,
  vCache: Float32Array,
  k: Float32Array,
  v: Float32Array,
  slot: Int32Array,
  pos: Int32Array,
  rows: number,
  kvDim: number,
  maxSeq: number,
): void {
  const slots = kCache.length / (maxSeq * kvDim);
  for (let r = 0; r < rows; r++) {
    const s = slot[r]!;
    const p = pos[r]!;
    if (s < 0 || s >= slots) throw new RangeError(`KV slot ${s} is outside 0..${slots - 1}`);
    if (p < 0 || p >= maxSeq) throw new RangeError(`position ${p} is outside the KV cache (0..${maxSeq - 1})`);
    const dst = (s * maxSeq + p) * kvDim;
    kCache.set(k.subarray(r * kvDim, r * kvDim + kvDim), dst);
    vCache.set(v.subarray(r * kvDim, r * kvDim + kvDim), dst);
  }
}
