// The activation view's PCA (web/src/pca.ts) against hand-computed components: points built from
// two known orthogonal directions with known spreads, so the variances, the explained share and
// every projection are known exactly. Tolerance 1e-9 (float64 power iteration to 1e-13).
import { describe, expect, it } from 'vitest';
import { pca2 } from '../../web/src/pca.js';

describe('pca2', () => {
  const s = Math.SQRT1_2;
  const u1 = [s, s, 0, 0]; // spread +-3 along u1
  const u2 = [0, 0, 0.6, 0.8]; // spread +-1 along u2
  const centre = [5, -2, 1, 0.5];
  const coef: [number, number][] = [[3, 1], [3, -1], [-3, 1], [-3, -1]];
  const rows = coef.map(([a, b]) => centre.map((c, j) => c + a * u1[j]! + b * u2[j]!));

  it('finds the two directions, their variances and the projections', () => {
    const p = pca2(rows);
    expect(p.variances[0]).toBeCloseTo(9, 9); // mean of a^2 over the 4 points
    expect(p.variances[1]).toBeCloseTo(1, 9);
    expect(p.explained).toBeCloseTo(1, 9); // the data lies in the plane of u1, u2
    // canonical signs: the largest loading of each component is positive (u1: +s first; u2: +0.8)
    p.coords.forEach(([x, y], i) => {
      expect(x).toBeCloseTo(coef[i]![0], 9);
      expect(y).toBeCloseTo(coef[i]![1], 9);
    });
    // a new row projects with the same basis and centre
    const extra = centre.map((c, j) => c + 0.5 * u1[j]! - 2 * u2[j]! + (j === 0 ? 0 : 0));
    const [x, y] = p.project(extra);
    expect(x).toBeCloseTo(0.5, 9);
    expect(y).toBeCloseTo(-2, 9);
  });

  it('reports a partial share when variance lies off the plane', () => {
    const u3 = [s, -s, 0, 0]; // +-0.5 along a third direction: variance 0.25
    const more = rows.map((r, i) => r.map((v, j) => v + (i % 2 === 0 ? 0.5 : -0.5) * u3[j]! * (i < 2 ? 1 : -1)));
    const p = pca2(more);
    expect(p.explained).toBeCloseTo(10 / 10.25, 9);
  });

  it('handles no rows', () => {
    expect(pca2([]).coords).toEqual([]);
  });
});
