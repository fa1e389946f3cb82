/**
 * Small, pure statistics for the evaluation: means, a percentile bootstrap over prompts (seeded
 * with engine/rng.ts, so every interval is reproducible), Spearman's rho with tied ranks,
 * isotonic regression by pool-adjacent-violators, and the number of direction changes of a curve.
 * Everything works in f64 on plain arrays; nothing here knows about score rows.
 */
import { Rng } from '../engine/rng.js';

/** A point estimate with its bootstrap interval: `lo`..`hi` is the 1 - alpha percentile interval. */
export interface CI {
  value: number;
  lo: number;
  hi: number;
}

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  reps?: number;
  /** Seed of the index draws (default 0); the same seed and prompt count give the same draws. */
  seed?: number;
  /** 1 - coverage of the interval (default 0.05: a 95% interval). */
  alpha?: number;
}

/**
 * Arithmetic mean; NaN for an empty array.
 * @example
 * assert(mean([1, 2, 6]) === 3 && Number.isNaN(mean([])));
 */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * The p-quantile of an ascending array, interpolating linearly between order statistics
 * (Hyndman-Fan type 7, the default of R and NumPy). NaN for an empty array.
 * @example
 * assert(quantile([1, 2, 3, 4], 0.5) === 2.5 && quantile([1, 2, 3, 4], 0) === 1 && quantile([5], 0.9) === 5);
 */
export function quantile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, p));
  const i = Math.floor(h);
  const f = h - i;
  return f === 0 ? sorted[i]! : sorted[i]! + f * (sorted[i + 1]! - sorted[i]!);
}

/**
 * Draws `reps` resamples of `n` indices in [0, n) with replacement, row r at [r*n, (r+1)*n).
 * A function of (n, reps, seed) only, so every statistic bootstrapped over the same prompts with
 * the same seed sees the same resamples (paired comparisons stay paired).
 * @example
 * const d = drawResamples(3, 2, 7);
 * assert(d.length === 6 && d.every((i) => i >= 0 && i < 3) && drawResamples(3, 2, 7).join() === d.join());
 */
export function drawResamples(n: number, reps: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(n * reps);
  for (let k = 0; k < out.length; k++) out[k] = rng.int(n);
  return out;
}

/** The percentile interval of the finite values; lo = hi = value when none is finite. */
function percentileCI(value: number, values: number[], alpha: number): CI {
  const ok = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (ok.length === 0) return { value, lo: value, hi: value };
  return { value, lo: quantile(ok, alpha / 2), hi: quantile(ok, 1 - alpha / 2) };
}

/**
 * Percentile bootstrap over prompts. `prompts` holds one cluster per prompt (its index, its rows,
 * anything); each resample draws prompts.length clusters with replacement and `statistic` sees that
 * resampled set, so all rows of a prompt stay together. Returns null when the statistic is undefined
 * (null or not finite) on the full set. Resamples on which it is undefined are left out of the
 * interval (it is then conditional on the statistic existing); with none left, lo = hi = value.
 * Percentile intervals need not contain the point estimate for biased statistics (a maximum of
 * means, for one); they are reported as they come.
 * @example
 * const ci = bootstrap([1, 2, 3, 4, 5, 6, 7, 8], (s) => mean(s), { reps: 500, seed: 1 })!;
 * assert(ci.value === 4.5 && ci.lo < 4.5 && ci.hi > 4.5 && ci.lo >= 1 && ci.hi <= 8);
 */
export function bootstrap<T>(prompts: readonly T[], statistic: (sample: T[]) => number | null, opts: BootstrapOptions = {}): CI | null {
  return bootstrapVector(prompts, (s) => [statistic(s)], opts)[0]!;
}

/**
 * `bootstrap` for several statistics computed together from each resample (one pass when they share
 * work): `statistic` returns the same number of values every time, and each gets its own interval
 * (null where its full-set value is undefined). Equal to bootstrapping each value alone with the
 * same options.
 * @example
 * const [m, top] = bootstrapVector([1, 2, 3, 4], (s) => [mean(s), Math.max(...s)], { reps: 300, seed: 2 });
 * assert(m.value === 2.5 && top.value === 4 && top.hi === 4 && top.lo < 4);
 */
export function bootstrapVector<T>(prompts: readonly T[], statistic: (sample: T[]) => (number | null)[], opts: BootstrapOptions = {}): (CI | null)[] {
  const full = statistic([...prompts]);
  const { reps = 1000, seed = 0, alpha = 0.05 } = opts;
  const n = prompts.length;
  const draws = drawResamples(n, reps, seed);
  const values: number[][] = full.map(() => []);
  const sample: T[] = new Array<T>(n);
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < n; k++) sample[k] = prompts[draws[r * n + k]!]!;
    statistic(sample).forEach((v, i) => {
      if (v !== null) values[i]!.push(v);
    });
  }
  return full.map((v, i) => (v === null || !Number.isFinite(v) ? null : percentileCI(v, values[i]!, alpha)));
}

/**
 * The bootstrap of a pooled mean over clusters, fast: cluster k contributes `sums[k]` over
 * `counts[k]` values; a resample's mean is sum(sums) / sum(counts) over the drawn clusters (as
 * `draws` from drawResamples(sums.length, reps, seed)). The same numbers as `bootstrap` with the
 * statistic "mean of all values in the drawn clusters". Null when no cluster has a value.
 * @example
 * const sums = [1, 5], counts = [1, 1];
 * const ci = bootstrapClusterMean(sums, counts, drawResamples(2, 200, 3), 200)!;
 * assert(ci.value === 3 && ci.lo === 1 && ci.hi === 5);
 */
export function bootstrapClusterMean(
  sums: ArrayLike<number>,
  counts: ArrayLike<number>,
  draws: Int32Array,
  reps: number,
  alpha = 0.05,
): CI | null {
  const n = sums.length;
  let s = 0;
  let c = 0;
  for (let k = 0; k < n; k++) {
    s += sums[k]!;
    c += counts[k]!;
  }
  if (c === 0) return null;
  const values: number[] = [];
  for (let r = 0; r < reps; r++) {
    let rs = 0;
    let rc = 0;
    for (let k = 0; k < n; k++) {
      const j = draws[r * n + k]!;
      rs += sums[j]!;
      rc += counts[j]!;
    }
    if (rc > 0) values.push(rs / rc);
  }
  return percentileCI(s / c, values, alpha);
}

/**
 * Ranks 1..n, ties sharing the average of the ranks they span.
 * @example
 * assert(averageRanks([10, 30, 20, 30]).join() === '1,3.5,2,3.5');
 */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const ranks = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]!] === xs[order[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman's rho: the Pearson correlation of the average ranks (exact with ties). Null when there
 * are fewer than two points or either sequence is constant (rho undefined).
 * @example
 * assert(spearman([1, 2, 3], [10, 20, 15]) === 0.5 && spearman([1, 2, 3], [3, 2, 1]) === -1);
 * assert(spearman([1, 2], [5, 5]) === null);
 */
export function spearman(xs: readonly number[], ys: readonly number[]): number | null {
  if (xs.length !== ys.length) throw new Error(`spearman: ${xs.length} x values but ${ys.length} y values`);
  if (xs.length < 2) return null;
  const rx = averageRanks(xs);
  const ry = averageRanks(ys);
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - my);
    sxx += (rx[i]! - mx) ** 2;
    syy += (ry[i]! - my) ** 2;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * Least-squares isotonic fit by pool-adjacent-violators: the non-decreasing (or, with
 * `increasing` false, non-increasing) sequence closest to `ys` in weighted squared error
 * (weights default to 1).
 * @example
 * assert(isotonic([1, 3, 2, 4]).join() === '1,2.5,2.5,4');
 * assert(isotonic([1, 3, 2, 4], false).join() === '2.5,2.5,2.5,2.5');
 */
export function isotonic(ys: readonly number[], increasing = true, weights?: readonly number[]): number[] {
  const sign = increasing ? 1 : -1;
  // Blocks of pooled points: value (sign-flipped for the decreasing fit), weight, length.
  const val: number[] = [];
  const w: number[] = [];
  const len: number[] = [];
  for (let i = 0; i < ys.length; i++) {
    val.push(sign * ys[i]!);
    w.push(weights ? weights[i]! : 1);
    len.push(1);
    while (val.length > 1 && val[val.length - 2]! > val[val.length - 1]!) {
      const b = val.length - 1;
      const wt = w[b - 1]! + w[b]!;
      val[b - 1] = (val[b - 1]! * w[b - 1]! + val[b]! * w[b]!) / wt;
      w[b - 1] = wt;
      len[b - 1]! += len[b]!;
      val.pop();
      w.pop();
      len.pop();
    }
  }
  const out: number[] = [];
  for (let b = 0; b < val.length; b++) for (let k = 0; k < len[b]!; k++) out.push(sign * val[b]!);
  return out;
}

/**
 * The largest absolute gap between `ys` and its isotonic fit (0 for a monotone sequence in the
 * expected direction).
 * @example
 * assert(maxIsotonicDeviation([0, 0.75, 0.25, 1]) === 0.25 && maxIsotonicDeviation([0, 1, 2]) === 0);
 */
export function maxIsotonicDeviation(ys: readonly number[], increasing = true): number {
  const fit = isotonic(ys, increasing);
  let m = 0;
  for (let i = 0; i < ys.length; i++) m = Math.max(m, Math.abs(ys[i]! - fit[i]!));
  return m;
}

/**
 * How often a sequence turns: the number of sign changes between successive non-zero differences
 * y[i+1] - y[i]. Differences with |d| <= eps count as flat and are ignored, so a plateau between
 * two rises is no turn. A monotone sequence has 0; a single peak or dip has 1; up-down-up has 2.
 * @example
 * assert(directionChanges([0, 1, 1, 2]) === 0 && directionChanges([0, 2, 1]) === 1 && directionChanges([0, 2, 1, 3]) === 2);
 */
export function directionChanges(ys: readonly number[], eps = 0): number {
  let prev = 0;
  let changes = 0;
  for (let i = 1; i < ys.length; i++) {
    const d = ys[i]! - ys[i - 1]!;
    if (Math.abs(d) <= eps) continue;
    const s = Math.sign(d);
    if (prev !== 0 && s !== prev) changes++;
    prev = s;
  }
  return changes;
}
