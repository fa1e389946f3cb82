/** Shared test helpers: where ../shared is, and skipping visibly when it is absent. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file under the repo root. */
export function repoPath(rel: string): string {
  return fileURLToPath(new URL(`../${rel}`, import.meta.url));
}

/** Absolute path under ../shared (beside the repo). */
export function sharedPath(rel: string): string {
  return fileURLToPath(new URL(`../../shared/${rel}`, import.meta.url));
}

/** True when ../shared/rel exists; otherwise warns once, so a skip is never silent. */
export function haveShared(rel: string): boolean {
  const p = sharedPath(rel);
  if (existsSync(p)) return true;
  console.warn(`SKIPPED: ${p} is absent (tests that need ../shared are skipped, not passed)`);
  return false;
}

export const FIXTURES = ['tiny-llama3-bf16-sharded', 'tiny-qwen2-f16-tied', 'tiny-mistral-f32'] as const;
