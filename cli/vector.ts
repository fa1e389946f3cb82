/**
 * `dsteer vector export|import`: our vector files to and from llama.cpp control vectors (GGUF,
 * steering/gguf.ts). `direction.{l}` is our `blocks.{l}.hook_resid_post`, the same block output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import { FileSource } from '../engine/byte-source-node.js';
import { controlVectorToVectors, encodeControlVector, readControlVector } from '../steering/gguf.js';
import { encodeVectorFile, readVectorFile } from '../steering/vector.js';
import { parseNumber } from './args.js';
import { note } from './common.js';

export interface VectorExportFlags {
  in: string;
  gguf: string;
  scale: string;
  skipBlock0?: boolean;
  modelHint: string;
}

export interface VectorImportFlags {
  gguf: string;
  out: string;
}

function write(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

export async function runVectorExport(f: VectorExportFlags): Promise<void> {
  const scale = parseNumber('--scale', f.scale);
  const src = await FileSource.open(f.in);
  try {
    const sv = await readVectorFile(src);
    const { bytes, skipped } = encodeControlVector(sv, { scale, skipBlock0: f.skipBlock0 ?? false, modelHint: f.modelHint });
    write(f.gguf, bytes);
    if (skipped.length) note(`left out ${skipped.join(', ')} (llama.cpp cannot load direction.0)`);
    note(`wrote ${f.gguf}: ${sv.vectors.size - skipped.length} directions, scale ${scale} folded in; use with llama.cpp --control-vector ${basename(f.gguf)}`);
  } finally {
    await src.close();
  }
}

export async function runVectorImport(f: VectorImportFlags): Promise<void> {
  const src = await FileSource.open(f.gguf);
  try {
    const cv = await readControlVector(src);
    const vectors = controlVectorToVectors(cv);
    const provenance = {
      imported_from: { format: 'gguf control vector', file: basename(f.gguf), model_hint: cv.modelHint, layer_count: cv.layerCount },
      convention: 'direction.{l} -> blocks.{l}.hook_resid_post (the output of 0-based block l); values as stored, any scale folded in at export kept',
    };
    write(f.out, encodeVectorFile(vectors, provenance));
    note(`wrote ${f.out}: ${vectors.size} vectors of dim ${cv.dim} (${[...vectors.keys()].join(', ')})`);
  } finally {
    await src.close();
  }
}

export function registerVector(program: Command): void {
  const vector = program.command('vector').description('convert steering vector files: llama.cpp control vectors (GGUF) out and in');
  vector
    .command('export')
    .description('write a llama.cpp control vector (GGUF, direction.{l} = our blocks.{l}.hook_resid_post; use with llama.cpp --control-vector)')
    .requiredOption('--in <file>', 'our vector file (safetensors; hook_resid_post vectors only)')
    .requiredOption('--gguf <file>', 'GGUF file to write')
    .option('--scale <s>', 'multiply every value by this (folded into the file)', '1')
    .option('--skip-block0', 'leave out a block-0 vector (llama.cpp rejects direction.0) instead of refusing', false)
    .option('--model-hint <name>', 'controlvector.model_hint (informational; llama.cpp does not check it)', 'llama')
    .action(async (opts) => runVectorExport(opts));
  vector
    .command('import')
    .description('read a llama.cpp / repeng control vector (GGUF) into our vector file format')
    .requiredOption('--gguf <file>', 'control vector to read (general.architecture = controlvector, F32 direction.{l} tensors)')
    .requiredOption('--out <file>', 'vector file to write (safetensors)')
    .action(async (opts) => runVectorImport(opts));
  for (const c of vector.commands) c.exitOverride().configureOutput({ outputError: (str, w) => w(`dsteer vector ${c.name()}: ${str.trim()}\n`) });
}
