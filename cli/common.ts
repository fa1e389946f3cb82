/**
 * What several commands share: choosing the backend, loading a model, turning prompt flags into
 * token ids, loading a steering plan, and printing.
 */
import { FileSource, NodeDir } from '../engine/byte-source-node.js';
import { DsteerError } from '../engine/errors.js';
import { cpuBackend, type Kernels } from '../kernels/backend.js';
import { gpuBackend } from '../kernels/gpu-backend.js';
import { describeAdapter, lastGpuError, openGpu } from '../engine/device.js';
import { Gpu } from '../engine/gpu.js';
import { loadModel, type LoadedModel } from '../models/load.js';
import type { ModelTokenizer } from '../models/tokenizer.js';
import { planSteering, type SteeringPlan } from '../steering/plan.js';
import { readVectorFile } from '../steering/vector.js';
import { parseChoice, parseIntList, parseNumberList } from './args.js';

export type Format = 'text' | 'json';

export interface Backend {
  kernels: Kernels;
  /** What was chosen and why, one line. */
  note: string;
}

/**
 * `--device auto|cpu|webgpu` (and `--weight-dtype f32|f16` for the GPU). auto = a hardware GPU
 * adapter when one exists, else the CPU backend; CPU-emulated adapters (lavapipe, SwiftShader) only
 * when `--device webgpu` asks. The note says what was chosen and why.
 */
export async function chooseBackend(device: string, weightDtype = 'f32'): Promise<Backend> {
  const b = await pickBackend(device, weightDtype);
  opened.push(b.kernels);
  return b;
}

const opened: Kernels[] = [];
/** Why `--device auto` chose the CPU, once it has (null: not probed yet, or a GPU was found). */
let autoFoundNoGpu: string | null = null;

/** Destroys every backend a command opened, so the process exits (a GPU device holds it open). */
export function closeBackends(): void {
  for (const k of opened.splice(0)) k.destroy();
}

async function pickBackend(device: string, weightDtype: string): Promise<Backend> {
  const d = parseChoice('--device', device, ['auto', 'cpu', 'webgpu'] as const);
  const wd = parseChoice('--weight-dtype', weightDtype, ['f32', 'f16'] as const);
  // auto: probe once per process; a later command of the same process (dsteer demo runs several)
  // reuses the answer instead of asking Dawn again (each probe prints Dawn's adapter warnings)
  if (d === 'auto' && autoFoundNoGpu !== null) {
    const k = cpuBackend();
    return { kernels: k, note: `device: ${k.description} (auto: ${autoFoundNoGpu})` };
  }
  if (d !== 'cpu') {
    const h = await openGpu({ allowSoftware: d === 'webgpu' });
    if (h) {
      if (wd === 'f16' && !h.features.includes('shader-f16')) {
        h.destroy();
        throw new DsteerError(`--weight-dtype f16: this adapter lacks shader-f16 (${describeAdapter(h)}); use f32`, 2);
      }
      const k = gpuBackend(new Gpu(h), { f16Weights: wd === 'f16' });
      return { kernels: k as unknown as Kernels, note: `device: ${k.description}` };
    }
    if (d === 'webgpu') throw new DsteerError(`--device webgpu: ${lastGpuError()}`);
  }
  const k = cpuBackend();
  if (d === 'auto') autoFoundNoGpu = lastGpuError() || 'no hardware GPU adapter';
  const why = d === 'auto' ? ` (auto: ${autoFoundNoGpu})` : '';
  return { kernels: k, note: `device: ${k.description}${why}` };
}

/** Loads `--model DIR` onto a backend. */
export async function openModel(path: string, k: Kernels): Promise<LoadedModel<unknown, unknown>> {
  const dir = await NodeDir.open(path);
  return loadModel(dir, k);
}

export interface PromptFlags {
  prompt?: string;
  chat?: string;
  ids?: string;
}

/** Exactly one of --prompt, --chat, --ids -> token ids (ARCHITECTURE.md's tokenization rules). */
export function promptIds(flags: PromptFlags, tok: ModelTokenizer, vocabSize: number): number[] {
  const given = (['prompt', 'chat', 'ids'] as const).filter((k) => flags[k] !== undefined);
  if (given.length !== 1) throw new DsteerError(`give exactly one of --prompt, --chat, --ids (got ${given.length === 0 ? 'none' : given.map((g) => '--' + g).join(' and ')})`, 2);
  let ids: number[];
  if (flags.ids !== undefined) {
    ids = parseIntList('--ids', flags.ids);
    for (const id of ids) if (id >= vocabSize) throw new DsteerError(`--ids: token id ${id} is outside the vocabulary (0..${vocabSize - 1})`, 2);
  } else if (flags.chat !== undefined) {
    ids = tok.encodeChat([{ role: 'user', content: flags.chat }], { addGenerationPrompt: true });
  } else {
    ids = tok.encode(flags.prompt!);
  }
  if (ids.length === 0) throw new DsteerError(`the prompt encodes to no tokens; give a non-empty --${given[0]}`, 2);
  return ids;
}

export interface SteerFlags {
  vector?: string;
  lambda?: string;
  layers?: string;
  preserveNorm?: boolean;
  steerPositions?: string;
}

/** `--vector FILE --lambda X [--layers a,b]` -> a plan, or null when no vector is given. */
export async function steeringFromFlags(flags: SteerFlags, cfg: { dim: number; nLayers: number }): Promise<SteeringPlan | null> {
  if (flags.vector === undefined) {
    for (const f of ['lambda', 'layers'] as const) if (flags[f] !== undefined) throw new DsteerError(`--${f} needs --vector FILE`, 2);
    return null;
  }
  if (flags.lambda === undefined) throw new DsteerError('--vector needs --lambda X (one value, or one per layer)', 2);
  const src = await FileSource.open(flags.vector);
  try {
    const sv = await readVectorFile(src);
    return planSteering(sv, cfg, {
      layers: flags.layers === undefined ? null : parseIntList('--layers', flags.layers),
      lambdas: parseNumberList('--lambda', flags.lambda),
      preserveNorm: flags.preserveNorm ?? false,
      positions: parseChoice('--steer-positions', flags.steerPositions ?? 'all', ['all', 'generated'] as const),
    });
  } finally {
    await src.close();
  }
}

/** Writes a line to stderr (notes never go to stdout, which carries data). */
export function note(msg: string): void {
  process.stderr.write(msg + '\n');
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v) + '\n');
}
