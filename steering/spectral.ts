/**
 * The spectral analysis of DSTEER-SPEC.md section 2 step 7, per layer, on the per-sample
 * differences that extraction stores in NAME.samples.safetensors (F16 `blocks.{l}.hook_resid_post`,
 * [N, dim]; `__metadata__` `dsteer.samples` = `{"count","cap","layers","pairs"}`):
 *
 * - on the UNCENTRED matrix dH (centring would remove the mean shift the analysis is about): all
 *   singular values s_1 >= s_2 >= ..., `sigma2_over_sigma1`, `spectral_entropy` = -sum p_i ln p_i
 *   with p_i = s_i / sum_j s_j, `top5` = the first five s_i / s_1, `epsilon_rank` = #{s_i >= 0.01 s_1},
 *   `alignment` = |cos| of the first right-singular vector with a reference direction: the file's
 *   vector for the layer, or the mean of the samples when the vector was made by the pc method
 *   (its vector is then a component, not the mean difference);
 * - on the CENTRED matrix: `explained_variance`, the first ten s_i^2 / sum_j s_j^2.
 *
 * Statistics that are undefined for an all-zero matrix come back as null.
 */
import type { ByteSource } from '../engine/byte-source.js';
import { DsteerError } from '../engine/errors.js';
import { parseHookName } from '../models/hooks.js';
import { readSafetensorsHeader, readTensorF32 } from '../models/safetensors.js';
import { svdSpectrum } from './linalg.js';
import type { SteeringVectors } from './vector.js';

/** One analysed layer; field names are the JSON output's. */
export interface LayerSpectrum {
  layer: number;
  sigma2_over_sigma1: number | null;
  spectral_entropy: number | null;
  top5: number[];
  epsilon_rank: number;
  alignment: number | null;
  explained_variance: number[];
}

export interface SpectralReport {
  /** Samples per layer (N). */
  samples: number;
  /** The cap extraction stored them under (`--spectral-samples`). */
  cap: number;
  /** What `alignment` compares the first singular vector with. */
  alignment_with: 'vector' | 'sample mean';
  layers: LayerSpectrum[];
}

const EPSILON = 0.01;
const EXPLAINED = 10;
export const SAMPLES_META_KEY = 'dsteer.samples';

/**
 * The statistics of one layer's N x d sample matrix (row-major). `reference` is the direction
 * `alignment` compares v_1 with; null means the mean of the rows.
 * @example
 * // two samples along e_1 with a little e_2: rank-one dominated, aligned with e_1
 * const s = layerSpectrum(new Float64Array([2, 0.1, 0, 3, -0.1, 0]), 2, 3, 7, new Float32Array([1, 0, 0]));
 * assert(s.layer === 7 && s.sigma2_over_sigma1 < 0.1 && s.alignment > 0.99 && s.epsilon_rank === 2);
 * assert(s.top5.length === 2 && s.top5[0] === 1 && Math.abs(s.explained_variance[0] - 1) < 1e-12);
 */
export function layerSpectrum(rows: Float64Array, n: number, d: number, layer: number, reference: ArrayLike<number> | null): LayerSpectrum {
  const raw = svdSpectrum(rows, n, d, { centre: false, vectors: 1 });
  const s = raw.singularValues;
  const s1 = s[0]!;
  let sum = 0;
  for (const x of s) sum += x;
  let entropy = 0;
  for (const x of s) if (x > 0) entropy -= (x / sum) * Math.log(x / sum);
  let ref: ArrayLike<number> | null = reference;
  if (ref === null) {
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j]! / n;
    ref = mean;
  }
  let dot = 0, nr = 0;
  const v1 = raw.rightVectors[0]!;
  for (let j = 0; j < d; j++) {
    dot += v1[j]! * ref[j]!;
    nr += ref[j]! * ref[j]!;
  }
  const centred = svdSpectrum(rows, n, d, { centre: true }).singularValues;
  let total = 0;
  for (const x of centred) total += x * x;
  const defined = s1 > 0;
  return {
    layer,
    sigma2_over_sigma1: defined ? (s.length > 1 ? s[1]! / s1 : 0) : null,
    spectral_entropy: defined ? entropy : null,
    top5: defined ? [...s.subarray(0, 5)].map((x) => x / s1) : [],
    epsilon_rank: defined ? s.filter((x) => x >= EPSILON * s1).length : 0,
    alignment: defined && nr > 0 ? Math.abs(dot) / Math.sqrt(nr) : null,
    explained_variance: total > 0 ? [...centred.subarray(0, EXPLAINED)].map((x) => (x * x) / total) : [],
  };
}

/** The `dsteer.samples` metadata, checked. */
function samplesMeta(file: string, metadata: Record<string, string>): { count: number; cap: number; layers: number[] } {
  const text = metadata[SAMPLES_META_KEY];
  if (text === undefined) throw new DsteerError(`${file}: __metadata__ has no "${SAMPLES_META_KEY}" (not a samples file written by dsteer extract)`);
  let m: { count?: unknown; cap?: unknown; layers?: unknown };
  try {
    m = JSON.parse(text);
  } catch {
    throw new DsteerError(`${file}: __metadata__ "${SAMPLES_META_KEY}" is not valid JSON`);
  }
  const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!isCount(m.count) || !isCount(m.cap) || !Array.isArray(m.layers) || !m.layers.every(isCount)) {
    throw new DsteerError(`${file}: __metadata__ "${SAMPLES_META_KEY}" must be {"count": int, "cap": int, "layers": [int, ...], "pairs": int}`);
  }
  return { count: m.count, cap: m.cap, layers: m.layers };
}

/**
 * Runs the analysis on every layer of a samples file, comparing with the vectors of `sv` (or, for a
 * pc-method file, with each layer's sample mean). `onLayer` is called after each layer.
 * @example
 * const rows = new Float32Array([1, 0, 2, 0.5, 3, 0]); // 3 samples of dim 2 at layer 1
 * const samples = new MemorySource('v.samples.safetensors', encodeSafetensors(
 *   [{ name: 'blocks.1.hook_resid_post', dtype: 'F16', shape: [3, 2], data: rows }],
 *   { 'dsteer.format': '1', 'dsteer.samples': JSON.stringify({ count: 3, cap: 2000, layers: [1], pairs: 3 }) }));
 * const vec = { vectors: new Map([['blocks.1.hook_resid_post', new Float32Array([2, 0.17])]]), provenance: { method: 'mean' }, file: 'v.safetensors' };
 * const r = await spectralAnalysis(samples, vec);
 * assert(r.samples === 3 && r.cap === 2000 && r.alignment_with === 'vector' && r.layers[0].layer === 1);
 * assert(r.layers[0].alignment > 0.99);
 */
export async function spectralAnalysis(samples: ByteSource, sv: SteeringVectors, opts: { onLayer?: (done: number, total: number) => void } = {}): Promise<SpectralReport> {
  const file = samples.name;
  const { tensors, metadata } = await readSafetensorsHeader(samples);
  const meta = samplesMeta(file, metadata);
  const prov = sv.provenance as { method?: unknown } | null;
  const pc = prov !== null && typeof prov === 'object' && prov.method === 'pc';
  if (meta.count === 0) throw new DsteerError(`${file}: holds no samples (count 0); re-run dsteer extract with --spectral-samples > 0`);
  const names = [...tensors.keys()].sort((a, b) => (parseHookName(a)?.layer ?? 0) - (parseHookName(b)?.layer ?? 0));
  const layers: LayerSpectrum[] = [];
  for (const name of names) {
    const hook = parseHookName(name);
    if (!hook || hook.site !== 'resid_post') throw new DsteerError(`${file}: tensor ${name} is not a blocks.{l}.hook_resid_post sample matrix`);
    const t = tensors.get(name)!;
    if (t.shape.length !== 2 || t.shape[0] !== meta.count) throw new DsteerError(`${file}: tensor ${name} has shape [${t.shape}], expected [${meta.count}, dim] (count from ${SAMPLES_META_KEY})`);
    const [n, d] = t.shape as [number, number];
    const vector = sv.vectors.get(name);
    if (!pc && !vector) throw new DsteerError(`${sv.file}: has no vector ${name}, which ${file} holds samples for (is this the vector the samples were extracted with?)`);
    if (vector && vector.length !== d) throw new DsteerError(`${sv.file}: vector ${name} has ${vector.length} values but the samples in ${file} have dim ${d}`);
    const rows = Float64Array.from(await readTensorF32(t));
    layers.push(layerSpectrum(rows, n, d, hook.layer, pc ? null : vector!));
    opts.onLayer?.(layers.length, names.length);
  }
  return { samples: meta.count, cap: meta.cap, alignment_with: pc ? 'sample mean' : 'vector', layers };
}
