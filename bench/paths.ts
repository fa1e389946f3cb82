/** Where benchmark inputs live: ../shared beside the repo (not shipped; benches skip without it). */
import { fileURLToPath } from 'node:url';

export function sharedModel(name: string): string {
  return fileURLToPath(new URL(`../../../shared/models/${name}`, import.meta.url));
}
