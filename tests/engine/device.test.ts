// engine/device.ts on whatever adapter this machine has (lavapipe in CI). Without an adapter these
// tests skip with the reason, or fail with it when DSTEER_REQUIRE_WEBGPU=1 (as CI sets).
import { afterAll, describe, expect, it } from 'vitest';
import { describeAdapter, lastGpuError, openGpu } from '../../engine/device.js';

const gpu = await openGpu({ allowSoftware: true });
const reason = gpu ? '' : lastGpuError();
const required = process.env.DSTEER_REQUIRE_WEBGPU === '1';
if (!gpu && !required) console.warn(`engine/device tests skipped: no WebGPU adapter: ${reason}`);

afterAll(() => gpu?.destroy());

describe('openGpu', () => {
  it.skipIf(!gpu && !required)('finds a WebGPU adapter (required when DSTEER_REQUIRE_WEBGPU=1)', () => {
    expect(gpu, `WebGPU is required (DSTEER_REQUIRE_WEBGPU=1) but unavailable: ${reason}`).not.toBeNull();
  });
});

describe.skipIf(!gpu)('engine/device on the adapter', () => {
  const g = gpu!;

  it('reads the adapter info, features and real limits', () => {
    console.log(`adapter: ${describeAdapter(g)}`);
    expect(typeof g.adapterInfo.description).toBe('string');
    expect(g.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(g.limits.maxBufferSize).toBeGreaterThan(0);
    expect(g.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(64);
    expect(g.limits.maxStorageBufferBindingSize).toBe(g.device.limits.maxStorageBufferBindingSize);
    expect(g.features).toEqual([...g.features].sort());
  });

  it('refuses a software adapter unless allowed', async () => {
    const strict = await openGpu({ allowSoftware: false });
    if (g.adapterInfo.isSoftware) {
      expect(strict).toBeNull();
      expect(lastGpuError()).toMatch(/software/);
    } else {
      expect(strict).not.toBeNull();
    }
    strict?.destroy();
  });

  it('runs y = a*x + b over 1000 elements (not a multiple of the workgroup) exactly like the CPU', async () => {
    const { device } = g;
    const n = 1000;
    const a = 1.5;
    const b = -7.25;
    // Values chosen so a*x and a*x+b are exact in f32: the result cannot depend on FMA contraction.
    const x = Float32Array.from({ length: n }, (_, i) => i * 0.25 - 100);
    const expected = x.map((v) => Math.fround(Math.fround(a * v) + b));

    const code = /* wgsl */ `
      struct Params { a: f32, b: f32, n: u32 }
      override WORKGROUP: u32 = 64;
      @group(0) @binding(0) var<uniform> params: Params;
      @group(0) @binding(1) var<storage, read> x: array<f32>;
      @group(0) @binding(2) var<storage, read_write> y: array<f32>;
      @compute @workgroup_size(WORKGROUP)
      fn main(@builtin(global_invocation_id) id: vec3u) {
        if (id.x < params.n) { y[id.x] = params.a * x[id.x] + params.b; }
      }`;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code });
    const pipeline = await device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants: { WORKGROUP: 64 } },
    });
    const params = new ArrayBuffer(16);
    new Float32Array(params, 0, 2).set([a, b]);
    new Uint32Array(params, 8, 1)[0] = n;
    const uParams = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const bx = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const by = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const readback = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(uParams, 0, params);
    device.queue.writeBuffer(bx, 0, x);
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [uParams, bx, by].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    encoder.copyBufferToBuffer(by, 0, readback, 0, n * 4);
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    expect(error?.message ?? null).toBeNull();

    await readback.mapAsync(GPUMapMode.READ);
    const y = new Float32Array(readback.getMappedRange().slice(0));
    readback.unmap();
    for (const buf of [uParams, bx, by, readback]) buf.destroy();
    expect(y).toEqual(expected);
  });
});
