/**
 * manifest.json of a sweep run (docs/RUNS.md): versions, seeds, content hashes of the models,
 * vector and data, and the full configuration. A resumed sweep compares the manifest on disk with
 * the one it would write and refuses on the first field that differs (by content: hashes, not
 * paths; `dsteer`, `node`, `created` and paths are informative only). Hashing needs Node's crypto
 * and lives in cli/hash.ts; this file only assembles and compares.
 */
import type { SweepConfig } from './sweep.js';

export interface ManifestDataset {
  name: string;
  path: string;
  format: string;
  /** sha256 of the file's bytes. */
  hash: string;
  prompts: number;
  /** sha256 of promptListText(prompts) (steering/sweep.ts). */
  prompt_hashes_sha256: string;
}

export interface ManifestConfig {
  lambdas: number[];
  max_new_tokens: number;
  temperature: number;
  top_p: number;
  seed: number;
  steer_positions: 'all' | 'generated';
  preserve_norm: boolean;
  chat_template: boolean;
  /** null = every prompt. */
  max_prompts: number | null;
  /** The backend that ran: `cpu` or `webgpu` (greedy tokens may differ across backends). */
  device: string;
}

export interface SweepManifest {
  dsteer: string;
  node: string;
  created: string;
  models: { sft: { path: string; hash: string }; dpo: { path: string; hash: string } };
  /** `layers`: the --layers list, null = every vector in the file; `sites`: the hook names steered. */
  vector: { path: string; hash: string; layers: number[] | null; sites: string[] };
  datasets: ManifestDataset[];
  config: ManifestConfig;
}

export interface ManifestInputs {
  dsteer: string;
  node: string;
  created?: string;
  models: SweepManifest['models'];
  vector: SweepManifest['vector'];
  datasets: ManifestDataset[];
  config: SweepConfig;
  maxPrompts: number | null;
  device: string;
}

/**
 * Assembles a manifest (the hashes are computed by the caller).
 * @example
 * const cfg = { lambdas: [-0.1, 0.1], layers: [1], maxNewTokens: 8, temperature: 0, topP: 1, seed: 0, steerPositions: 'all', preserveNorm: false, chatTemplate: true };
 * const m = buildManifest({ dsteer: '0.1.0', node: 'v20', models: { sft: { path: 'a', hash: 'h1' }, dpo: { path: 'b', hash: 'h2' } },
 *   vector: { path: 'v', hash: 'h3', layers: [1], sites: ['blocks.1.hook_resid_post'] }, datasets: [], config: cfg, maxPrompts: null, device: 'cpu' });
 * assert(m.config.max_new_tokens === 8 && m.config.lambdas.join() === '-0.1,0.1' && m.created.length > 0);
 */
export function buildManifest(p: ManifestInputs): SweepManifest {
  const c = p.config;
  return {
    dsteer: p.dsteer,
    node: p.node,
    created: p.created ?? new Date().toISOString(),
    models: { sft: { ...p.models.sft }, dpo: { ...p.models.dpo } },
    vector: { ...p.vector },
    datasets: p.datasets.map((d) => ({ ...d })),
    config: {
      lambdas: [...c.lambdas],
      max_new_tokens: c.maxNewTokens,
      temperature: c.temperature,
      top_p: c.topP,
      seed: c.seed,
      steer_positions: c.steerPositions,
      preserve_norm: c.preserveNorm,
      chat_template: c.chatTemplate,
      max_prompts: p.maxPrompts,
      device: p.device,
    },
  };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The first field where a run's manifest (`old`, parsed from disk) differs from the one this run
 * would write, as a message naming it; null when the run may resume.
 * @example
 * const cfg = { lambdas: [0.1], layers: null, maxNewTokens: 8, temperature: 0, topP: 1, seed: 0, steerPositions: 'all', preserveNorm: false, chatTemplate: true };
 * const base = { dsteer: '0.1.0', node: 'v20', models: { sft: { path: 'a', hash: 'h1' }, dpo: { path: 'b', hash: 'h2' } },
 *   vector: { path: 'v', hash: 'h3', layers: null, sites: ['blocks.1.hook_resid_post'] }, datasets: [], config: cfg, maxPrompts: null, device: 'cpu' };
 * const old = buildManifest(base);
 * assert(manifestDifference(old, buildManifest({ ...base, created: 'later', node: 'v22' })) === null);
 * assert(manifestDifference(old, buildManifest({ ...base, config: { ...cfg, seed: 1 } })).startsWith('config.seed'));
 */
export function manifestDifference(old: unknown, cur: SweepManifest): string | null {
  if (old === null || typeof old !== 'object') return 'manifest.json is not a JSON object';
  const o = old as Partial<SweepManifest>;
  const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));
  const diff = (field: string, a: unknown, b: unknown) => `${field} differs: the run has ${show(a)}, this command gives ${show(b)}`;
  for (const m of ['sft', 'dpo'] as const) {
    const a = o.models?.[m]?.hash;
    if (a !== cur.models[m].hash) return diff(`models.${m}.hash`, a, cur.models[m].hash) + ` (--${m} ${cur.models[m].path})`;
  }
  for (const f of ['hash', 'layers', 'sites'] as const) {
    const a = o.vector?.[f];
    if (!same(a, cur.vector[f])) return diff(`vector.${f}`, a, cur.vector[f]) + (f === 'hash' ? ` (--vector ${cur.vector.path})` : '');
  }
  const od = Array.isArray(o.datasets) ? o.datasets : [];
  if (od.length !== cur.datasets.length || od.some((d, i) => d?.name !== cur.datasets[i]!.name)) {
    return diff('datasets', od.map((d) => d?.name), cur.datasets.map((d) => d.name));
  }
  for (let i = 0; i < od.length; i++) {
    for (const f of ['format', 'hash', 'prompts', 'prompt_hashes_sha256'] as const) {
      if (!same(od[i]![f], cur.datasets[i]![f])) return diff(`datasets[${i}].${f} (${cur.datasets[i]!.name})`, od[i]![f], cur.datasets[i]![f]);
    }
  }
  for (const f of Object.keys(cur.config) as (keyof ManifestConfig)[]) {
    const a = o.config?.[f];
    if (!same(a, cur.config[f])) return diff(`config.${f}`, a, cur.config[f]);
  }
  return null;
}
