/**
 * embedding launcher (WGSL: embedding.wgsl; twin: embedding.ref.ts). One thread per output
 * element. An f16 table (`table.f16`) selects the f16 pipeline (the WT alias); a table split into
 * `parts` (an LM-head-sized vocabulary exceeds one binding) is one dispatch per part, each writing
 * the rows whose ids fall in its row block.
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

const WG = 256;
const SRC: KernelSource = {
  name: 'embedding',
  version: 'v1',
  code: WGSL['embedding']!,
  bindings: ['read', 'read', 'rw'],
  params: [['rows', 'u32'], ['dim', 'u32'], ['row0', 'u32'], ['partRows', 'u32']],
};

export const EMBEDDING_VERSIONS = ['v1'] as const;

/** out[r] = table[ids[r]] for r < rows; table: [vocab, dim] (f32 or f16, whole or in parts), ids: [rows] i32, out: [rows, dim] f32. */
export function embeddingGpu(g: Gpu, out: GBuf, table: GBuf, ids: GBuf, rows: number, dim: number): void {
  const elem = table.f16 ? 'f16' : 'f32';
  const p = g.pipeline(SRC, { WG }, elem);
  // a whole table's rows come from its size (rounded up by at most 15 bytes: a padding row reads zeros, in bounds)
  const parts = table.parts ?? [{ buf: table, row0: 0, rows: Math.floor(table.size / (dim * (table.f16 ? 2 : 4))) }];
  const [gx, gy] = grid(Math.ceil((rows * dim) / WG));
  for (const part of parts) g.dispatch(p, [part.buf, ids, out], [rows, dim, part.row0, part.rows], gx, gy);
}
