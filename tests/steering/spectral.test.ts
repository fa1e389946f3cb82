import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';
import { encodeSafetensors } from '../../models/safetensors.js';
import { layerSpectrum, spectralAnalysis } from '../../steering/spectral.js';
import type { SteeringVectors } from '../../steering/vector.js';

/**
 * X = U diag(s) V^T with a known SVD: U's columns are rows 1..k of the 8 x 8 Sylvester-Hadamard
 * matrix over sqrt(8) (orthonormal and orthogonal to the all-ones vector, so centring leaves X as
 * it is), V = the Householder reflection I - 2 w w^T / |w|^2 (orthogonal, d x d).
 */
function known(s: number[], d: number, w: number[]): { X: Float64Array; V: number[][] } {
  const n = 8;
  const H = (i: number, j: number) => (popcount(i & j) % 2 === 0 ? 1 : -1);
  const ww = w.reduce((a, x) => a + x * x, 0);
  const V = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0) - (2 * w[i]! * w[j]!) / ww));
  const X = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d; c++) {
      let x = 0;
      for (let k = 0; k < s.length; k++) x += (H(k + 1, r) / Math.sqrt(n)) * s[k]! * V[c]![k]!;
      X[r * d + c] = x;
    }
  }
  return { X, V };
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

const column = (V: number[][], k: number) => V.map((row) => row[k]!);

describe('layerSpectrum on matrices with a known SVD', () => {
  const s = [10, 3, 1, 0.5, 0.05, 0.02];
  const d = 7;
  const { X, V } = known(s, d, [1, -2, 0.5, 3, 1, 0, -1]);

  it('s2/s1, entropy, top5, epsilon-rank, explained variance from the singular values', () => {
    const v1 = column(V, 0);
    const r = layerSpectrum(X, 8, d, 4, v1);
    const sum = s.reduce((a, x) => a + x, 0);
    const entropy = -s.reduce((a, x) => a + (x / sum) * Math.log(x / sum), 0);
    const sq = s.reduce((a, x) => a + x * x, 0);
    expect(r.layer).toBe(4);
    // tolerance 1e-9: values come from eigenvalues of X^T X in f64
    expect(r.sigma2_over_sigma1).toBeCloseTo(0.3, 9);
    expect(r.spectral_entropy).toBeCloseTo(entropy, 9);
    r.top5.forEach((x, i) => expect(x).toBeCloseTo(s[i]! / 10, 9));
    expect(r.top5).toHaveLength(5);
    expect(r.epsilon_rank).toBe(4); // 10, 3, 1, 0.5 >= 0.01 * 10; 0.05, 0.02 and the zero seventh are not
    expect(r.alignment).toBeCloseTo(1, 9);
    expect(r.explained_variance).toHaveLength(7);
    r.explained_variance.forEach((x, i) => expect(x).toBeCloseTo((s[i] ?? 0) ** 2 / sq, 9));
  });

  it('alignment is |cos| with the reference, sign-free', () => {
    const ref = column(V, 0).map((x, j) => -2 * x + 0.5 * column(V, 1)[j]!);
    const r = layerSpectrum(X, 8, d, 0, ref);
    expect(r.alignment).toBeCloseTo(2 / Math.hypot(2, 0.5), 9);
  });

  it('identical rows: uncentred rank one, centred zero (explained variance empty); the mean is the reference when none is given', () => {
    const row = [1, 2, -2];
    const rows = new Float64Array([...row, ...row, ...row, ...row]);
    const r = layerSpectrum(rows, 4, 3, 2, null);
    expect(r.sigma2_over_sigma1).toBeLessThan(1e-7);
    expect(r.epsilon_rank).toBe(1);
    expect(r.spectral_entropy).toBeLessThan(1e-6);
    expect(r.alignment).toBeCloseTo(1, 12);
    expect(r.explained_variance).toEqual([]);
  });

  it('an all-zero matrix gives nulls, not NaN', () => {
    const r = layerSpectrum(new Float64Array(6), 2, 3, 1, [1, 0, 0]);
    expect(r).toEqual({ layer: 1, sigma2_over_sigma1: null, spectral_entropy: null, top5: [], epsilon_rank: 0, alignment: null, explained_variance: [] });
  });
});

describe('spectralAnalysis on samples files', () => {
  const dim = 4;
  const rows3 = new Float32Array([1, 0.5, 0, 0, 2, 0.25, 0, 0, 1.5, -0.5, 0, 0]);
  const rows5 = new Float32Array([0, 0, 1, 1, 0, 0, 2, 2.5, 0, 0, 1, 0.5]);
  const samples = (meta: object | null, tensors = [['blocks.5.hook_resid_post', rows5], ['blocks.3.hook_resid_post', rows3]] as [string, Float32Array][]) =>
    new MemorySource(
      'v.samples.safetensors',
      encodeSafetensors(
        tensors.map(([name, data]) => ({ name, dtype: 'F16' as const, shape: [data.length / dim, dim], data })),
        meta === null ? { 'dsteer.format': '1' } : { 'dsteer.format': '1', 'dsteer.samples': JSON.stringify(meta) },
      ),
    );
  const vectors = (method: string, entries: [string, number[]][]): SteeringVectors => ({
    vectors: new Map(entries.map(([n, v]) => [n, new Float32Array(v)])),
    provenance: { method },
    file: 'v.safetensors',
  });
  const meta = { count: 3, cap: 2000, layers: [3, 5], pairs: 3 };

  it('mean-method file: alignment with the vector; layers in order; equals layerSpectrum on the f16 values', async () => {
    const sv = vectors('mean', [['blocks.3.hook_resid_post', [1, 0, 0, 0]], ['blocks.5.hook_resid_post', [0, 0, 1, 1]]]);
    const r = await spectralAnalysis(samples(meta), sv);
    expect(r).toMatchObject({ samples: 3, cap: 2000, alignment_with: 'vector' });
    expect(r.layers.map((l) => l.layer)).toEqual([3, 5]);
    // rows3 are f16-exact, so the direct computation is the oracle
    expect(r.layers[0]).toEqual(layerSpectrum(Float64Array.from(rows3), 3, dim, 3, [1, 0, 0, 0]));
    expect(r.layers[1]).toEqual(layerSpectrum(Float64Array.from(rows5), 3, dim, 5, [0, 0, 1, 1]));
  });

  it('pc-method file: alignment with the sample mean', async () => {
    const sv = vectors('pc', [['blocks.3.hook_resid_post', [0, 1, 0, 0]]]);
    const r = await spectralAnalysis(samples(meta), sv);
    expect(r.alignment_with).toBe('sample mean');
    expect(r.layers[0]!.alignment).toBe(layerSpectrum(Float64Array.from(rows3), 3, dim, 3, null).alignment);
  });

  it('refuses files that do not fit, naming the file', async () => {
    const err = async (p: Promise<unknown>) => {
      const e = await p.then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(DsteerError);
      return (e as Error).message;
    };
    const sv = vectors('mean', [['blocks.3.hook_resid_post', [1, 0, 0, 0]]]);
    expect(await err(spectralAnalysis(samples(null), sv))).toMatch(/v\.samples\.safetensors: __metadata__ has no "dsteer\.samples"/);
    expect(await err(spectralAnalysis(samples({ ...meta, count: 0 }, []), sv))).toMatch(/no samples.*re-run dsteer extract/);
    expect(await err(spectralAnalysis(samples({ ...meta, count: 4 }), sv))).toMatch(/shape \[3,4\], expected \[4, dim\]/);
    expect(await err(spectralAnalysis(samples(meta), sv))).toMatch(/v\.safetensors: has no vector blocks\.5\.hook_resid_post/);
    const wrongDim = vectors('mean', [['blocks.3.hook_resid_post', [1, 0]], ['blocks.5.hook_resid_post', [1, 0]]]);
    expect(await err(spectralAnalysis(samples(meta), wrongDim))).toMatch(/has 2 values but the samples .* have dim 4/);
  });
});
