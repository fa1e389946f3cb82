/**
 * Content hashes for manifests (sha256, hex), streamed from disk so multi-GB weights never sit
 * in memory. A model folder's hash covers what decides its outputs: config.json,
 * generation_config.json, the tokenizer files and every *.safetensors (plus the shard index):
 * sha256 of the lines `NAME\tSHA256(FILE)\n` in name order, so renaming the folder keeps the hash
 * and changing any one of those files changes it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DsteerError } from '../engine/errors.js';

/** sha256 of a file's bytes. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  } catch (e) {
    throw new DsteerError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return h.digest('hex');
}

/** sha256 of a string's UTF-8 bytes. */
export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const MODEL_FILES = new Set(['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'model.safetensors.index.json']);

/** The files of a model folder that its hash covers, sorted. */
export async function modelFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new DsteerError(`${dir}: cannot list the model folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const files = names.filter((n) => MODEL_FILES.has(n) || n.endsWith('.safetensors')).sort();
  if (!files.some((n) => n.endsWith('.safetensors'))) throw new DsteerError(`${dir}: no *.safetensors weights to hash`);
  return files;
}

/** The content hash of a model folder (see the file header). */
export async function hashModelDir(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const f of await modelFiles(dir)) lines.push(`${f}\t${await sha256File(join(dir, f))}\n`);
  return sha256Text(lines.join(''));
}
