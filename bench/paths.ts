/** Where benchmark inputs live: ../shared beside the repo (not shipped; benches skip without it). */
import { fileURLToPath } from 'node:url';

export function sharedModel(name: string): string {
  return fileURLToPath(new URL(`../../../shared/models/${name}`, import.meta.url));
}

/** A file or folder of the package's shipped assets (assets/micro, assets/data). */
export function assetPath(rel: string): string {
  return fileURLToPath(new URL(`../../assets/${rel}`, import.meta.url));
}
