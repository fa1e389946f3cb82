/**
 * Steering vector files (ARCHITECTURE.md, "Files the project reads and writes"): a safetensors
 * file with one 1-D tensor of shape [hidden] per steered site, named by its hook name
 * (`blocks.27.hook_resid_post`, or `blocks.{l}.hook_resid_mid`); `__metadata__` carries
 * `dsteer.format` = "1" and optionally `dsteer.provenance`, a JSON string describing how the
 * vectors were made. Other metadata keys are allowed and ignored.
 *
 * We write F32. On read we also accept F16 and BF16 tensors (converted exactly to f32), so a file
 * shrunk by another tool still loads; every value must be finite.
 */
import type { ByteSource } from '../engine/byte-source.js';
import { DsteerError } from '../engine/errors.js';
import type { ModelConfig } from '../models/config.js';
import { hookName, parseHookName, STEERABLE_SITES, type HookPoint } from '../models/hooks.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorF32 } from '../models/safetensors.js';

export const FORMAT_KEY = 'dsteer.format';
export const PROVENANCE_KEY = 'dsteer.provenance';
export const FORMAT_VERSION = '1';

/** The vectors of one file, keyed by hook name in forward order (layer, then mid before post). */
export interface SteeringVectors {
  vectors: Map<string, Float32Array>;
  /** Parsed `dsteer.provenance`, or null when the file has none. */
  provenance: unknown | null;
  /** The file, as named in messages. */
  file: string;
}

const ACCEPTED_NAMES = 'blocks.{l}.hook_resid_post, blocks.{l}.hook_resid_mid';

/** Parses a steerable hook name; null when `name` is not one. */
function steerablePoint(name: string): HookPoint | null {
  const p = parseHookName(name);
  return p && STEERABLE_SITES.includes(p.site) ? p : null;
}

/** Forward order: by layer, then the site's position within the block. */
function compareHooks(a: string, b: string): number {
  const pa = parseHookName(a)!;
  const pb = parseHookName(b)!;
  return pa.layer - pb.layer || STEERABLE_SITES.indexOf(pa.site) - STEERABLE_SITES.indexOf(pb.site);
}

function checkFinite(file: string, name: string, v: Float32Array): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new DsteerError(`${file}: tensor ${name} has a non-finite value (${v[i]}) at index ${i}; steering vectors must be finite`);
  }
}

function parseProvenance(file: string, text: string | undefined): unknown | null {
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DsteerError(`${file}: __metadata__ "${PROVENANCE_KEY}" is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Reads and checks a steering vector file. The caller keeps ownership of `source` (not closed).
 * @example
 * const sv = await readVectorFile(new MemorySource('v.safetensors',
 *   encodeVectorFile(new Map([['blocks.1.hook_resid_post', new Float32Array([0.5, -1])]]))));
 * assert([...sv.vectors.keys()].join() === 'blocks.1.hook_resid_post' && sv.provenance === null);
 */
export async function readVectorFile(source: ByteSource): Promise<SteeringVectors> {
  const file = source.name;
  const { tensors, metadata } = await readSafetensorsHeader(source);
  const format = metadata[FORMAT_KEY];
  if (format !== FORMAT_VERSION) {
    const found = format === undefined ? `has no "${FORMAT_KEY}"` : `has "${FORMAT_KEY}" = ${JSON.stringify(format)}`;
    throw new DsteerError(`${file}: __metadata__ ${found}; accepted: "${FORMAT_VERSION}" (is this a dsteer steering vector file?)`);
  }
  const provenance = parseProvenance(file, metadata[PROVENANCE_KEY]);
  if (tensors.size === 0) throw new DsteerError(`${file}: holds no tensors (expected one vector per steered site, named ${ACCEPTED_NAMES})`);
  for (const t of tensors.values()) {
    if (!steerablePoint(t.name)) throw new DsteerError(`${file}: tensor ${t.name} is not a steerable hook name (accepted: ${ACCEPTED_NAMES})`);
    if (t.shape.length !== 1) throw new DsteerError(`${file}: tensor ${t.name} has shape [${t.shape.join(', ')}]; a steering vector is 1-D, [hidden]`);
  }
  const vectors = new Map<string, Float32Array>();
  for (const name of [...tensors.keys()].sort(compareHooks)) {
    const v = await readTensorF32(tensors.get(name)!);
    checkFinite(file, name, v);
    vectors.set(name, v);
  }
  return { vectors, provenance, file };
}

/**
 * Encodes steering vectors as a vector file (F32, tensors in forward order). `provenance`, when
 * given, is stored as JSON under `dsteer.provenance`.
 * @example
 * const bytes = encodeVectorFile(new Map([['blocks.0.hook_resid_post', new Float32Array(64)]]), { method: 'mean-diff' });
 * const back = await readVectorFile(new MemorySource('v.safetensors', bytes));
 * assert(JSON.stringify(back.provenance) === '{"method":"mean-diff"}');
 */
export function encodeVectorFile(vectors: Map<string, Float32Array>, provenance?: unknown): Uint8Array {
  for (const [name, v] of vectors) {
    if (!steerablePoint(name)) throw new DsteerError(`vector file writer: ${name} is not a steerable hook name (accepted: ${ACCEPTED_NAMES})`);
    checkFinite('vector file writer', name, v);
  }
  const metadata: Record<string, string> = { [FORMAT_KEY]: FORMAT_VERSION };
  if (provenance !== undefined) metadata[PROVENANCE_KEY] = JSON.stringify(provenance);
  const tensors = [...vectors.keys()].sort(compareHooks).map((name) => {
    const data = vectors.get(name)!;
    return { name, dtype: 'F32' as const, shape: [data.length], data };
  });
  return encodeSafetensors(tensors, metadata);
}

/**
 * Checks vectors against a model: each has `dim` values and names a block the model has.
 * @example
 * validateVectors(sv, model.cfg); // fine: 64 values per vector, blocks 0..2 exist
 * let err: unknown;
 * try { validateVectors(sv, { dim: 32, nLayers: 3 }); } catch (e) { err = e; }
 * assert(err instanceof DsteerError && err.message.includes('steer.safetensors')); // names the file
 */
export function validateVectors(sv: SteeringVectors, cfg: Pick<ModelConfig, 'dim' | 'nLayers'>): void {
  for (const [name, v] of sv.vectors) {
    const p = parseHookName(name)!;
    if (p.layer >= cfg.nLayers) {
      throw new DsteerError(`${sv.file}: tensor ${name} names block ${p.layer}, but the model has blocks 0..${cfg.nLayers - 1}`);
    }
    if (v.length !== cfg.dim) {
      throw new DsteerError(`${sv.file}: tensor ${name} has ${v.length} values but the model's hidden size is ${cfg.dim}`);
    }
  }
}

/**
 * The hook names to steer. `null` selects every vector in the file; a list of layers selects each
 * layer's `blocks.{l}.hook_resid_post` vector, in the order given (the order `--lambda` values
 * follow).
 * @example
 * assert(selectLayers(sv, null).length === 3); // every hook name in the file, forward order
 * assert(selectLayers(sv, [2, 0]).join() === 'blocks.2.hook_resid_post,blocks.0.hook_resid_post');
 */
export function selectLayers(sv: SteeringVectors, layers: number[] | null): string[] {
  if (layers === null) return [...sv.vectors.keys()];
  const seen = new Set<number>();
  return layers.map((l) => {
    if (!Number.isSafeInteger(l) || l < 0) throw new DsteerError(`--layers: ${l} is not a layer number (expected an integer >= 0)`);
    if (seen.has(l)) throw new DsteerError(`--layers: layer ${l} is listed twice`);
    seen.add(l);
    const name = hookName({ site: 'resid_post', layer: l });
    if (!sv.vectors.has(name)) {
      const have = [...sv.vectors.keys()].map((n) => parseHookName(n)!).filter((p) => p.site === 'resid_post').map((p) => p.layer);
      const what = have.length > 0 ? `it has layers ${have.join(', ')}` : `it has no hook_resid_post vectors, only ${[...sv.vectors.keys()].join(', ')}`;
      throw new DsteerError(`${sv.file}: no vector for layer ${l} (${name}); ${what}`);
    }
    return name;
  });
}
