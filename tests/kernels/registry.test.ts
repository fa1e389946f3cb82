import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuBackend, gatherRowsRef, type CpuKernels } from '../../kernels/backend.js';
import { KERNELS } from '../../kernels/index.js';
import { buildRopeTables } from '../../kernels/rope.ref.js';
import { repoPath } from '../helpers.js';
import { DECIMAL, expectClose, expectSame } from './check.js';

// STYLE.md point 5: one explicit table of ops, and a test that fails when a kernel lacks its twin
// or its test. The twin of gather-rows lives in kernels/backend.ts; every other twin in its own file.
const TWIN_ELSEWHERE: Record<string, unknown> = { 'gather-rows': gatherRowsRef };

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** One tiny call of each op through the backend object, keyed by kernel name, with its answer checked. */
const BACKEND_CALLS: Record<string, (k: CpuKernels) => Promise<void>> = {
  async embedding(k) {
    const out = k.allocF32(2);
    k.embedding(out, k.adoptF32(new Float32Array([1, 2, 3, 4])), Int32Array.of(1), 1, 2);
    expectSame(await k.readF32(out, 2), [3, 4], 'embedding'); // row 1 of [[1, 2], [3, 4]]
  },
  async rmsnorm(k) {
    const out = k.allocF32(2);
    k.rmsnorm(out, k.adoptF32(new Float32Array([3, 4])), k.adoptF32(new Float32Array([1, 1])), 1, 2, 0);
    expectClose(await k.readF32(out, 2), [0.8485281, 1.1313708], DECIMAL, 'rmsnorm'); // [3, 4] / sqrt(12.5)
  },
  async linear(k) {
    const out = k.allocF32(1);
    k.linear(out, k.adoptF32(new Float32Array([1, 2])), k.adoptF32(new Float32Array([1, 1])), k.adoptF32(new Float32Array([0.5])), 1, 2, 1);
    expectSame(await k.readF32(out, 1), [3.5], 'linear'); // 1 + 2 + 0.5
  },
  async rope(k) {
    const { cos, sin } = buildRopeTables(2, 10000, null, 2);
    const x = k.adoptF32(new Float32Array([1, 0]));
    k.rope(x, Int32Array.of(1), k.adoptF32(cos), k.adoptF32(sin), 1, 1, 2);
    expectClose(await k.readF32(x, 2), [0.54030231, 0.84147098], DECIMAL, 'rope'); // [cos 1, sin 1]
  },
  async 'kv-append'(k) {
    const kc = k.allocF32(2);
    const vc = k.allocF32(2);
    k.kvAppend(kc, vc, k.adoptF32(new Float32Array([5])), k.adoptF32(new Float32Array([6])), Int32Array.of(0), Int32Array.of(1), 1, 1, 2);
    expectSame([...(await k.readF32(kc, 2)), ...(await k.readF32(vc, 2))], [0, 5, 0, 6], 'kv-append');
  },
  async attention(k) {
    const out = k.allocF32(2);
    const kc = k.adoptF32(new Float32Array([1, 1]));
    const vc = k.adoptF32(new Float32Array([7, -2]));
    k.attention(out, k.adoptF32(new Float32Array([3, 4])), kc, vc, Int32Array.of(0), Int32Array.of(0), 1, 1, 1, 2, 1);
    expectSame(await k.readF32(out, 2), [7, -2], 'attention'); // one position: out = V
  },
  async 'qkv-rope'(k) {
    // nHeads 1, nKvHeads 1, headDim 2: qkv row [q0 q1 | k0 k1 | v0 v1] at position 0 (rotation by 0)
    const q = k.allocF32(2);
    const kc = k.allocF32(2);
    const vc = k.allocF32(2);
    const { cos, sin } = buildRopeTables(2, 10000, null, 1);
    k.qkvRope(q, kc, vc, k.adoptF32(new Float32Array([1, 2, 3, 4, 5, 6])), Int32Array.of(0), Int32Array.of(0), k.adoptF32(cos), k.adoptF32(sin), 1, 1, 1, 2, 1);
    expectSame([...(await k.readF32(q, 2)), ...(await k.readF32(kc, 2)), ...(await k.readF32(vc, 2))], [1, 2, 3, 4, 5, 6], 'qkv-rope');
  },
  async swiglu(k) {
    const out = k.allocF32(2);
    k.swiglu(out, k.adoptF32(new Float32Array([0, 1000])), k.adoptF32(new Float32Array([3, 2])), 2);
    expectSame(await k.readF32(out, 2), [0, 2000], 'swiglu'); // silu(0) * 3, silu(1000) * 2
  },
  async 'residual-add'(k) {
    const x = k.adoptF32(new Float32Array([1, 1]));
    const steer = { vectors: k.adoptF32(new Float32Array([10])), nSites: 1, site: 0, alpha: k.adoptF32(new Float32Array([2, 2])), vec: Int32Array.of(0, 0), from: Int32Array.of(0, 5), pos: Int32Array.of(0, 0), preserveNorm: false };
    k.residualAdd(x, k.adoptF32(new Float32Array([2, 2])), 2, 1, steer);
    // row 0: 1 + 2 + 2 * 10 = 23; row 1 is before its `from`: 1 + 2 = 3
    expectSame(await k.readF32(x, 2), [23, 3], 'residual-add');
  },
  async 'gather-rows'(k) {
    const out = k.allocF32(2);
    k.gatherRows(out, k.adoptF32(new Float32Array([1, 2, 3])), Int32Array.of(2, 0), 2, 1);
    expectSame(await k.readF32(out, 2), [3, 1], 'gather-rows');
  },
  async softmax(k) {
    const out = k.allocF32(2);
    k.logSoftmax(out, k.adoptF32(new Float32Array([5, 5])), 1, 2);
    expectClose(await k.readF32(out, 2), [-0.69314718, -0.69314718], DECIMAL, 'softmax'); // -ln 2
  },
  async argmax(k) {
    const out = k.allocI32(1);
    k.argmax(out, k.adoptF32(new Float32Array([1, 3, 3, 2])), 1, 4);
    expectSame(await k.readI32(out, 1), [1], 'argmax'); // first of the tied maxima
  },
  async sample(k) {
    const out = k.allocI32(2);
    const logits = k.adoptF32(new Float32Array([1, 3, 2, 1, 3, 2]));
    // row 0: T = 0 -> argmax 1; row 1: T = 1 with a tiny nucleus -> the most probable, 1
    k.sample(out, logits, 2, 3, k.adoptF32(new Float32Array([0, 1])), k.adoptF32(new Float32Array([1, 1e-6])), k.adoptF32(new Float32Array([0.9, 0.9])));
    expectSame(await k.readI32(out, 2), [1, 1], 'sample');
  },
};

describe('kernel registry (kernels/index.ts)', () => {
  it('names are kebab-case and unique', () => {
    const names = KERNELS.map((k) => k.name);
    for (const n of names) expect(n, `kernel name '${n}'`).toMatch(KEBAB);
    expect(new Set(names).size, `duplicate names in ${names.join(', ')}`).toBe(names.length);
  });

  for (const entry of KERNELS) {
    describe(entry.name, () => {
      it('has a twin function in kernels/<name>.ref.ts (gather-rows: kernels/backend.ts)', () => {
        expect(typeof entry.twin, `${entry.name}: twin`).toBe('function');
        expect(entry.math.length, `${entry.name}: math line`).toBeGreaterThan(0);
        if (entry.name in TWIN_ELSEWHERE) {
          expect(entry.twin, `${entry.name}: twin`).toBe(TWIN_ELSEWHERE[entry.name]);
        } else {
          const file = `kernels/${entry.name}.ref.ts`;
          expect(existsSync(repoPath(file)), `${file} is missing`).toBe(true);
        }
      });

      it('has a test file tests/kernels/<name>.test.ts', () => {
        const file = `tests/kernels/${entry.name}.test.ts`;
        expect(existsSync(repoPath(file)), `${file} is missing`).toBe(true);
      });

      it('has WebGPU versions: kernels/<name>.ts, one .wgsl per version, a GPU test and a bench case', () => {
        expect(existsSync(repoPath(`kernels/${entry.name}.ts`)), `kernels/${entry.name}.ts is missing`).toBe(true);
        expect(typeof entry.gpu.launcher).toBe('function');
        expect(entry.gpu.versions.length).toBeGreaterThan(0);
        if (entry.gpu.default !== 'auto') expect(entry.gpu.versions, `${entry.name}: default`).toContain(entry.gpu.default);
        for (const v of entry.gpu.versions) {
          const file = v === 'v1' ? `kernels/${entry.name}.wgsl` : `kernels/${entry.name}.${v}.wgsl`;
          expect(existsSync(repoPath(file)), `${file} is missing`).toBe(true);
        }
        const gpuTest = `tests/kernels/${entry.name}.gpu.test.ts`;
        expect(existsSync(repoPath(gpuTest)), `${gpuTest} is missing`).toBe(true);
        const bench = readFileSync(repoPath('bench/gpu-kernels.ts'), 'utf8');
        expect(bench.includes(`kernel: '${entry.name}'`), `bench/gpu-kernels.ts has no case for ${entry.name}`).toBe(true);
      });

      it('runs through cpuBackend()', async () => {
        const call = BACKEND_CALLS[entry.name];
        expect(call, `no backend call for '${entry.name}' in registry.test.ts`).toBeDefined();
        const k = cpuBackend();
        expect(k.kind).toBe('cpu');
        await call!(k);
        await k.flush();
        k.destroy();
      });
    });
  }

  it('every kernels/*.ref.ts twin is registered', () => {
    const names = new Set(KERNELS.map((k) => k.name));
    const refs = readdirSync(repoPath('kernels')).filter((f) => f.endsWith('.ref.ts')).map((f) => f.slice(0, -'.ref.ts'.length));
    for (const r of refs) expect(names.has(r), `kernels/${r}.ref.ts is not in KERNELS`).toBe(true);
  });

  it('every backend call in this test names a registered kernel', () => {
    const names = new Set(KERNELS.map((k) => k.name));
    for (const n of Object.keys(BACKEND_CALLS)) expect(names.has(n), `'${n}' is not in KERNELS`).toBe(true);
  });
});
