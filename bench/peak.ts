/**
 * The device's measured peak, by the bench's own kernels: an FMA loop (f32 FLOP/s: each thread
 * runs a long chain of independent vec4 fused multiply-adds) and a vec4 copy (bytes/s: read +
 * write). Kernel results are reported as fractions of these, which is meaningful on any adapter
 * (lavapipe included) where a vendor's datasheet number is not.
 */
import { grid, type Gpu, type KernelSource } from '../engine/gpu.js';

const FMA: KernelSource = {
  name: 'bench-fma-peak',
  version: 'v1',
  bindings: ['rw'],
  params: [['iters', 'u32']],
  code: `
struct Params { iters: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;
  var a = vec4<f32>(f32(i) * 1e-7, 1.0, 2.0, 3.0);
  var b = vec4<f32>(0.5, f32(i) * 1e-7, 0.25, 0.125);
  var c = vec4<f32>(0.999, 0.998, 0.997, 0.996);
  var d = vec4<f32>(1e-3, 2e-3, 3e-3, 4e-3);
  for (var k = 0u; k < P.iters; k++) {
    a = fma(a, c, d); b = fma(b, c, d); c = fma(c, a, d); d = fma(d, b, c);
  }
  out[i] = a + b + c + d;
}`,
};

const COPY: KernelSource = {
  name: 'bench-copy',
  version: 'v1',
  bindings: ['read', 'rw'],
  params: [['n', 'u32']],
  code: `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;
  if (i < P.n) { dst[i] = src[i]; }
}`,
};

/**
 * Seconds per call of `fn` (one or more dispatches): GPU timestamps when the adapter has
 * timestamp-query, otherwise wall time around dispatch + finish.
 */
async function timeIt(g: Gpu, fn: () => void, reps: number): Promise<number[]> {
  fn();
  await g.finish();
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const ms = await g.gpuTime(fn);
    if (ms !== null) {
      out.push(ms / 1000);
      continue;
    }
    const t0 = performance.now();
    fn();
    await g.finish();
    out.push((performance.now() - t0) / 1000);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface Peak {
  gflops: number;
  gbps: number;
}

/** Measures the FMA and copy peaks; `big` sizes them for a real GPU, otherwise for lavapipe. */
export async function measurePeak(g: Gpu, big: boolean): Promise<Peak> {
  const threads = big ? 256 * 4096 : 256 * 64;
  const iters = big ? 4096 : 256;
  const out = g.buffer(threads * 16);
  const fma = g.pipeline(FMA);
  const [x, y] = grid(threads / 256);
  const tf = median(await timeIt(g, () => g.dispatch(fma, [out], [iters], x, y), 5));
  const flops = threads * iters * 4 * 4 * 2; // 4 fma of vec4 per iteration, 2 flops each
  const bytes = Math.min(g.maxBinding, big ? 1 << 30 : 32 << 20);
  const n = bytes / 16;
  const src = g.buffer(bytes);
  const dst = g.buffer(bytes);
  const copy = g.pipeline(COPY);
  const [cx, cy] = grid(Math.ceil(n / 256));
  const tc = median(await timeIt(g, () => g.dispatch(copy, [src, dst], [n], cx, cy), 5));
  src.buffer.destroy();
  dst.buffer.destroy();
  out.buffer.destroy();
  return { gflops: flops / tf / 1e9, gbps: (2 * bytes) / tc / 1e9 };
}

export { timeIt, median };
