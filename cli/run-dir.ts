/**
 * Reading a run directory (docs/RUNS.md) for `dsteer eval`, `dsteer report` and `dsteer demo`:
 * its manifest, generations and scores, the extraction files it points to, and the package's own
 * folder (where the shipped micro world lives).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DsteerError } from '../engine/errors.js';
import type { ScoreRow } from '../eval/aggregate.js';
import type { GenerationRow } from '../eval/evaluate.js';
import { readJsonl } from './jsonl.js';

/** The folder holding dsteer's package.json (assets/ lives there), from src or dist alike. */
export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(d, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'dsteer') return d;
    const up = dirname(d);
    if (up === d) throw new Error('dsteer: cannot find the package folder');
    d = up;
  }
}

export interface RunManifest {
  models: { sft: { path: string; hash: string }; dpo: { path: string; hash: string } };
  vector: { path: string; hash: string; layers: number[] };
  datasets: { name: string; path: string }[];
  config: Record<string, unknown>;
  [k: string]: unknown;
}

export interface RunFiles {
  dir: string;
  manifest: RunManifest;
  generations: GenerationRow[];
}

/** Reads manifest.json and generations.jsonl of a sweep run (one clear error when absent). */
export function readRun(dir: string): RunFiles {
  const mp = join(dir, 'manifest.json');
  if (!existsSync(dir)) throw new DsteerError(`--run: ${dir} does not exist`);
  if (!existsSync(mp)) throw new DsteerError(`--run: ${mp} not found; a run directory is made by dsteer sweep (or dsteer demo)`);
  let manifest: RunManifest;
  try {
    manifest = JSON.parse(readFileSync(mp, 'utf8')) as RunManifest;
  } catch (e) {
    throw new DsteerError(`${mp}: not valid JSON (${(e as Error).message})`);
  }
  for (const f of ['models', 'vector', 'datasets', 'config'] as const) {
    if (manifest[f] === undefined) throw new DsteerError(`${mp}: field "${f}" is missing; was it written by dsteer sweep?`);
  }
  const generations = readJsonl<GenerationRow>(join(dir, 'generations.jsonl')).rows;
  if (generations.length === 0) throw new DsteerError(`${join(dir, 'generations.jsonl')}: no generations yet; run (or resume) dsteer sweep first`);
  return { dir, manifest, generations };
}

export function readScores(dir: string): { rows: ScoreRow[]; validBytes: number } {
  const c = readJsonl<ScoreRow>(join(dir, 'scores.jsonl'));
  return { rows: c.rows, validBytes: c.validBytes };
}

/**
 * The extraction beside the run's vector: `NAME.diagnostics.json` next to the vector file, and the
 * spectral analysis `spectral.json` in the run directory when present.
 */
export function readExtraction(run: RunFiles): { diagnostics: unknown; spectral: unknown } | null {
  const vp = resolve(run.manifest.vector.path);
  const diagPath = vp.replace(/\.safetensors$/, '') + '.diagnostics.json';
  const spectralPath = join(run.dir, 'spectral.json');
  const read = (p: string): unknown => (existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null);
  const diagnostics = read(diagPath);
  const spectral = read(spectralPath);
  return diagnostics === null && spectral === null ? null : { diagnostics, spectral };
}

/**
 * The run's aqi.json (written by `dsteer aqi --run DIR`), parsed, or null when the run has none.
 * Not validated beyond being a JSON object of kind `dsteer-aqi`: the report renders what it finds.
 */
export function readAqi(run: { dir: string }): unknown {
  const p = join(run.dir, 'aqi.json');
  if (!existsSync(p)) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new DsteerError(`${p}: not valid JSON (${(e as Error).message}); rerun dsteer aqi --run ${run.dir}`);
  }
  if (typeof v !== 'object' || v === null || (v as { kind?: unknown }).kind !== 'dsteer-aqi') throw new DsteerError(`${p}: not an aqi.json written by dsteer aqi (field "kind" is not "dsteer-aqi")`);
  return v;
}
