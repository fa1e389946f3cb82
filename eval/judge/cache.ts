/**
 * The judge's cache: every paid answer (a criterion's evaluation steps, one judgment) is stored
 * under a key that hashes everything the answer depends on, so a rerun or a resumed run never asks
 * the endpoint twice. eval/ may not touch the file system, so this file holds the interface, the
 * key and an in-memory store; the on-disk store of a run directory is cli/judge-cache.ts.
 */

/** A key -> JSON value store. `put` of an existing key is allowed and keeps the first value. */
export interface JudgeCache {
  get(key: string): unknown;
  put(key: string, value: unknown): void;
  /** Entries held (for notes such as "412 cached judgments"). */
  readonly size: number;
}

/**
 * A JudgeCache held in memory (tests, one-off judging).
 * @example
 * const c = new MemoryJudgeCache();
 * c.put('k', { score: 0.5 }); c.put('k', { score: 0.9 });
 * assert(c.get('k').score === 0.5 && c.get('other') === undefined && c.size === 1);
 */
export class MemoryJudgeCache implements JudgeCache {
  private readonly map = new Map<string, unknown>();
  get(key: string): unknown {
    return this.map.get(key);
  }
  put(key: string, value: unknown): void {
    if (!this.map.has(key)) this.map.set(key, value);
  }
  get size(): number {
    return this.map.size;
  }
}

/** JSON with object keys sorted, so equal values always hash alike. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The cache key of a request: hex sha256 (Web Crypto) of the canonical JSON of `parts` (object
 * keys sorted), e.g. { kind, criterion, version, model, messages }.
 * @example
 * const a = await cacheKey({ model: 'm', criterion: 'quality', version: 1 });
 * const b = await cacheKey({ version: 1, criterion: 'quality', model: 'm' });
 * assert(a === b && /^[0-9a-f]{64}$/.test(a) && a !== await cacheKey({ model: 'm2', criterion: 'quality', version: 1 }));
 */
export async function cacheKey(parts: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonical(parts));
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
