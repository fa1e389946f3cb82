/**
 * Steering plans: a vector file + chosen layers + lambdas -> the stacked vectors the engine makes
 * resident (SteeringSetup) and each sequence's row parameters (SeqSteer). Several files or
 * several lambda settings can share one setup: vectors are stacked along the first axis and each
 * sequence picks one with `vec` and its own alphas.
 */
import { DsteerError } from '../engine/errors.js';
import type { SeqSteer } from '../models/batch.js';
import type { ModelConfig } from '../models/config.js';
import type { SteeringSetup } from '../models/generate.js';
import { selectLayers, validateVectors, type SteeringVectors } from './vector.js';

export interface SteeringChoice {
  /** Layers to steer at hook_resid_post; null = every vector in the file. */
  layers: number[] | null;
  /** One lambda for every site, or one per site in the order of `layers` (or of the file). */
  lambdas: number[];
  /** Rescale each steered row to its pre-steer norm. */
  preserveNorm?: boolean;
  /** 'all' = every position (default); 'generated' = generated tokens only (positions >= the prompt length). */
  positions?: 'all' | 'generated';
}

export interface SteeringPlan {
  setup: SteeringSetup;
  /** The row parameters for one sequence whose prompt has `promptLen` tokens. */
  seq(promptLen: number): SeqSteer;
  /** Hook names steered, with their lambdas (for messages and provenance). */
  sites: { hook: string; lambda: number }[];
}

/**
 * Builds a plan from one vector file.
 * @example
 * const plan = planSteering(sv, model.cfg, { layers: [1, 2], lambdas: [0.4] });
 * const [r] = await generate(model, [{ promptIds, maxNewTokens: 8, steer: plan.seq(promptIds.length) }], { steering: plan.setup });
 * assert(plan.sites.length === 2 && r.ids.length === 8);
 */
export function planSteering(sv: SteeringVectors, cfg: Pick<ModelConfig, 'dim' | 'nLayers'>, choice: SteeringChoice): SteeringPlan {
  validateVectors(sv, cfg);
  const sites = selectLayers(sv, choice.layers);
  if (sites.length === 0) throw new DsteerError(`${sv.file}: the file holds no vectors`);
  const n = choice.lambdas.length;
  if (n !== 1 && n !== sites.length) {
    throw new DsteerError(`--lambda: ${n} values given for ${sites.length} steered layers (give one value, or one per layer)`);
  }
  for (const l of choice.lambdas) if (!Number.isFinite(l)) throw new DsteerError(`--lambda: ${l} is not a finite number`);
  const alpha = sites.map((_, j) => choice.lambdas[n === 1 ? 0 : j]!);
  const vectors = new Float32Array(sites.length * cfg.dim);
  sites.forEach((h, j) => vectors.set(sv.vectors.get(h)!, j * cfg.dim));
  const generatedOnly = choice.positions === 'generated';
  return {
    setup: { sites, vectors, preserveNorm: choice.preserveNorm ?? false },
    seq: (promptLen) => ({ alpha, vec: 0, from: generatedOnly ? promptLen : 0 }),
    sites: sites.map((hook, j) => ({ hook, lambda: alpha[j]! })),
  };
}
