/**
 * attention (CPU twin): causal scaled-dot-product attention with GQA over a KV cache
 * math:   for row r (sequence slot[r], position pos[r]) and query head h with KV head g = h / (nHeads / nKvHeads):
 *           s_t = (q[r, h] . K[slot, t, g]) / sqrt(headDim),  t = 0..pos[r]
 *           out[r, h] = sum_t softmax(s)_t V[slot, t, g]
 *         Causality comes from positions: a row sees its own sequence's cache up to its position,
 *         so prefill (many rows) and decode (one row per sequence) are the same code, and rows of
 *         different sequences and lengths share a batch without padding.
 * shapes: q, out [rows, nHeads * headDim]; caches [slots, maxSeq, nKvHeads * headDim]; slot, pos [rows] i32
 * flops:  ~4 * rows * nHeads * headDim * (pos + 1)
 * numerics: dot products, softmax sum and the weighted sum of V accumulate in f64, in position order.
 * test:   tests/kernels/attention.test.ts
 */
export interface AttentionScratch {
  scores: Float64Array; // [maxSeq]
  acc: Float64Array; // [headDim]
}

export function attentionScratch(maxSeq: number, headDim: number): AttentionScratch {
  return { scores: new Float64Array(maxSeq), acc: new Float64Array(headDim) };
}

export function attentionRef(
  out: Float32Array,
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  slot: Int32Array,
  pos: Int32Array,
  rows: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  maxSeq: number,
  scratch: AttentionScratch = attentionScratch(maxSeq, headDim),
): void {
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const { scores, acc } = scratch;
  for (let r = 0; r < rows; r++) {
    const base = slot[r]! * maxSeq * kvDim;
    const n = pos[r]! + 1;
    for (let h = 0; h < nHeads; h++) {
      const qo = (r * nHeads + h) * headDim;
      const ko = base + Math.floor(h / group) * headDim;
      let m = -Infinity;
      for (let t = 0; t < n; t++) {
        const kt = ko + t * kvDim;
        let d = 0;
        for (let i = 0; i < headDim; i++) d += q[qo + i]! * kCache[kt + i]!;
        d *= scale;
        scores[t] = d;
        if (d > m) m = d;
      }
      let sum = 0;
      for (let t = 0; t < n; t++) {
        const e = Math.exp(scores[t]! - m);
        scores[t] = e;
        sum += e;
      }
      acc.fill(0);
      for (let t = 0; t < n; t++) {
        const p = scores[t]!;
        const vt = ko + t * kvDim;
        for (let i = 0; i < headDim; i++) acc[i] += p * vCache[vt + i]!;
      }
      const inv = 1 / sum;
      for (let i = 0; i < headDim; i++) out[qo + i] = acc[i]! * inv;
    }
  }
}
