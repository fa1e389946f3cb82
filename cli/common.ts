/**
 * What several commands share: choosing the backend, loading a model, turning prompt flags into
 * token ids, loading a steering plan, and printing.
 */
import { FileSource, NodeDir } from '../engine/byte-source-node.js';
import { DsteerError } from '../engine/errors.js';
import { cpuBackend, type Kernels } from '../kernels/backend.js';
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
 * `--device auto|cpu|webgpu`. The WebGPU backend is not part of this version yet: `auto` picks the
 * CPU backend and says so; `webgpu` is refused with that reason.
 */
export function chooseBackend(device: string): Backend {
  const d = parseChoice('--device', device, ['auto', 'cpu', 'webgpu'] as const);
  if (d === 'webgpu') {
    throw new DsteerError('--device webgpu: the WebGPU backend is not built yet in this version (accepted now: auto, cpu)', 2);
  }
  const k = cpuBackend();
  return { kernels: k, note: d === 'auto' ? `device: ${k.description} (auto: no WebGPU backend in this version)` : `device: ${k.description}` };
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
