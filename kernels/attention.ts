/**
 * attention launcher (WGSL: attention.wgsl = v1, attention.v2-splitk.wgsl = v2-splitk; twin:
 * attention.ref.ts). Causal GQA attention of each row over its own slot's cache positions
 * 0..pos[r]; `out` must not alias `q`. Both versions compute every row independently with a
 * summation order fixed by that row's position, so results are bitwise batch-invariant per
 * version, and prefill (many rows in one call) equals decode (one row per call) as long as the
 * backend uses one version for both.
 *
 * v2-splitk needs a scratch buffer for its per-chunk partials: it is allocated here on first use,
 * cached per Gpu (a WeakMap keyed by the Gpu, so it goes away with the device), grown when a call
 * needs more (growing submits what is recorded so far, then frees the old buffer), and never
 * larger than SCRATCH_CAP (or the binding limit): a batch whose partials do not fit is processed
 * in row blocks, one pass-1 + combine pair per block, reusing the scratch in one encoder. Size:
 * rows * nHeads * ceil(maxSeq / 64) * (headDim + 2) * 4 bytes, e.g. 1 MiB per row at 32 heads x
 * 128, maxSeq 4096.
 * Usage (run by tests/kernels/attention.gpu.test.ts; not a doctest, which has no GPU):
 * // out, q [rows, nHeads * headDim]; caches [slots, maxSeq, nKvHeads * headDim]; slot, pos [rows] i32
 * attentionGpu(g, out, q, kCache, vCache, slot, pos, rows, nHeads, nKvHeads, headDim, maxSeq);
 */
import { grid, type GBuf, type Gpu, type KernelSource } from '../engine/gpu.js';
import { WGSL } from './wgsl.gen.js';

export const ATTENTION_VERSIONS = ['v1', 'v2-splitk'] as const;
export type AttentionVersion = (typeof ATTENTION_VERSIONS)[number];
/**
 * The version the backend uses for prefill and decode alike (one version for both keeps their
 * logits bitwise equal). v2-splitk: on lavapipe it is 3-4x faster than v1 for decode (32/8 heads
 * x 128 at length 1024 and 4096) and for prefill batches too, since each K/V row is read once per
 * KV head instead of once per query head; its costs are a second dispatch (combine), the scratch
 * buffer and ceil(maxSeq / 64) pass-1 workgroups per (row, head block), most exiting at once.
 */
export const ATTENTION_DEFAULT: AttentionVersion = 'v2-splitk';

/** Largest head dimension the kernels hold in workgroup memory (MAX_HEAD_DIM in the WGSL). */
export const ATTENTION_MAX_HEAD_DIM = 256;
/** Upper bound on v2-splitk's scratch buffer, per Gpu. */
export const SCRATCH_CAP = 64 << 20;

const WG1 = 64; // v1: threads per workgroup = positions per tile
const WG2 = 64; // v2: threads per workgroup = positions per chunk
const MAX_GROUP = 8; // MAX_GROUP in attention.v2-splitk.wgsl

const PARAMS: KernelSource['params'] = [
  ['rows', 'u32'],
  ['nHeads', 'u32'],
  ['nKvHeads', 'u32'],
  ['headDim', 'u32'],
  ['maxSeq', 'u32'],
  ['scale', 'f32'],
];
const V1: KernelSource = { name: 'attention', version: 'v1', code: WGSL['attention']!, bindings: ['rw', 'read', 'read', 'read', 'read', 'read'], params: PARAMS };
const v2 = { name: 'attention', version: 'v2-splitk', code: WGSL['attention.v2-splitk']!, params: [...PARAMS, ['nChunks', 'u32'], ['row0', 'u32']] as KernelSource['params'] };
const V2_PARTIAL: KernelSource = { ...v2, bindings: ['rw', 'read', 'read', 'read', 'read', 'read'] };
const V2_COMBINE: KernelSource = { ...v2, bindings: ['rw', 'read', 'read'], entry: 'combine' };

const scratch = new WeakMap<Gpu, GBuf>();

/** v2's scratch of at least `bytes`, reused across calls and grown (never shrunk) on demand. */
function scratchFor(g: Gpu, bytes: number): GBuf {
  const cur = scratch.get(g);
  if (cur && cur.size >= bytes) return cur;
  if (cur) {
    // commands already recorded may still use the old buffer: submit them before freeing it
    g.submit();
    cur.buffer.destroy();
  }
  const b = g.buffer(bytes, 'attention v2-splitk scratch');
  scratch.set(g, b);
  return b;
}

/** The largest divisor of the GQA group size that fits in one v2 workgroup. */
function headsPerWorkgroup(group: number): number {
  for (let k = Math.min(group, MAX_GROUP); k > 1; k--) if (group % k === 0) return k;
  return 1;
}

export function attentionGpu(
  g: Gpu,
  out: GBuf,
  q: GBuf,
  kCache: GBuf,
  vCache: GBuf,
  slot: GBuf,
  pos: GBuf,
  rows: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  maxSeq: number,
  version: AttentionVersion = ATTENTION_DEFAULT,
): void {
  if (headDim < 1 || headDim > ATTENTION_MAX_HEAD_DIM) throw new Error(`attention: headDim ${headDim} is outside 1..${ATTENTION_MAX_HEAD_DIM}`);
  if (nKvHeads < 1 || nHeads % nKvHeads !== 0) throw new Error(`attention: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  if (rows === 0) return;
  const params = [rows, nHeads, nKvHeads, headDim, maxSeq, Math.fround(1 / Math.sqrt(headDim))];
  if (version === 'v1') {
    const [x, y] = grid(rows * nHeads);
    g.dispatch(g.pipeline(V1, { WG: WG1 }), [out, q, kCache, vCache, slot, pos], params, x, y);
    return;
  }
  const GROUP = headsPerWorkgroup(nHeads / nKvHeads);
  const nChunks = Math.ceil(maxSeq / WG2);
  const rowBytes = nHeads * nChunks * (headDim + 2) * 4;
  const cap = Math.min(SCRATCH_CAP, g.maxBinding);
  if (rowBytes > cap) throw new Error(`attention v2-splitk: one row needs ${rowBytes} bytes of scratch, over the ${cap}-byte cap (maxSeq ${maxSeq} too large)`);
  const block = Math.min(rows, Math.floor(cap / rowBytes), 65535);
  const part = scratchFor(g, block * rowBytes);
  const partial = g.pipeline(V2_PARTIAL, { WG: WG2, GROUP });
  const combine = g.pipeline(V2_COMBINE, { WG: WG2 });
  for (let row0 = 0; row0 < rows; row0 += block) {
    const n = Math.min(block, rows - row0);
    const p = [n, ...params.slice(1), nChunks, row0];
    g.dispatch(partial, [part, q, kCache, vCache, slot, pos], p, nChunks, nHeads / GROUP, n);
    const [x, y] = grid(n * nHeads);
    g.dispatch(combine, [out, part, pos], p, x, y);
  }
}
