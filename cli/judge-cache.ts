/**
 * The on-disk JudgeCache of a run directory: `judge-cache.jsonl`, one `{ "k": key, "v": value }`
 * row per paid answer (evaluation steps, judgments), appended the moment the answer arrives, so
 * a killed `dsteer eval` keeps every judgment it paid for even when its scores.jsonl rows were not
 * written yet. Append-only like every run file (cli/jsonl.ts: a torn last line is dropped); the
 * whole file is read into memory on open (a judgment is a few hundred bytes).
 */
import type { JudgeCache } from '../eval/judge/cache.js';
import { openAppender, readJsonl, type Appender } from './jsonl.js';

export const JUDGE_CACHE_FILE = 'judge-cache.jsonl';

export class FileJudgeCache implements JudgeCache {
  private readonly map = new Map<string, unknown>();
  private readonly out: Appender<{ k: string; v: unknown }>;

  /** Opens (or creates) the cache file at `path`. */
  constructor(readonly path: string) {
    const prior = readJsonl<{ k: string; v: unknown }>(path);
    for (const r of prior.rows) if (typeof r.k === 'string' && !this.map.has(r.k)) this.map.set(r.k, r.v);
    this.out = openAppender(path, prior.validBytes);
  }

  get(key: string): unknown {
    return this.map.get(key);
  }

  put(key: string, value: unknown): void {
    if (this.map.has(key)) return;
    this.map.set(key, value);
    this.out.append({ k: key, v: value });
  }

  get size(): number {
    return this.map.size;
  }

  close(): void {
    this.out.close();
  }
}
