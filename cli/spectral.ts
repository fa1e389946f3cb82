/**
 * `dsteer spectral`: the singular-spectrum analysis of DSTEER-SPEC.md section 2 step 7
 * (steering/spectral.ts) on the per-sample differences `dsteer extract` stored beside a vector
 * (NAME.samples.safetensors next to NAME.safetensors, or --samples).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { FileSource } from '../engine/byte-source-node.js';
import { DsteerError } from '../engine/errors.js';
import { spectralAnalysis, type SpectralReport } from '../steering/spectral.js';
import { readVectorFile } from '../steering/vector.js';
import { parseChoice } from './args.js';
import { note, printJson } from './common.js';
import { progress } from './progress.js';

export interface SpectralFlags {
  vector: string;
  samples?: string;
  format: string;
}

/** NAME.samples.safetensors beside NAME.safetensors (the name cli/extract.ts writes). */
export function samplesPathFor(vector: string): string {
  return `${vector.replace(/\.safetensors$/, '')}.samples.safetensors`;
}

const fmt = (x: number | null, digits = 4) => (x === null ? '-' : x.toFixed(digits));

function table(r: SpectralReport): string {
  const head = ['layer', 's2/s1', 'entropy', 'eps-rank', 'align', 'top5 (s_i/s_1)', 'explained var (centred, first 3)'];
  const rows = r.layers.map((l) => [
    String(l.layer),
    fmt(l.sigma2_over_sigma1),
    fmt(l.spectral_entropy, 3),
    String(l.epsilon_rank),
    fmt(l.alignment),
    l.top5.map((x) => x.toFixed(3)).join(' '),
    l.explained_variance.slice(0, 3).map((x) => x.toFixed(3)).join(' '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `samples: ${r.samples} per layer (cap ${r.cap}); uncentred spectrum; align = |cos(v1, ${r.alignment_with === 'vector' ? "the file's vector" : 'the sample mean (pc-method vector)'})|; entropy in nats; eps-rank at 0.01 s_1`,
    line(head),
    ...rows.map(line),
  ].join('\n');
}

export async function runSpectral(f: SpectralFlags): Promise<void> {
  const format = parseChoice('--format', f.format, ['text', 'json'] as const);
  const r = await analyse(f);
  if (format === 'json') printJson(r);
  else process.stdout.write(table(r) + '\n');
}

/** The demo's step: the analysis of VECTOR's samples, written as JSON to `out`, the table printed. */
export async function runSpectralToFile(vector: string, out: string): Promise<void> {
  const r = await analyse({ vector, format: 'json' });
  writeFileSync(out, JSON.stringify(r, null, 1) + '\n');
  process.stdout.write(table(r) + '\n');
}

async function analyse(f: SpectralFlags): Promise<SpectralReport> {
  const samplesPath = f.samples ?? samplesPathFor(f.vector);
  if (!existsSync(f.vector)) throw new DsteerError(`--vector ${f.vector}: no such file`, 2);
  if (!existsSync(samplesPath)) {
    throw new DsteerError(
      f.samples
        ? `--samples ${samplesPath}: no such file`
        : `${samplesPath}: no samples file beside --vector ${f.vector}; re-run dsteer extract (it writes NAME.samples.safetensors; --spectral-samples > 0) or pass --samples FILE`,
    );
  }
  const vsrc = await FileSource.open(f.vector);
  const ssrc = await FileSource.open(samplesPath);
  try {
    const sv = await readVectorFile(vsrc);
    let bar: ReturnType<typeof progress> | null = null;
    const r = await spectralAnalysis(ssrc, sv, {
      onLayer: (done, total) => {
        bar ??= progress('spectral', total);
        bar.update(done);
      },
    });
    (bar as ReturnType<typeof progress> | null)?.done();
    note(`alignment compared with ${r.alignment_with === 'vector' ? `the vectors of ${f.vector}` : 'each layer\'s sample mean (the vector file was made with --method pc)'}`);
    return r;
  } finally {
    await vsrc.close();
    await ssrc.close();
  }
}

export function registerSpectral(program: Command): void {
  program
    .command('spectral')
    .description('singular-spectrum analysis of the per-sample differences stored by extract (uncentred: s2/s1, spectral entropy, top-5, epsilon-rank, alignment; centred: explained variance)')
    .requiredOption('--vector <file>', 'vector file written by dsteer extract (NAME.safetensors)')
    .option('--samples <file>', 'per-sample differences (default: NAME.samples.safetensors beside --vector)')
    .addOption(new Option('--format <format>', 'a table, or one JSON object').choices(['text', 'json']).default('text'))
    .action(async (opts) => runSpectral(opts));
}
