/**
 * `dsteer serve`: the OpenAI-compatible server (server/) over models loaded at startup, with
 * steering vectors registered by name. Runs until SIGINT/SIGTERM, then drains in-flight requests.
 */
import { basename, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { FileSource } from '../engine/byte-source-node.js';
import { DsteerError } from '../engine/errors.js';
import { startServer, type ServedModel } from '../server/index.js';
import { readVectorFile, type SteeringVectors } from '../steering/vector.js';
import { parseIntIn } from './args.js';
import { chooseBackend, note, openModel } from './common.js';

export interface ServeFlags {
  model: string[];
  vector: string[];
  host: string;
  port: string;
  apiKey?: string;
  maxBatch: string;
  maxQueue: string;
  maxTokens: string;
  context: string;
  maxBodyBytes: string;
  device: string;
  weightDtype: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `NAME=PATH` -> [NAME, PATH]; a plain PATH is named by its last folder. */
function named(flag: string, spec: string, byFolder: boolean): [string, string] {
  const eq = spec.indexOf('=');
  if (eq > 0) return [spec.slice(0, eq), spec.slice(eq + 1)];
  if (!byFolder) throw new DsteerError(`${flag}: "${spec}" must be NAME=FILE (requests name the vector, never its path)`, 2);
  return [basename(resolve(spec)), spec];
}

export async function runServe(f: ServeFlags): Promise<void> {
  if (f.model.length === 0) throw new DsteerError('--model NAME=DIR is required (repeat it to host several models)', 2);
  const port = parseIntIn('--port', f.port, 0, 65535);
  const maxBatch = parseIntIn('--max-batch', f.maxBatch, 1, 1024);
  const maxQueue = parseIntIn('--max-queue', f.maxQueue, 0);
  const maxTokens = parseIntIn('--max-tokens', f.maxTokens, 1);
  const context = parseIntIn('--context', f.context, 2);
  const maxBodyBytes = parseIntIn('--max-body-bytes', f.maxBodyBytes, 1024);
  const apiKey = f.apiKey ?? process.env['DSTEER_API_KEY'] ?? null;
  const vectors = new Map<string, SteeringVectors>();
  for (const spec of f.vector) {
    const [name, file] = named('--vector', spec, false);
    if (vectors.has(name)) throw new DsteerError(`--vector: the name "${name}" is given twice`, 2);
    const src = await FileSource.open(file);
    try {
      vectors.set(name, await readVectorFile(src));
    } finally {
      await src.close();
    }
  }
  const backend = await chooseBackend(f.device, f.weightDtype);
  note(backend.note);
  const models: ServedModel[] = [];
  for (const spec of f.model) {
    const [name, dir] = named('--model', spec, true);
    const { model, tokenizer } = await openModel(dir, backend.kernels);
    models.push({ name, model, tokenizer });
    note(`model ${name}: ${dir} (${model.cfg.nLayers} layers, dim ${model.cfg.dim}, context ${model.cfg.maxContext})`);
  }
  const srv = await startServer({ models, vectors, host: f.host, port, apiKey, maxBatch, maxQueue, maxTokens, context, maxBodyBytes, log: note });
  if (vectors.size > 0) note(`steering vectors: ${[...vectors.keys()].join(', ')}`);
  if (f.host !== '127.0.0.1' && f.host !== 'localhost' && f.host !== '::1' && !apiKey) note(`warning: listening on ${f.host} without --api-key`);
  note(`listening on ${srv.url} (OpenAI-compatible: ${srv.url}/v1)`);
  await new Promise<void>((done) => {
    let signals = 0;
    const stop = (sig: string): void => {
      signals++;
      if (signals > 1) {
        note(`${sig} again: exiting without waiting`);
        process.exit(130);
      }
      note(`${sig}: draining ${srv.inFlight()} in-flight request(s); ${sig} again exits at once`);
      void srv.close().then(() => {
        note('drained; bye');
        done();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions, /v1/models, /health) with continuous batching and per-request steering by registered vector name')
    .option('--model <spec>', 'NAME=DIR or DIR (named by its folder); repeat for several models', collect, [] as string[])
    .option('--vector <spec>', 'NAME=FILE: a steering vector file requests may name in "steering": {"vector": NAME}; repeatable', collect, [] as string[])
    .option('--host <addr>', 'address to bind (loopback only by default)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', '8000')
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" on /v1/* (default: $DSTEER_API_KEY, else none)')
    .option('--max-batch <n>', 'rows decoding at once per model (KV cache slots)', '16')
    .option('--max-queue <n>', 'requests waiting for a row per model; beyond it requests get 429', '64')
    .option('--max-tokens <n>', 'most tokens one request may generate', '1024')
    .option('--context <n>', 'longest prompt + completion per row (capped at the model\'s context)', '4096')
    .option('--max-body-bytes <n>', 'largest request body; larger ones get 413', String(1 << 20))
    .addOption(new Option('--device <device>', 'backend: auto = a hardware GPU when one exists, else the CPU').choices(['auto', 'cpu', 'webgpu']).default('auto'))
    .addOption(new Option('--weight-dtype <dtype>', 'GPU weight storage').choices(['f32', 'f16']).default('f32'))
    .action(async (opts) => runServe(opts));
}
