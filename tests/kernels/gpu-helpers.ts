/**
 * Shared helpers for the WebGPU kernel tests: one device per test file, upload/download of typed
 * arrays, and the skip rule (skip with the reason when no adapter exists; fail with it when
 * DSTEER_REQUIRE_WEBGPU=1, as CI sets).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { lastGpuError, openGpu } from '../../engine/device.js';
import { Gpu, type GBuf } from '../../engine/gpu.js';

const required = process.env['DSTEER_REQUIRE_WEBGPU'] === '1';

/** Opens the test GPU (software adapters allowed) or returns null with a visible reason. */
export async function openTestGpu(what: string): Promise<Gpu | null> {
  const h = await openGpu({ allowSoftware: true });
  if (!h) {
    const reason = lastGpuError();
    if (required) {
      describe(`${what} (WebGPU required)`, () => {
        it('has a WebGPU adapter', () => expect.fail(`DSTEER_REQUIRE_WEBGPU=1 but no adapter: ${reason}`));
      });
    } else {
      console.warn(`SKIPPED ${what}: no WebGPU adapter: ${reason}`);
    }
    return null;
  }
  const g = new Gpu(h);
  afterAll(() => g.destroy());
  return g;
}

/** Uploads a typed array into a new buffer (padded to the buffer's 16-byte granularity). */
export function upload(g: Gpu, data: Float32Array | Int32Array): GBuf {
  const b = g.buffer(Math.max(4, data.byteLength));
  g.write(b, data);
  return b;
}

export async function downloadF32(g: Gpu, b: GBuf, n: number): Promise<Float32Array> {
  return new Float32Array(await g.read(b, 0, n * 4));
}

export async function downloadI32(g: Gpu, b: GBuf, n: number): Promise<Int32Array> {
  return new Int32Array(await g.read(b, 0, n * 4));
}
