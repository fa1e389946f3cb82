/**
 * embedding (CPU twin)
 * math:   out[r, :] = table[ids[r], :]
 * shapes: table [vocab, dim], ids [rows] i32, out [rows, dim]
 * bytes:  rows * dim * 4 read + written; flops: 0
 * test:   tests/kernels/embedding.test.ts
 */
export function embeddingRef(out: Float32Array, table: Float32Array, ids: Int32Array, rows: number, dim: number): void {
  const vocab = table.length / dim;
  for (let r = 0; r < rows; r++) {
    const id = ids[r]!;
    if (id < 0 || id >= vocab) throw new RangeError(`token id ${id} is outside the vocabulary (0..${vocab - 1})`);
    out.set(table.subarray(id * dim, id * dim + dim), r * dim);
  }
}
