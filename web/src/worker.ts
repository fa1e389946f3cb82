/**
 * The engine in a Web Worker: fetches the micro SFT/DPO pair, the shipped vector and the three
 * micro benchmarks' prompts as bytes (MemoryDir/MemorySource, the engine's browser byte sources),
 * loads both models on WebGPU (navigator.gpu, through engine/device.ts) or on the CPU backend when
 * the browser has no WebGPU, then answers generate / activation requests (protocol.ts). The same
 * library code as the CLI runs here; nothing in this file does arithmetic on the model.
 */
import { MemoryDir, MemorySource } from '../../engine/byte-source.js';
import { lastGpuError, openGpu } from '../../engine/device.js';
import { Gpu } from '../../engine/gpu.js';
import { cpuBackend, type Kernels } from '../../kernels/backend.js';
import { gpuBackend } from '../../kernels/gpu-backend.js';
import { generate } from '../../models/generate.js';
import { loadModel, type LoadedModel } from '../../models/load.js';
import { feed } from '../../models/run.js';
import { score } from '../../models/score.js';
import { readPrompts } from '../../data/readers/prompts.js';
import { newReport } from '../../data/readers/report.js';
import { planSteering } from '../../steering/plan.js';
import { readVectorFile, type SteeringVectors } from '../../steering/vector.js';
import { steeredModel, type ActivationPoint, type ExamplePrompt, type Msg, type Reply, type Request } from './protocol.js';

/** Files of a model folder the page fetches (the micro pair has exactly these). */
const MODEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'];
/** The three micro benchmarks whose prompts the page offers, and how many of each. */
const BENCHMARKS: { name: string; file: string; format: 'hh' | 'harmfulqa' | 'advbench' }[] = [
  { name: 'hh', file: 'data/micro-hh.test.jsonl', format: 'hh' },
  { name: 'harmfulqa', file: 'data/micro-harmfulqa.json', format: 'harmfulqa' },
  { name: 'advbench', file: 'data/micro-advbench.csv', format: 'advbench' },
];
const EXAMPLES_PER_BENCHMARK = 8;

type M = LoadedModel<unknown, unknown>;
let models: { sft: M; dpo: M } | null = null;
let sv: SteeringVectors | null = null;

const post = (r: Reply): void => (self as unknown as { postMessage(m: unknown): void }).postMessage(r);

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} (is the page served by \`dsteer ui\` or a folder built by \`npm run build:web\`?)`);
  return new Uint8Array(await res.arrayBuffer());
}

async function fetchDir(base: string, name: string): Promise<MemoryDir> {
  const files: Record<string, Uint8Array> = {};
  await Promise.all(MODEL_FILES.map(async (f) => (files[f] = await fetchBytes(`${base}${name}/${f}`))));
  return new MemoryDir(`${base}${name}`, files);
}

async function openBackend(want: 'auto' | 'webgpu' | 'cpu'): Promise<{ k: Kernels; fallback: string | null }> {
  if (want === 'cpu') return { k: cpuBackend(), fallback: null };
  // the page runs on whatever WebGPU adapter the browser has, software ones (SwiftShader) included
  const h = await openGpu({ allowSoftware: true });
  if (h) return { k: gpuBackend(new Gpu(h)) as unknown as Kernels, fallback: null };
  if (want === 'webgpu') throw new Error(`WebGPU was asked for but is unavailable: ${lastGpuError()}`);
  return { k: cpuBackend(), fallback: lastGpuError() || 'no WebGPU adapter' };
}

async function init(r: Extract<Request, { type: 'init' }>): Promise<void> {
  const t0 = performance.now();
  const { k, fallback } = await openBackend(r.backend);
  const [sftDir, dpoDir, vecBytes] = await Promise.all([fetchDir(r.base, 'micro/sft'), fetchDir(r.base, 'micro/dpo'), fetchBytes(`${r.base}micro/vector.safetensors`)]);
  const sft = await loadModel(sftDir, k);
  const dpo = await loadModel(dpoDir, k);
  sv = await readVectorFile(new MemorySource(`${r.base}micro/vector.safetensors`, vecBytes));
  models = { sft, dpo };
  const examples: ExamplePrompt[] = [];
  for (const b of BENCHMARKS) {
    const src = new MemorySource(`${r.base}${b.file}`, await fetchBytes(`${r.base}${b.file}`));
    for await (const p of readPrompts(src, newReport(src.name), { format: b.format })) {
      examples.push({ dataset: b.name, index: p.index, prompt: p.prompt, messages: p.messages as Msg[] });
      if (p.index + 1 >= EXAMPLES_PER_BENCHMARK) break;
    }
  }
  const vectorLayers = [...sv.vectors.keys()].map((h) => Number(/^blocks\.(\d+)\.hook_resid_post$/.exec(h)?.[1] ?? NaN)).filter(Number.isFinite).sort((a, b) => a - b);
  post({
    type: 'ready', id: r.id, backend: k.kind, description: k.description, fallback, loadMs: performance.now() - t0,
    nLayers: sft.model.cfg.nLayers, vectorLayers, examples,
  });
}

function promptIdsOf(m: M, messages: Msg[]): number[] {
  return m.tokenizer.encodeChat(messages, { addGenerationPrompt: true });
}

async function runGenerate(r: Extract<Request, { type: 'generate' }>): Promise<void> {
  const { sft, dpo } = models!;
  let steeredIds: number[] | null = null;
  let promptIds: number[] = [];
  for (const which of r.which) {
    const side = which === 'steered' ? steeredModel(r.lambda) : which;
    const m = side === 'sft' ? sft : dpo;
    const ids = promptIdsOf(m, r.messages);
    promptIds = ids;
    const maxNewTokens = Math.max(0, Math.min(r.maxNewTokens, m.model.cfg.maxContext - ids.length));
    const plan = which === 'steered' ? planSteering(sv!, m.model.cfg, { layers: r.layers, lambdas: [r.lambda] }) : null;
    const out: number[] = [];
    const t0 = performance.now();
    const [res] = await generate(
      m.model,
      [{ promptIds: ids, maxNewTokens, ...(plan ? { steer: plan.seq(ids.length) } : {}) }],
      {
        ...(plan ? { steering: plan.setup } : {}),
        onToken: (_q, id) => {
          out.push(id);
          post({ type: 'token', id: r.id, which, ids: out.slice(), text: m.tokenizer.decode(out) });
        },
      },
    );
    const ms = performance.now() - t0;
    post({ type: 'done', id: r.id, which, model: side, lambda: which === 'steered' ? r.lambda : 0, promptIds: ids, ids: res!.ids, text: m.tokenizer.decode(res!.ids), ms, finish: res!.finish });
    if (which === 'steered') steeredIds = res!.ids;
  }
  if (steeredIds !== null && steeredIds.length > 0) {
    // the likelihood shift of each steered token: log p_DPO - log p_SFT, both models unsteered
    const req = [{ ids: [...promptIds, ...steeredIds], promptLen: promptIds.length }];
    const [a] = await score(sft.model, req);
    const [b] = await score(dpo.model, req);
    const pieces: string[] = [];
    let prev = '';
    for (let i = 0; i < steeredIds.length; i++) {
      const t = sft.tokenizer.decode(steeredIds.slice(0, i + 1));
      pieces.push(t.startsWith(prev) ? t.slice(prev.length) : t);
      prev = t;
    }
    post({ type: 'shift', id: r.id, pieces, shift: Array.from(b!.logprobs, (v, i) => v - a!.logprobs[i]!) });
  }
}

async function runActivations(r: Extract<Request, { type: 'activations' }>): Promise<void> {
  const hook = `blocks.${models!.sft.model.cfg.nLayers - 1}.hook_resid_post`;
  const points: ActivationPoint[] = [];
  // the DPO anchor (lambda 0 on DPO) besides the grid, whose 0 is the SFT anchor
  const runs: { model: 'sft' | 'dpo'; lambda: number }[] = [...r.lambdas.map((l) => ({ model: steeredModel(l), lambda: l })), { model: 'dpo' as const, lambda: 0 }];
  for (const side of ['sft', 'dpo'] as const) {
    const m = models![side];
    const mine = runs.filter((x) => x.model === side);
    if (mine.length === 0) continue;
    const ids = promptIdsOf(m, r.messages);
    const plan = planSteering(sv!, m.model.cfg, { layers: r.layers, lambdas: [1] });
    const alphaOf = (l: number) => plan.sites.map(() => l);
    await feed(
      m.model,
      mine.map((x) => ({ ids, steer: { alpha: alphaOf(x.lambda), vec: 0, from: 0 }, capture: { from: ids.length - 1, to: ids.length } })),
      {
        steering: plan.setup,
        hooks: [hook],
        onCapture: (seq, _pos, hooks) => points.push({ model: side, lambda: mine[seq]!.lambda, state: Array.from(hooks.get(hook)!) }),
      },
    );
  }
  post({ type: 'activations', id: r.id, hook, points });
}

// one job at a time; a queued generate/activations job is dropped when a newer one of its kind came
const queue: Request[] = [];
const latest: Record<string, number> = {};
let running = false;

async function pump(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (;;) {
      // let every message already posted arrive before choosing the next job
      await new Promise((res) => setTimeout(res, 0));
      const r = queue.shift();
      if (!r) break;
      if (r.type !== 'init' && r.id < (latest[r.type] ?? 0)) {
        post({ type: 'skipped', id: r.id });
        continue;
      }
      try {
        if (r.type === 'init') await init(r);
        else if (!models) throw new Error('the models are not loaded yet');
        else if (r.type === 'generate') await runGenerate(r);
        else await runActivations(r);
      } catch (e) {
        post({ type: 'error', id: r.id, message: e instanceof Error ? e.message : String(e) });
      }
    }
  } finally {
    running = false;
  }
}

self.onmessage = (ev: MessageEvent<Request>) => {
  const r = ev.data;
  latest[r.type] = Math.max(latest[r.type] ?? 0, r.id);
  queue.push(r);
  void pump();
};

