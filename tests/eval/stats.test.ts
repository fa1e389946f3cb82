// eval/stats.ts against hand-computed values and naive oracles. Tolerance: 1e-12 absolute where
// the oracle is a different f64 computation of the same number; exact where the arithmetic is.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import {
  averageRanks,
  bootstrap,
  bootstrapClusterMean,
  bootstrapVector,
  directionChanges,
  drawResamples,
  isotonic,
  maxIsotonicDeviation,
  mean,
  quantile,
  spearman,
} from '../../eval/stats.js';

/** Isotonic (increasing) fit by the min-max formula: fit_i = max_{j<=i} min_{k>=i} wmean(y_j..y_k). O(n^3), independent of PAVA. */
function isotonicOracle(ys: number[], w: number[]): number[] {
  const n = ys.length;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let j = 0; j <= i; j++) {
      let low = Infinity;
      for (let k = i; k < n; k++) {
        let s = 0;
        let sw = 0;
        for (let t = j; t <= k; t++) {
          s += ys[t]! * w[t]!;
          sw += w[t]!;
        }
        low = Math.min(low, s / sw);
      }
      best = Math.max(best, low);
    }
    out.push(best);
  }
  return out;
}

describe('mean and quantile', () => {
  it('match hand values', () => {
    expect(mean([2, 4, 9])).toBe(5);
    expect(mean([])).toBeNaN();
    // type 7: h = (n-1)p; [10,20,30,40,50], p = 0.1 -> h = 0.4 -> 10 + 0.4*10
    expect(quantile([10, 20, 30, 40, 50], 0.1)).toBeCloseTo(14, 12);
    expect(quantile([10, 20, 30, 40, 50], 0.975)).toBeCloseTo(49, 12);
    expect(quantile([10, 20, 30, 40, 50], 1)).toBe(50);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('ranks and Spearman', () => {
  it('averages tied ranks', () => {
    expect(averageRanks([3, 1, 3, 3, 2])).toEqual([4, 1, 4, 4, 2]);
    expect(averageRanks([])).toEqual([]);
  });

  it('equals 1 - 6 sum d^2 / (n (n^2 - 1)) without ties (random permutations)', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 50; trial++) {
      const n = 2 + rng.int(12);
      const perm = [...Array(n).keys()];
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const x = [...Array(n).keys()].map((i) => i * 1.5 - 3);
      const y = perm.map((p) => p * p + 0.5); // monotone transform of ranks: rho depends only on ranks
      let d2 = 0;
      for (let i = 0; i < n; i++) d2 += (i - perm[i]!) ** 2;
      expect(spearman(x, y)!, `seed 11 trial ${trial}`).toBeCloseTo(1 - (6 * d2) / (n * (n * n - 1)), 12);
    }
  });

  it('handles ties (hand-computed)', () => {
    // ranks y = 1.5, 1.5, 3, 4; centred x ranks -1.5 -0.5 0.5 1.5, y ranks -1 -1 0.5 1.5
    // sxy = 4.5, sxx = 5, syy = 4.5 -> rho = 4.5 / sqrt(22.5)
    expect(spearman([1, 2, 3, 4], [1, 1, 2, 3])!).toBeCloseTo(4.5 / Math.sqrt(22.5), 14);
    expect(spearman([0, 0.1, 0.2], [0, 0.5, 0.9])).toBe(1);
    expect(spearman([0, 0.1, 0.2], [1, 0.5, 0.2])).toBe(-1);
  });

  it('is null when undefined and refuses unequal lengths', () => {
    expect(spearman([1], [2])).toBeNull();
    expect(spearman([1, 2, 3], [4, 4, 4])).toBeNull();
    expect(() => spearman([1, 2], [1])).toThrow(/2 x values but 1/);
  });
});

describe('isotonic regression', () => {
  it('matches hand fits', () => {
    expect(isotonic([1, 3, 2, 4])).toEqual([1, 2.5, 2.5, 4]);
    expect(isotonic([3, 1, 2])).toEqual([2, 2, 2]);
    expect(isotonic([1, 2, 3])).toEqual([1, 2, 3]);
    expect(isotonic([1, 0.6, 0.2, 0.5, 0.1], false).map((v) => +v.toFixed(12))).toEqual([1, 0.6, 0.35, 0.35, 0.1]);
    expect(isotonic([])).toEqual([]);
    expect(isotonic([3, 1], true, [3, 1])).toEqual([2.5, 2.5]); // weighted pool: (3*3 + 1*1) / 4
  });

  it('matches the min-max oracle on random sequences, weighted and not, both directions', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + rng.int(10);
      const y = Array.from({ length: n }, () => Math.round(rng.uniform() * 20) / 4); // ties on purpose
      const w = trial % 2 ? Array.from({ length: n }, () => 0.5 + rng.uniform()) : Array<number>(n).fill(1);
      const up = isotonic(y, true, w);
      const ref = isotonicOracle(y, w);
      up.forEach((v, i) => expect(v, `seed 5 trial ${trial} i ${i}`).toBeCloseTo(ref[i]!, 12));
      const down = isotonic(y, false, w);
      const refDown = isotonicOracle(y.map((v) => -v), w).map((v) => -v);
      down.forEach((v, i) => expect(v, `seed 5 trial ${trial} down i ${i}`).toBeCloseTo(refDown[i]!, 12));
    }
  });

  it('max deviation from the fit: zero when monotone, the hand value for a dip', () => {
    expect(maxIsotonicDeviation([0, 0.2, 0.2, 0.9])).toBe(0);
    expect(maxIsotonicDeviation([1, 0.8, 0.1], false)).toBe(0);
    // decreasing fit of 1, .6, .2, .5, .1 pools .2 and .5 into .35: deviation .15
    expect(maxIsotonicDeviation([1, 0.6, 0.2, 0.5, 0.1], false)).toBeCloseTo(0.15, 12);
    // an increasing curve judged against a decreasing fit deviates by half its span
    expect(maxIsotonicDeviation([0, 1], false)).toBe(0.5);
  });
});

describe('direction changes', () => {
  it('counts sign changes of successive differences, zeros ignored', () => {
    expect(directionChanges([])).toBe(0);
    expect(directionChanges([5])).toBe(0);
    expect(directionChanges([0, 0.1, 0.3, 0.7])).toBe(0);
    expect(directionChanges([0, 0.5, 0.5, 0.9])).toBe(0); // plateau is no turn
    expect(directionChanges([0, 0.5, 0.5, 0.2])).toBe(1); // flat then down still one turn
    expect(directionChanges([1, 0.6, 0.2, 0.5, 0.1])).toBe(2);
    expect(directionChanges([0, 1, 0, 1, 0])).toBe(3);
    expect(directionChanges([0, 0.5, 0.49, 0.9], 0.02)).toBe(0); // |d| <= eps counts as flat
  });
});

describe('bootstrap', () => {
  it('is deterministic for a seed and depends on it', () => {
    const xs = Array.from({ length: 30 }, (_, i) => Math.sin(i) * 3);
    const a = bootstrap(xs, mean, { seed: 4 });
    expect(bootstrap(xs, mean, { seed: 4 })).toEqual(a);
    expect(bootstrap(xs, mean, { seed: 5 })).not.toEqual(a);
    expect(drawResamples(30, 10, 4)).toEqual(drawResamples(30, 10, 4));
  });

  it('contains the point estimate and has the width the normal theory predicts for a mean', () => {
    // data 0..n-1: population sd s; the bootstrap sd of the mean is s / sqrt(n) (plug-in variance),
    // so the 95% percentile interval spans about 2 * 1.96 * s / sqrt(n); allow 10% (reps 4000).
    const n = 50;
    const xs = Array.from({ length: n }, (_, i) => i);
    const m = mean(xs);
    const sd = Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
    const ci = bootstrap(xs, mean, { reps: 4000, seed: 9 })!;
    expect(ci.value).toBe(m);
    expect(ci.lo).toBeLessThan(m);
    expect(ci.hi).toBeGreaterThan(m);
    const width = ci.hi - ci.lo;
    expect(width / ((2 * 1.96 * sd) / Math.sqrt(n))).toBeGreaterThan(0.9);
    expect(width / ((2 * 1.96 * sd) / Math.sqrt(n))).toBeLessThan(1.1);
  });

  it('shrinks with more prompts', () => {
    const rng = new Rng(2);
    const draw = (n: number): number[] => Array.from({ length: n }, () => rng.uniform());
    const small = bootstrap(draw(10), mean, { seed: 1 })!;
    const large = bootstrap(draw(160), mean, { seed: 1 })!;
    expect(large.hi - large.lo).toBeLessThan((small.hi - small.lo) / 2);
  });

  it('keeps clusters together and lets the statistic see the resampled set', () => {
    // two prompts with rows [0, 0] and [10]: any resample mixes whole clusters, so pooled means
    // are only 0, 10/3 (one of each), or 10; never 5 (a row-level resample could give it).
    const seen = new Set<number>();
    bootstrap([[0, 0], [10]], (s) => {
      const v = mean(s.flat());
      seen.add(+v.toFixed(9));
      return v;
    }, { reps: 200, seed: 3 });
    expect([...seen].sort((a, b) => a - b)).toEqual([0, +(10 / 3).toFixed(9), 10]);
  });

  it('returns null for an undefined statistic, leaves out undefined resamples, constant data gives a point', () => {
    expect(bootstrap([1, 2], () => null)).toBeNull();
    expect(bootstrap([1, 2], () => NaN)).toBeNull();
    expect(bootstrap([3, 3, 3], mean)).toEqual({ value: 3, lo: 3, hi: 3 });
    // the statistic exists only for resamples holding the value 10: they all give 10
    const ci = bootstrap([1, 10], (s) => (s.includes(10) ? Math.max(...s) : null), { seed: 1 })!;
    expect(ci).toEqual({ value: 10, lo: 10, hi: 10 });
  });

  it('a vector of statistics gets the intervals each would get alone', () => {
    const xs = Array.from({ length: 17 }, (_, i) => Math.cos(i * 2.3));
    const stats = [(s: number[]) => mean(s), (s: number[]) => Math.max(...s), (s: number[]) => (s.includes(xs[0]!) ? 1 : null)];
    const together = bootstrapVector(xs, (s) => stats.map((f) => f(s)), { reps: 250, seed: 12 });
    stats.forEach((f, i) => expect(together[i]).toEqual(bootstrap(xs, f, { reps: 250, seed: 12 })));
    expect(bootstrapVector(xs, () => [null, 1])[0]).toBeNull();
  });

  it('cluster-mean fast path equals the generic bootstrap on the same draws', () => {
    const rng = new Rng(8);
    const clusters = Array.from({ length: 13 }, (_, k) => Array.from({ length: k % 4 }, () => rng.uniform() * 10));
    const generic = bootstrap(clusters, (s) => {
      const flat = s.flat();
      return flat.length ? mean(flat) : null;
    }, { reps: 300, seed: 6 })!;
    const sums = clusters.map((c) => c.reduce((a, b) => a + b, 0));
    const counts = clusters.map((c) => c.length);
    const fast = bootstrapClusterMean(sums, counts, drawResamples(13, 300, 6), 300)!;
    expect(fast.value).toBeCloseTo(generic.value, 12);
    expect(fast.lo).toBeCloseTo(generic.lo, 12);
    expect(fast.hi).toBeCloseTo(generic.hi, 12);
    expect(bootstrapClusterMean([0, 0], [0, 0], drawResamples(2, 5, 0), 5)).toBeNull();
  });
});
