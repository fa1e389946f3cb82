/** `dsteer train --preset micro|nano --out DIR --seed S`: rebuilds data, tokenizer and both models. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DsteerError } from '../engine/errors.js';
import { buildWorld, PRESETS } from '../train/pipeline.js';
import type { StepInfo } from '../train/sft.js';
import { parseChoice, parseIntIn } from './args.js';
import { note, printJson } from './common.js';

export interface TrainFlags {
  preset: string;
  out: string;
  seed: string;
  format: string;
}

/** One progress line per phase: a bar, step, loss, tokens/s; redrawn in place on a terminal. */
function progressBar(): (phase: string, s: StepInfo) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return (phase, s) => {
    const now = performance.now();
    const done = s.step === s.steps;
    if (!done && now - last < (tty ? 200 : 10_000)) return;
    last = now;
    const width = 30;
    const filled = Math.round((width * s.step) / s.steps);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const tps = s.seconds > 0 ? Math.round(s.tokens / s.seconds) : 0;
    const line = `${phase.padEnd(3)} [${bar}] ${s.step}/${s.steps} loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(1)} ${tps} tok/s ${s.seconds.toFixed(0)}s`;
    process.stderr.write(tty ? `\r${line}${done ? '\n' : ''}` : `${line}\n`);
  };
}

export async function runTrain(f: TrainFlags): Promise<void> {
  const preset = PRESETS[parseChoice('--preset', f.preset, ['micro', 'nano'] as const)];
  const seed = parseIntIn('--seed', f.seed, 0, 2 ** 31 - 1);
  const format = parseChoice('--format', f.format, ['text', 'json'] as const);
  if (f.out.trim() === '') throw new DsteerError('--out: give a folder to write the build into', 2);
  const bar = progressBar();
  const t0 = performance.now();
  const report = await buildWorld(preset, seed, {
    async write(path, data) {
      const p = join(f.out, path);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, data);
    },
    progress: (phase, s) => bar(phase, s),
    log: note,
  });
  note(`built ${preset.name} (seed ${seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${f.out}`);
  if (format === 'json') printJson(report);
  else process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}
