/**
 * The whole engine on the WebGPU backend (lavapipe in CI): the golden fixtures and the stories260k
 * transcript give the CPU's ids with logits and hooks within 1e-3; WebGPU and CPU agree at every
 * hook with steering on; alpha = 0 is bit-identical to no plan; a batched lambda grid equals the
 * same lambdas run one at a time; f16 weights; the CLI process exits by itself.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FileSource, NodeDir } from '../../engine/byte-source-node.js';
import { Rng } from '../../engine/rng.js';
import { cpuBackend, type Kernels } from '../../kernels/backend.js';
import { gpuBackend } from '../../kernels/gpu-backend.js';
import { generate, type SteeringSetup } from '../../models/generate.js';
import { loadModel } from '../../models/load.js';
import { feed } from '../../models/run.js';
import type { Model } from '../../models/llama.js';
import { readVectorFile, selectLayers } from '../../steering/vector.js';
import { openTestGpu } from '../kernels/gpu-helpers.js';
import { FIXTURES, haveShared, repoPath, sharedPath } from '../helpers.js';

// f32 on both sides, but the GPU accumulates in f32 (twins in f64) and its exp/sqrt differ by ulps:
// the fixtures' guide for an f32 engine is 1e-3 absolute on logits and hooks.
const TOL = 1e-3;

const g = await openTestGpu('engine on WebGPU');
const have = haveShared('fixtures/tiny-qwen2-f16-tied/golden.json') && haveShared('models/stories260k/config.json');

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function load(dir: string, k: Kernels): Promise<Model> {
  return (await loadModel(await NodeDir.open(dir), k)).model;
}

async function steeringFor(dir: string, file: string, layers: number[], dim: number): Promise<SteeringSetup> {
  const src = await FileSource.open(`${dir}/${file}`);
  const sv = await readVectorFile(src);
  await src.close();
  const sites = selectLayers(sv, layers);
  const vectors = new Float32Array(sites.length * dim);
  sites.forEach((h, j) => vectors.set(sv.vectors.get(h)!, j * dim));
  return { sites, vectors, preserveNorm: false };
}

/** Last-token logits and every hook of one prompt. */
async function lastToken(m: Model, ids: number[], steering?: SteeringSetup, alpha?: number[]): Promise<{ logits: Float32Array; hooks: Map<string, Float32Array> }> {
  let logits = new Float32Array(0);
  let hooks = new Map<string, Float32Array>();
  const n = ids.length;
  await feed(m, [{ ids, ...(alpha ? { steer: { alpha, vec: 0, from: 0 } } : {}), logits: { from: n - 1, to: n }, capture: { from: n - 1, to: n } }], {
    ...(steering ? { steering } : {}),
    hooks: 'all',
    onLogits: (_s, _p, r) => (logits = r.slice()),
    onCapture: (_s, _p, h) => (hooks = new Map([...h].map(([k, v]) => [k, v.slice()]))),
  });
  return { logits, hooks };
}

describe.skipIf(!g || !have)('engine on WebGPU', () => {
  const k = (): Kernels => gpuBackend(g!) as unknown as Kernels;

  for (const fx of FIXTURES) {
    it(`golden fixture ${fx}: logits, hooks and greedy ids, plain and steered`, async () => {
      const dir = sharedPath(`fixtures/${fx}`);
      const golden = JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8')).cases as {
        name: string; prompt_ids: number[]; steer?: { file: string; lambda: number; layers: number[] }; last_logits: number[]; hooks_last_token: Record<string, number[]>; greedy_ids: number[];
      }[];
      const m = await load(dir, k());
      for (const c of golden) {
        const steering = c.steer ? await steeringFor(dir, c.steer.file, c.steer.layers, m.cfg.dim) : undefined;
        const alpha = c.steer ? c.steer.layers.map(() => c.steer!.lambda) : undefined;
        const r = await lastToken(m, c.prompt_ids, steering, alpha);
        expect(maxDiff(r.logits, c.last_logits), `${c.name} logits`).toBeLessThan(TOL);
        for (const [h, want] of Object.entries(c.hooks_last_token)) expect(maxDiff(r.hooks.get(h)!, want), `${c.name} ${h}`).toBeLessThan(TOL);
        const [gen] = await generate(m, [{ promptIds: c.prompt_ids, maxNewTokens: c.greedy_ids.length, stopIds: [], ...(alpha ? { steer: { alpha, vec: 0, from: 0 } } : {}) }], steering ? { steering } : {});
        expect(gen!.ids, c.name).toEqual(c.greedy_ids);
      }
    });
  }

  it('stories260k: the greedy transcript equals the CPU backend', async () => {
    const dir = sharedPath('models/stories260k');
    const [cpu] = await generate(await load(dir, cpuBackend()), [{ promptIds: [1], maxNewTokens: 128, stopIds: [] }]);
    const [gpu] = await generate(await load(dir, k()), [{ promptIds: [1], maxNewTokens: 128, stopIds: [] }]);
    expect(gpu!.ids).toEqual(cpu!.ids);
  });

  it('WebGPU and CPU agree at every hook with steering on (random vectors at resid_mid and resid_post, norm preserved)', async () => {
    const dir = sharedPath('models/stories260k');
    const rng = new Rng(9);
    const sites = ['blocks.1.hook_resid_mid', 'blocks.2.hook_resid_post', 'blocks.4.hook_resid_post'];
    const vectors = new Float32Array(sites.length * 64).map(() => rng.uniform() * 2 - 1);
    for (const preserveNorm of [false, true]) {
      const steering = { sites, vectors, preserveNorm };
      const ids = [1, 40, 300, 7, 99, 12];
      const a = await lastToken(await load(dir, cpuBackend()), ids, steering, [0.8, -1.5, 2]);
      const b = await lastToken(await load(dir, k()), ids, steering, [0.8, -1.5, 2]);
      expect(maxDiff(b.logits, a.logits)).toBeLessThan(TOL);
      for (const [h, v] of a.hooks) expect(maxDiff(b.hooks.get(h)!, v), `${h} preserveNorm=${preserveNorm}`).toBeLessThan(TOL);
    }
  });

  it('alpha = 0 is bit-identical to no plan; prefill and decode logits agree bitwise', async () => {
    const m = await load(sharedPath('fixtures/tiny-qwen2-f16-tied'), k());
    const steering = await steeringFor(sharedPath('fixtures/tiny-qwen2-f16-tied'), 'steer.safetensors', [0, 1], m.cfg.dim);
    const ids = [1, 5, 9, 200, 13];
    const plain = await lastToken(m, ids);
    const zero = await lastToken(m, ids, steering, [0, 0]);
    expect(Array.from(zero.logits)).toEqual(Array.from(plain.logits));
    for (const [h, v] of plain.hooks) expect(Array.from(zero.hooks.get(h)!), h).toEqual(Array.from(v));
    // every prefix's last logits from one prefill forward vs one sequence fed token by token (maxRows 1)
    const pre: Float32Array[] = [];
    const dec: Float32Array[] = [];
    await feed(m, [{ ids, logits: { from: 0, to: ids.length } }], { onLogits: (_s, _p, r) => pre.push(r.slice()) });
    await feed(m, [{ ids, logits: { from: 0, to: ids.length } }], { maxRows: 1, onLogits: (_s, _p, r) => dec.push(r.slice()) });
    dec.forEach((d, i) => expect(Array.from(d), `position ${i}`).toEqual(Array.from(pre[i]!)));
  });

  it('a batched lambda grid equals the same lambdas run one at a time (bitwise), on WebGPU', async () => {
    const dir = sharedPath('models/stories260k');
    const m = await load(dir, k());
    const rng = new Rng(4);
    const steering = { sites: ['blocks.3.hook_resid_post'], vectors: new Float32Array(64).map(() => rng.uniform() - 0.5), preserveNorm: false };
    const lambdas = [-2, -1, 0, 1, 2, 4];
    const reqs = lambdas.map((l) => ({ promptIds: [1, 50, 60], maxNewTokens: 12, stopIds: [], steer: { alpha: [l], vec: 0, from: 0 } }));
    const batched = await generate(m, reqs, { steering });
    for (let i = 0; i < reqs.length; i++) {
      const [alone] = await generate(m, [reqs[i]!], { steering });
      expect(batched[i]!.ids, `lambda ${lambdas[i]}`).toEqual(alone!.ids);
    }
    expect(new Set(batched.map((r) => r.ids.join())).size).toBeGreaterThan(1);
  });

  it.skipIf(!g?.hasF16)('f16 weights (shader-f16): an f16 checkpoint stored as f16 gives the f32 path\'s results', async () => {
    const dir = sharedPath('fixtures/tiny-qwen2-f16-tied');
    const golden = JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8')).cases[2];
    const m = await load(dir, gpuBackend(g!, { f16Weights: true }) as unknown as Kernels);
    const r = await lastToken(m, golden.prompt_ids);
    expect(maxDiff(r.logits, golden.last_logits)).toBeLessThan(TOL);
  });

  it('the CLI on --device webgpu prints the oracle transcript and exits by itself', () => {
    const dir = sharedPath('fixtures/tiny-mistral-f32');
    const c = JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8')).cases[2];
    const r = spawnSync(process.execPath, [repoPath('bin/dsteer.js'), 'generate', '--model', dir, '--ids', c.prompt_ids.join(','), '--max-new-tokens', String(c.greedy_ids.length), '--device', 'webgpu', '--format', 'json'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, 'the process had to be killed: it did not exit by itself').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ids).toEqual(c.greedy_ids);
    expect(r.stderr).toMatch(/device: webgpu/);
  });
});
