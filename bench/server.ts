/**
 * Server benchmark (issue 7 part 5): `dsteer serve` spawned as its own process (so its memory is
 * its own), driven over HTTP by 1, 8 and 32 concurrent clients, against the engine's sequential
 * baseline (generate() one request at a time, no HTTP). Every request generates exactly
 * `maxTokens` tokens (ignore_eos, greedy) from a different chat prompt, and every server output is
 * checked against the baseline's text for the same prompt, so a fast wrong server fails here.
 * Reports completion tokens/s, request latency p50/p95 and the server's peak RSS (VmHWM).
 *
 *   npm run build && node dist/bench/server.js [--model DIR] [--requests 64] [--max-tokens 64] [--max-batch 32]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NodeDir } from '../engine/byte-source-node.js';
import { cpuBackend } from '../kernels/backend.js';
import { generate } from '../models/generate.js';
import { loadModel } from '../models/load.js';

export interface ServerBenchRow {
  mode: string;
  clients: number;
  requests: number;
  tokens: number;
  seconds: number;
  tokPerS: number;
  p50Ms: number;
  p95Ms: number;
  serverPeakRssMiB: number | null;
}

const TOPICS = ['a bike', 'rain', 'bread', 'a garden', 'the sea', 'a lock', 'rice', 'a story', 'the sky', 'a poem', 'music', 'sleep', 'a car', 'tea', 'the moon', 'a test'];

function prompts(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `Tell me about ${TOPICS[i % TOPICS.length]} (${Math.floor(i / TOPICS.length)}).`);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

function peakRssMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function startServe(model: string, maxBatch: number): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const bin = fileURLToPath(new URL('../../bin/dsteer.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', '--model', `micro=${model}`, '--port', '0', '--device', 'cpu', '--max-batch', String(maxBatch), '--max-queue', '256'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const t0 = Date.now();
  while (!/listening on (http:\S+)/.test(err)) {
    if (Date.now() - t0 > 60_000 || child.exitCode !== null) throw new Error(`dsteer serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: /listening on (http:\S+)/.exec(err)![1]!,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Runs the benchmark; one row for the sequential baseline and one per client count.
 * @example
 * const rows = await benchServer({ model: 'assets/micro/dpo', requests: 8, maxTokens: 8, clients: [1, 8] });
 * assert(rows.length === 3 && rows.every((r) => r.tokens === 64));
 */
export async function benchServer(o: { model: string; requests: number; maxTokens: number; clients: number[]; maxBatch?: number }): Promise<ServerBenchRow[]> {
  const ps = prompts(o.requests);
  const { model, tokenizer } = await loadModel(await NodeDir.open(o.model), cpuBackend());
  const rows: ServerBenchRow[] = [];
  // the sequential baseline, which is also the oracle for every server output
  const want: string[] = [];
  const lat: number[] = [];
  const t0 = performance.now();
  for (const p of ps) {
    const s = performance.now();
    const promptIds = tokenizer.encodeChat([{ role: 'user', content: p }], { addGenerationPrompt: true });
    const [r] = await generate(model, [{ promptIds, maxNewTokens: o.maxTokens, stopIds: [] }]);
    want.push(tokenizer.decode(r!.ids));
    lat.push(performance.now() - s);
  }
  const seqS = (performance.now() - t0) / 1000;
  const total = o.requests * o.maxTokens;
  rows.push({ mode: 'sequential (engine, no HTTP)', clients: 1, requests: o.requests, tokens: total, seconds: seqS, tokPerS: total / seqS, p50Ms: quantile(lat, 0.5), p95Ms: quantile(lat, 0.95), serverPeakRssMiB: null });

  const srv = await startServe(o.model, o.maxBatch ?? 32);
  try {
    for (const c of o.clients) {
      const lats: number[] = [];
      let next = 0;
      let tokens = 0;
      const t1 = performance.now();
      const client = async (): Promise<void> => {
        while (next < ps.length) {
          const i = next++;
          const s = performance.now();
          const res = await fetch(`${srv.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'micro', messages: [{ role: 'user', content: ps[i] }], temperature: 0, max_tokens: o.maxTokens, ignore_eos: true }),
          });
          const j = (await res.json()) as { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
          lats.push(performance.now() - s);
          if (j.choices?.[0]?.message.content !== want[i]) throw new Error(`request ${i} with ${c} clients: the server's text differs from the sequential engine's`);
          tokens += j.usage.completion_tokens;
        }
      };
      await Promise.all(Array.from({ length: c }, client));
      const secs = (performance.now() - t1) / 1000;
      rows.push({ mode: 'server (HTTP)', clients: c, requests: o.requests, tokens, seconds: secs, tokPerS: tokens / secs, p50Ms: quantile(lats, 0.5), p95Ms: quantile(lats, 0.95), serverPeakRssMiB: peakRssMiB(srv.pid) });
    }
  } finally {
    await srv.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const arg = (name: string, dflt: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : dflt;
  };
  const model = arg('model', fileURLToPath(new URL('../../assets/micro/dpo', import.meta.url)));
  const rows = await benchServer({ model, requests: Number(arg('requests', '64')), maxTokens: Number(arg('max-tokens', '64')), clients: [1, 8, 32], maxBatch: Number(arg('max-batch', '32')) });
  process.stderr.write(`model ${model}, cpu backend, greedy, fixed-length outputs, node ${process.version}\n`);
  process.stdout.write('mode                          clients  tokens  seconds   tok/s   p50 ms   p95 ms  server peak RSS MiB\n');
  for (const r of rows) {
    process.stdout.write(
      `${r.mode.padEnd(30)}${String(r.clients).padStart(7)}${String(r.tokens).padStart(8)}${r.seconds.toFixed(2).padStart(9)}${r.tokPerS.toFixed(0).padStart(8)}${r.p50Ms.toFixed(0).padStart(9)}${r.p95Ms.toFixed(0).padStart(9)}${(r.serverPeakRssMiB === null ? '-' : r.serverPeakRssMiB.toFixed(0)).padStart(21)}\n`,
    );
  }
  process.stdout.write(JSON.stringify(rows) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
