/**
 * The optimizer side of training: AdamW (decoupled weight decay, bias-corrected moments), the
 * cosine learning-rate schedule with linear warmup, and global gradient-norm clipping. Plain loops
 * in a fixed order over fixed tensors, so the same seed and data give the same bytes every run.
 */
import { paramEntries, type TrainParams } from './model-train.js';

export interface AdamWOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.95
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0.1
  /** Decay the norm weights and the embedding too (default false: only the block matrices decay). */
  decayAll?: boolean;
}

/**
 * AdamW over a list of tensors (torch.optim.AdamW's update):
 *   t += 1;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p *= 1 - lr wd                                  (decoupled decay, only tensors marked to decay)
 *   p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * Moments are f64 (exact, cheap at this size); parameters stay f32.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken. */
  t = 0;
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];

  /** `decay[i]` says whether tensor i takes weight decay. */
  constructor(
    private readonly params: Float32Array[],
    private readonly decay: boolean[],
    opts: AdamWOptions = {},
  ) {
    if (decay.length !== params.length) throw new Error(`AdamW: ${params.length} tensors but ${decay.length} decay flags`);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.1;
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  /** The optimizer's state (step count and both moments; the live arrays, for checkpoints). */
  state(): { t: number; m: Float64Array[]; v: Float64Array[] } {
    return { t: this.t, m: this.m, v: this.v };
  }

  /** Restores a state saved by state() (same tensors, same sizes). */
  loadState(s: { t: number; m: Float64Array[]; v: Float64Array[] }): void {
    if (s.m.length !== this.m.length || s.v.length !== this.v.length) throw new Error('AdamW: checkpoint has a different number of tensors');
    s.m.forEach((a, i) => {
      if (a.length !== this.m[i]!.length) throw new Error(`AdamW: checkpoint moment ${i} has ${a.length} values, expected ${this.m[i]!.length}`);
      this.m[i]!.set(a);
      this.v[i]!.set(s.v[i]!);
    });
    this.t = s.t;
  }

  /** One update of every tensor from its gradient (grads[i] matches params[i]). */
  step(grads: Float32Array[], lr: number): void {
    if (grads.length !== this.params.length) throw new Error(`AdamW: ${grads.length} gradients for ${this.params.length} tensors`);
    this.t++;
    const { beta1: b1, beta2: b2, eps } = this;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    for (let j = 0; j < this.params.length; j++) {
      const p = this.params[j]!;
      const g = grads[j]!;
      const m = this.m[j]!;
      const v = this.v[j]!;
      if (g.length !== p.length) throw new Error(`AdamW: gradient ${j} has ${g.length} values, its tensor ${p.length}`);
      const shrink = this.decay[j] ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! * shrink - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
    }
  }
}

/**
 * AdamW over a model's TrainParams (tensors in paramEntries order): the block matrices decay; the
 * norm weights and the (tied) embedding do not unless `decayAll`. Step it with `stepParams`.
 */
export function adamwFor(params: TrainParams, opts: AdamWOptions = {}): AdamW {
  const entries = paramEntries(params);
  const decay = entries.map(([key]) => opts.decayAll === true || /\.(wqkv|wo|wgu|wDown)$/.test(key));
  return new AdamW(
    entries.map(([, t]) => t),
    decay,
    opts,
  );
}

/** The tensors of a TrainParams (gradients) in the order adamwFor's optimizer expects. */
export function gradList(grads: TrainParams): Float32Array[] {
  return paramEntries(grads).map(([, t]) => t);
}

export interface CosineSchedule {
  maxLr: number;
  minLr: number;
  /** Steps of linear warmup: step s < warmup gets maxLr (s + 1) / warmup. */
  warmup: number;
  /** Steps in all; from warmup to total the rate falls along half a cosine to minLr, and stays there. */
  total: number;
}

/**
 * Learning rate at step `step` (0-based): linear warmup, then cosine decay to minLr.
 * @example
 * const s = { maxLr: 1e-3, minLr: 1e-4, warmup: 10, total: 110 };
 * assert(cosineLr(0, s) === 1e-4 && cosineLr(9, s) === 1e-3 && cosineLr(110, s) === 1e-4);
 */
export function cosineLr(step: number, s: CosineSchedule): number {
  if (step < s.warmup) return (s.maxLr * (step + 1)) / s.warmup;
  if (step >= s.total) return s.minLr;
  const span = Math.max(1, s.total - s.warmup);
  const progress = (step - s.warmup) / span;
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.maxLr - s.minLr);
}

/**
 * Global gradient-norm clipping: when the L2 norm over all tensors exceeds maxNorm, every value is
 * scaled by maxNorm / norm. Returns the norm before clipping (worth logging: spikes show first here).
 */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i]! * g[i]!;
  const norm = Math.sqrt(ss);
  if (norm > maxNorm && norm > 0) {
    const k = maxNorm / norm;
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = g[i]! * k;
  }
  return norm;
}
