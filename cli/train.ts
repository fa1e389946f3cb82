/** `dsteer train --preset micro|nano --out DIR --seed S`: rebuilds data, tokenizer and both models. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { NodeDir } from '../engine/byte-source-node.js';
import { evaluatePair, type PairEvaluation } from '../eval/micro-pair.js';
import { cpuBackend } from '../kernels/backend.js';
import { loadModel } from '../models/load.js';
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
  resume?: boolean;
  checkpointEvery: string;
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
    checkpointEvery: parseIntIn('--checkpoint-every', f.checkpointEvery, 1),
    ...(f.resume ? { read: async (path: string) => readFile(join(f.out, path)).then((b) => new Uint8Array(b), () => null) } : {}),
  });
  note(`built ${preset.name} (seed ${seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${f.out}`);
  let evaluation: PairEvaluation | undefined;
  if (preset.evaluate) {
    note('evaluating the pair on held-out prompts (eval/micro-pair.ts)');
    const k = cpuBackend();
    const load = async (stage: string) => loadModel(await NodeDir.open(join(f.out, stage)), k);
    const text = (name: string): Promise<string> => readFile(join(f.out, 'data', name), 'utf8');
    evaluation = await evaluatePair(await load('sft'), await load('dpo'), {
      hhTest: await text('micro-hh.test.jsonl'), harmfulqa: await text('micro-harmfulqa.json'), advbench: await text('micro-advbench.csv'),
    });
    await writeFile(join(f.out, 'evaluation.json'), JSON.stringify(evaluation, null, 2) + '\n');
  }
  const out = { ...report, ...(evaluation ? { evaluation } : {}) };
  if (format === 'json') printJson(out);
  else process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}
