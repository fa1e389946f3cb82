/**
 * `dsteer bench --suite kernels`: every WebGPU kernel and version on model-sized shapes. Each case
 * is validated against its CPU twin first, then timed (median of repeated dispatch + finish), and
 * reported as GFLOP/s and GB/s with the fraction of the device's own measured peak (FMA loop for
 * compute-bound kernels, copy bandwidth for memory-bound ones).
 */
import { f16ToF32, f32ToF16 } from '../engine/dtype.js';
import type { GBuf, Gpu } from '../engine/gpu.js';
import { Rng } from '../engine/rng.js';
import { argmaxGpu, ARGMAX_VERSIONS } from '../kernels/argmax.js';
import { argmaxRef } from '../kernels/argmax.ref.js';
import { attentionGpu, ATTENTION_VERSIONS } from '../kernels/attention.js';
import { attentionRef } from '../kernels/attention.ref.js';
import { gatherRowsRef } from '../kernels/backend.js';
import { embeddingGpu } from '../kernels/embedding.js';
import { embeddingRef } from '../kernels/embedding.ref.js';
import { gatherRowsGpu } from '../kernels/gather-rows.js';
import { kvAppendGpu } from '../kernels/kv-append.js';
import { kvAppendRef } from '../kernels/kv-append.ref.js';
import { linearGpu, linearSwigluGpu, LINEAR_VERSIONS } from '../kernels/linear.js';
import { linearRef, linearSwigluRef } from '../kernels/linear.ref.js';
import { qkvRopeGpu } from '../kernels/qkv-rope.js';
import { qkvRopeRef } from '../kernels/qkv-rope.ref.js';
import { residualAddGpu } from '../kernels/residual-add.js';
import { residualSteerNormRef } from '../kernels/residual-add.ref.js';
import { rmsnormGpu } from '../kernels/rmsnorm.js';
import { rmsnormRef } from '../kernels/rmsnorm.ref.js';
import { ropeGpu } from '../kernels/rope.js';
import { buildRopeTables, ropeRef } from '../kernels/rope.ref.js';
import { sampleGpu } from '../kernels/sample.js';
import { logSoftmaxGpu } from '../kernels/softmax.js';
import { logSoftmaxRef } from '../kernels/softmax.ref.js';
import { swigluGpu } from '../kernels/swiglu.js';
import { swigluRef } from '../kernels/swiglu.ref.js';
import { measurePeak, median, timeIt, type Peak } from './peak.js';
import type { BenchResult } from './report.js';

interface Shapes {
  dim: number;
  hidden: number;
  nHeads: number;
  nKv: number;
  headDim: number;
  vocab: number;
  ctx: number;
  prefill: number;
}

/** Llama-3.1-8B shapes on a real GPU; a smaller Llama-like model on software adapters. */
export function benchShapes(big: boolean): Shapes {
  return big
    ? { dim: 4096, hidden: 14336, nHeads: 32, nKv: 8, headDim: 128, vocab: 128256, ctx: 1024, prefill: 128 }
    : { dim: 1024, hidden: 2816, nHeads: 16, nKv: 4, headDim: 64, vocab: 8192, ctx: 256, prefill: 32 };
}

interface Case {
  kernel: string;
  version: string;
  shape: string;
  dtype: string;
  flops: number;
  bytes: number;
  bound: 'compute' | 'memory';
  run: () => void;
  /** Returns the largest |gpu - twin| / scale; the case fails above `tol`. */
  check: () => Promise<number>;
  tol: number;
}

function rand(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.uniform() * 2 - 1) * scale;
  return a;
}

function up(g: Gpu, a: Float32Array | Int32Array | Uint16Array, f16 = false): GBuf {
  const b = g.buffer(a.byteLength);
  g.write(b, a);
  if (f16) b.f16 = true;
  return b;
}

async function getF(g: Gpu, b: GBuf, n: number): Promise<Float32Array> {
  return new Float32Array(await g.read(b, 0, n * 4));
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 1e-30;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!));
  return e / scale;
}

function cases(g: Gpu, s: Shapes): Case[] {
  const rng = new Rng(11);
  const out: Case[] = [];
  const { dim, hidden, nHeads, nKv, headDim, vocab, ctx, prefill } = s;
  const kvDim = nKv * headDim;
  // linear: decode (1 row) and prefill rows, f32 and (when available) f16 weights
  const dtypes = g.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const);
  for (const dt of dtypes) {
    const wf = rand(rng, hidden * dim, 0.02);
    let wUsed = wf;
    let wBuf: GBuf;
    if (dt === 'f16') {
      const h = new Uint16Array(wf.length);
      f32ToF16(wf, h);
      wUsed = new Float32Array(wf.length);
      f16ToF32(h, wUsed);
      wBuf = up(g, h, true);
    } else wBuf = up(g, wf);
    for (const rows of [1, prefill]) {
      const x = rand(rng, rows * dim);
      const xb = up(g, x);
      const ob = g.buffer(rows * hidden * 4);
      for (const v of [...LINEAR_VERSIONS, 'auto' as const]) {
        out.push({
          kernel: 'linear', version: v, shape: `${rows}x${dim} . ${hidden}x${dim}^T`, dtype: dt,
          flops: 2 * rows * dim * hidden, bytes: hidden * dim * (dt === 'f16' ? 2 : 4) + rows * (dim + hidden) * 4,
          bound: rows === 1 ? 'memory' : 'compute',
          run: () => linearGpu(g, ob, xb, wBuf, null, rows, dim, hidden, v),
          check: async () => {
            const want = new Float32Array(rows * hidden);
            linearRef(want, x, wUsed, null, rows, dim, hidden);
            return relErr(await getF(g, ob, rows * hidden), want);
          },
          tol: 1e-4,
        });
      }
    }
  }
  // the down projection with the SwiGLU prologue (fed by the fused gate/up projection)
  {
    const wd = rand(rng, dim * hidden, 0.02);
    const wdb = up(g, wd);
    for (const rows of [1, prefill]) {
      const gu = rand(rng, rows * 2 * hidden, 2);
      const gub = up(g, gu);
      const ob = g.buffer(rows * dim * 4);
      out.push({
        kernel: 'linear', version: 'auto+swiglu', shape: `${rows}x(2x${hidden}) . ${dim}x${hidden}^T`, dtype: 'f32',
        flops: 2 * rows * hidden * dim + 6 * rows * hidden, bytes: dim * hidden * 4 + rows * (2 * hidden + dim) * 4, bound: rows === 1 ? 'memory' : 'compute',
        run: () => linearSwigluGpu(g, ob, gub, wdb, rows, hidden, dim),
        check: async () => {
          const want = new Float32Array(rows * dim);
          linearSwigluRef(want, gu, wd, rows, hidden, dim);
          return relErr(await getF(g, ob, rows * dim), want);
        },
        tol: 1e-4,
      });
    }
  }
  // rmsnorm, residual-add (steered, fused norm), swiglu, embedding, gather-rows
  for (const rows of [1, prefill]) {
    const x = rand(rng, rows * dim, 4);
    const w = rand(rng, dim);
    const xb = up(g, x);
    const wb = up(g, w);
    const ob = g.buffer(rows * dim * 4);
    out.push({
      kernel: 'rmsnorm', version: 'v1', shape: `${rows}x${dim}`, dtype: 'f32', flops: 4 * rows * dim, bytes: 2 * rows * dim * 4 + dim * 4, bound: 'memory',
      run: () => rmsnormGpu(g, ob, xb, wb, rows, dim, 1e-5),
      check: async () => {
        const want = new Float32Array(rows * dim);
        rmsnormRef(want, x, w, rows, dim, 1e-5);
        return relErr(await getF(g, ob, rows * dim), want);
      },
      tol: 1e-5,
    });
    const br = rand(rng, rows * dim);
    const V = rand(rng, 2 * dim, 0.5);
    const alpha = new Float32Array(rows).fill(0.5);
    const bb = up(g, br);
    const steer = { vectors: up(g, V), nSites: 1, site: 0, alpha: up(g, alpha), vec: up(g, new Int32Array(rows)), from: up(g, new Int32Array(rows)), pos: up(g, new Int32Array(rows)), preserveNorm: false };
    const xr = up(g, x);
    out.push({
      kernel: 'residual-add', version: 'v1+steer+norm', shape: `${rows}x${dim}`, dtype: 'f32', flops: 8 * rows * dim, bytes: 5 * rows * dim * 4, bound: 'memory',
      run: () => residualAddGpu(g, xr, bb, rows, dim, steer, { w: wb, out: ob, eps: 1e-5 }),
      check: async () => {
        g.write(xr, x);
        residualAddGpu(g, xr, bb, rows, dim, steer, { w: wb, out: ob, eps: 1e-5 });
        const wx = x.slice();
        const wn = new Float32Array(rows * dim);
        residualSteerNormRef(wx, br, rows, dim, { vectors: V, nSites: 1, site: 0, alpha, vec: new Int32Array(rows), from: new Int32Array(rows), pos: new Int32Array(rows), preserveNorm: false }, w, wn, 1e-5);
        return Math.max(relErr(await getF(g, xr, rows * dim), wx), relErr(await getF(g, ob, rows * dim), wn));
      },
      tol: 1e-5,
    });
    const gate = rand(rng, rows * hidden, 4);
    const upv = rand(rng, rows * hidden);
    const gb = up(g, gate);
    const ub = up(g, upv);
    const sb = g.buffer(rows * hidden * 4);
    out.push({
      kernel: 'swiglu', version: 'v1', shape: `${rows}x${hidden}`, dtype: 'f32', flops: 5 * rows * hidden, bytes: 3 * rows * hidden * 4, bound: 'memory',
      run: () => swigluGpu(g, sb, gb, ub, rows * hidden),
      check: async () => {
        const want = new Float32Array(rows * hidden);
        swigluRef(want, gate, upv, rows * hidden);
        return relErr(await getF(g, sb, rows * hidden), want);
      },
      tol: 1e-5,
    });
  }
  const table = rand(rng, vocab * dim);
  const tb = up(g, table);
  const ids = Int32Array.from({ length: prefill }, () => rng.int(vocab));
  const idb = up(g, ids);
  const eb = g.buffer(prefill * dim * 4);
  out.push({
    kernel: 'embedding', version: 'v1', shape: `${prefill} of ${vocab}x${dim}`, dtype: 'f32', flops: 0, bytes: 2 * prefill * dim * 4, bound: 'memory',
    run: () => embeddingGpu(g, eb, tb, idb, prefill, dim),
    check: async () => {
      const want = new Float32Array(prefill * dim);
      embeddingRef(want, table, ids, prefill, dim);
      return relErr(await getF(g, eb, prefill * dim), want);
    },
    tol: 0,
  });
  const gidx = Int32Array.from({ length: prefill }, (_, i) => prefill - 1 - i);
  const gib = up(g, gidx);
  const gob = g.buffer(prefill * dim * 4);
  out.push({
    kernel: 'gather-rows', version: 'v1', shape: `${prefill}x${dim}`, dtype: 'f32', flops: 0, bytes: 2 * prefill * dim * 4, bound: 'memory',
    run: () => gatherRowsGpu(g, gob, eb, gib, prefill, dim),
    check: async () => {
      const src = await getF(g, eb, prefill * dim);
      const want = new Float32Array(prefill * dim);
      gatherRowsRef(want, src, gidx, prefill, dim);
      return relErr(await getF(g, gob, prefill * dim), want);
    },
    tol: 0,
  });
  // rope, kv-append, attention
  const rope = buildRopeTables(headDim, 500000, null, ctx);
  const cosb = up(g, rope.cos);
  const sinb = up(g, rope.sin);
  const pos = Int32Array.from({ length: prefill }, (_, i) => ctx - prefill + i);
  const posb = up(g, pos);
  const slot = new Int32Array(prefill);
  const slotb = up(g, slot);
  const q = rand(rng, prefill * nHeads * headDim);
  const qb = up(g, q);
  out.push({
    kernel: 'rope', version: 'v1', shape: `${prefill}x${nHeads}x${headDim}`, dtype: 'f32', flops: 6 * prefill * nHeads * headDim / 2, bytes: 2 * prefill * nHeads * headDim * 4, bound: 'memory',
    run: () => ropeGpu(g, qb, posb, cosb, sinb, prefill, nHeads, headDim),
    check: async () => {
      g.write(qb, q);
      ropeGpu(g, qb, posb, cosb, sinb, prefill, nHeads, headDim);
      const want = q.slice();
      ropeRef(want, pos, rope.cos, rope.sin, prefill, nHeads, headDim);
      return relErr(await getF(g, qb, q.length), want);
    },
    tol: 1e-5,
  });
  const qkvDim = nHeads * headDim + 2 * kvDim;
  const qkv = rand(rng, prefill * qkvDim);
  const qkvb = up(g, qkv);
  const qob = g.buffer(prefill * nHeads * headDim * 4);
  const kc0 = g.buffer(ctx * kvDim * 4);
  const vc0 = g.buffer(ctx * kvDim * 4);
  out.push({
    kernel: 'qkv-rope', version: 'v1', shape: `${prefill}x(${nHeads}+2x${nKv})x${headDim}`, dtype: 'f32', flops: 3 * prefill * (nHeads + nKv) * headDim, bytes: 2 * prefill * qkvDim * 4, bound: 'memory',
    run: () => qkvRopeGpu(g, qob, kc0, vc0, qkvb, posb, slotb, cosb, sinb, prefill, nHeads, nKv, headDim, ctx),
    check: async () => {
      const wq = new Float32Array(prefill * nHeads * headDim);
      const wk = new Float32Array(ctx * kvDim);
      const wv = new Float32Array(ctx * kvDim);
      qkvRopeRef(wq, wk, wv, qkv, pos, slot, rope.cos, rope.sin, prefill, nHeads, nKv, headDim, ctx);
      return Math.max(relErr(await getF(g, qob, wq.length), wq), relErr(await getF(g, kc0, wk.length), wk), relErr(await getF(g, vc0, wv.length), wv));
    },
    tol: 1e-5,
  });
  const kc = rand(rng, ctx * kvDim);
  const vc = rand(rng, ctx * kvDim);
  const kcb = up(g, kc);
  const vcb = up(g, vc);
  const kn = rand(rng, prefill * kvDim);
  const vn = rand(rng, prefill * kvDim);
  const knb = up(g, kn);
  const vnb = up(g, vn);
  out.push({
    kernel: 'kv-append', version: 'v1', shape: `${prefill}x${kvDim}`, dtype: 'f32', flops: 0, bytes: 4 * prefill * kvDim * 4, bound: 'memory',
    run: () => kvAppendGpu(g, kcb, vcb, knb, vnb, slotb, posb, prefill, kvDim, ctx),
    check: async () => {
      const wk = kc.slice();
      const wv = vc.slice();
      kvAppendRef(wk, wv, kn, vn, slot, pos, prefill, kvDim, ctx);
      return Math.max(relErr(await getF(g, kcb, wk.length), wk), relErr(await getF(g, vcb, wv.length), wv));
    },
    tol: 0,
  });
  for (const rows of [1, prefill]) {
    const rpos = rows === 1 ? Int32Array.of(ctx - 1) : pos;
    const rposb = up(g, rpos);
    const rslot = up(g, new Int32Array(rows));
    const ab = g.buffer(rows * nHeads * headDim * 4);
    let len = 0;
    for (const p of rpos) len += p + 1;
    for (const v of ATTENTION_VERSIONS) {
      out.push({
        kernel: 'attention', version: v, shape: `${rows} rows, ${nHeads}/${nKv} heads x ${headDim}, len ${rows === 1 ? ctx : `${ctx - prefill + 1}..${ctx}`}`, dtype: 'f32',
        flops: 4 * nHeads * headDim * len, bytes: (rows === 1 ? 2 * ctx * kvDim * 4 : 2 * ctx * kvDim * 4) + 2 * rows * nHeads * headDim * 4, bound: rows === 1 ? 'memory' : 'compute',
        run: () => attentionGpu(g, ab, qb, kcb, vcb, rslot, rposb, rows, nHeads, nKv, headDim, ctx, v),
        check: async () => {
          const qh = await getF(g, qb, rows * nHeads * headDim);
          const kh = await getF(g, kcb, ctx * kvDim);
          const vh = await getF(g, vcb, ctx * kvDim);
          const want = new Float32Array(rows * nHeads * headDim);
          attentionRef(want, qh, kh, vh, new Int32Array(rows), rpos, rows, nHeads, nKv, headDim, ctx);
          return relErr(await getF(g, ab, want.length), want);
        },
        tol: 1e-4,
      });
    }
  }
  // logits-side kernels on a few rows of a full vocabulary
  const lr = 4;
  const logits = rand(rng, lr * vocab, 8);
  const lb = up(g, logits);
  const lsb = g.buffer(lr * vocab * 4);
  out.push({
    kernel: 'softmax', version: 'v1 (log)', shape: `${lr}x${vocab}`, dtype: 'f32', flops: 4 * lr * vocab, bytes: 2 * lr * vocab * 4, bound: 'memory',
    run: () => logSoftmaxGpu(g, lsb, lb, lr, vocab),
    check: async () => {
      const want = new Float32Array(lr * vocab);
      logSoftmaxRef(want, logits, lr, vocab);
      return relErr(await getF(g, lsb, want.length), want);
    },
    tol: 1e-5,
  });
  const amb = g.buffer(lr * 4);
  for (const v of ARGMAX_VERSIONS) {
    out.push({
      kernel: 'argmax', version: v, shape: `${lr}x${vocab}`, dtype: 'f32', flops: lr * vocab, bytes: lr * vocab * 4, bound: 'memory',
      run: () => argmaxGpu(g, amb, lb, lr, vocab),
      check: async () => {
        const want = new Int32Array(lr);
        argmaxRef(want, logits, lr, vocab);
        const got = new Int32Array(await g.read(amb, 0, lr * 4));
        return got.every((x, i) => x === want[i]) ? 0 : 1;
      },
      tol: 0,
    });
  }
  const tb2 = up(g, new Float32Array(lr).fill(1));
  const pb = up(g, new Float32Array(lr).fill(0.9));
  const ubuf = up(g, Float32Array.from({ length: lr }, (_, i) => (i + 0.5) / lr));
  const smb = g.buffer(lr * 4);
  out.push({
    kernel: 'sample', version: 'v1 (T=1, top-p 0.9)', shape: `${lr}x${vocab}`, dtype: 'f32', flops: 40 * lr * vocab, bytes: 34 * lr * vocab * 4, bound: 'memory',
    run: () => sampleGpu(g, smb, lb, lr, vocab, tb2, pb, ubuf),
    check: async () => {
      const got = new Int32Array(await g.read(smb, 0, lr * 4));
      return got.every((x) => x >= 0 && x < vocab) ? 0 : 1;
    },
    tol: 0,
  });
  return out;
}

/** Runs the kernel suite; `big` = hardware GPU shapes. */
export async function benchKernels(g: Gpu, adapter: string, big: boolean, reps: number): Promise<BenchResult[]> {
  const peak: Peak = await measurePeak(g, big);
  const res: BenchResult[] = [
    { suite: 'kernels', name: 'peak fma', backend: adapter, shape: 'vec4 fma chains', dtype: 'f32', version: 'bench', value: peak.gflops, unit: 'GFLOP/s', spread: 0, samples: 5 },
    { suite: 'kernels', name: 'peak copy', backend: adapter, shape: 'vec4 copy', dtype: 'f32', version: 'bench', value: peak.gbps, unit: 'GB/s', spread: 0, samples: 5 },
  ];
  for (const c of cases(g, benchShapes(big))) {
    c.run();
    const err = await c.check();
    if (!(err <= c.tol)) throw new Error(`kernel ${c.kernel} ${c.version} ${c.shape}: differs from its twin by ${err} (tolerance ${c.tol}); not timed`);
    const times = await timeIt(g, c.run, reps);
    const t = median(times);
    const gflops = c.flops / t / 1e9;
    const gbps = c.bytes / t / 1e9;
    const frac = c.bound === 'compute' ? gflops / peak.gflops : gbps / peak.gbps;
    res.push({
      suite: 'kernels', name: `${c.kernel} ${c.version}`, backend: adapter, shape: c.shape, dtype: c.dtype, version: c.version,
      value: t * 1e6, unit: 'us', spread: (Math.max(...times) - Math.min(...times)) * 1e6, samples: times.length,
      ratio: frac, ratioOf: `${c.bound === 'compute' ? 'GFLOP/s / fma peak' : 'GB/s / copy peak'}`,
      extra: { kernel: c.kernel, gflops, gbps, peak_fraction: frac, bound: c.bound, max_rel_err: err },
    });
  }
  return res;
}
