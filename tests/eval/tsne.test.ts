/**
 * t-SNE: determinism for a seed, the Barnes-Hut forces against exact pairwise forces, and the
 * Barnes-Hut embedding against the exact twin (dense P, O(n^2) gradient) on a small set, by the
 * KL divergence under the exact P and by trustworthiness (tolerances declared below).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { jointProbabilities, pcaScores, trustworthiness, tsne, tsneExact, tsneGradient, tsneKl } from '../../eval/tsne.js';

/** n points in d dims: 4 Gaussian-ish blobs (sum of uniforms) around separated centres. */
function blobs(n: number, d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = rng.uniform() + rng.uniform() - 1 + (j === i % 4 ? 4 : 0);
  }
  return x;
}

describe('t-SNE', () => {
  it('is deterministic for a seed (bitwise)', () => {
    const data = blobs(120, 10, 3);
    const a = tsne({ data, n: 120, d: 10 }, { perplexity: 20, iterations: 200, seed: 7 });
    const b = tsne({ data, n: 120, d: 10 }, { perplexity: 20, iterations: 200, seed: 7 });
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('Barnes-Hut forces with theta = 0 equal exact pairwise forces; theta = 0.5 is close (relative L2 < 2e-2)', () => {
    const n = 300;
    const data = blobs(n, 8, 5);
    const P = jointProbabilities({ data, n, d: 8 }, 30, 91);
    const rng = new Rng(9);
    const y = Float64Array.from({ length: n * 3 }, () => (rng.uniform() - 0.5) * 20);
    const exact = new Float64Array(n * 3);
    const zExact = tsneGradient(P, y, 3, 2, 1, -1, exact);
    const tree0 = new Float64Array(n * 3);
    const z0 = tsneGradient(P, y, 3, 2, 1, 0, tree0);
    const tree5 = new Float64Array(n * 3);
    tsneGradient(P, y, 3, 2, 1, 0.5, tree5);
    const norm = Math.hypot(...exact);
    expect(Math.abs(z0 - zExact) / zExact).toBeLessThan(1e-12);
    expect(Math.hypot(...tree0.map((v, i) => v - exact[i]!)) / norm).toBeLessThan(1e-10);
    expect(Math.hypot(...tree5.map((v, i) => v - exact[i]!)) / norm).toBeLessThan(2e-2);
  });

  it('agrees with the exact twin on a small set: KL within 5% and trustworthiness within 0.01', () => {
    const n = 240;
    const d = 12;
    const data = blobs(n, d, 11);
    const x = { data, n, d };
    const yb = tsne(x, { perplexity: 30, seed: 42 });
    const ye = tsneExact(x, { perplexity: 30, seed: 42 });
    const P = jointProbabilities(x, 30, n - 1);
    const klB = tsneKl(P, yb, 3);
    const klE = tsneKl(P, ye, 3);
    const twB = trustworthiness(x, { data: yb, n, d: 3 }, 10);
    const twE = trustworthiness(x, { data: ye, n, d: 3 }, 10);
    console.log(`t-SNE n=${n}: KL exact ${klE.toFixed(4)}, Barnes-Hut ${klB.toFixed(4)}; trustworthiness exact ${twE.toFixed(4)}, Barnes-Hut ${twB.toFixed(4)}`);
    expect(Math.abs(klB - klE) / klE).toBeLessThan(0.05);
    expect(Math.abs(twB - twE)).toBeLessThan(0.01);
    expect(twE).toBeGreaterThan(0.9);
  });

  it('PCA scores recover the axes of a full factorial cloud (covariance exactly diagonal), rotated', () => {
    // every combination of a in 5 x {-2,-1,1,2}, b in 2 x {-1,1}, c in {-1,1}: variances 12.5 > 4 > 1,
    // no covariance; rotated by 90 degrees about z, (a, b, c) -> (-b, a, c)
    const pts: [number, number, number][] = [];
    for (const a of [-10, -5, 5, 10]) for (const b of [-2, 2]) for (const c of [-1, 1]) pts.push([a, b, c]);
    const data = Float64Array.from(pts.flatMap(([a, b, c]) => [-b, a, c]));
    const s = pcaScores({ data, n: pts.length, d: 3 }, 3, 42);
    pts.forEach(([a, b, c], i) => {
      expect(Math.abs(Math.abs(s[i * 3]!) - Math.abs(a))).toBeLessThan(1e-9);
      expect(Math.abs(Math.abs(s[i * 3 + 1]!) - Math.abs(b))).toBeLessThan(1e-9);
      expect(Math.abs(Math.abs(s[i * 3 + 2]!) - Math.abs(c))).toBeLessThan(1e-9);
    });
  });

  it('refuses a perplexity that is not below n', () => {
    expect(() => tsne({ data: blobs(5, 2, 1), n: 5, d: 2 }, { perplexity: 5 })).toThrow(/perplexity 5 must be in/);
  });
});
