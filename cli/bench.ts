/** `dsteer bench`: the benchmark suites (bench/), printed as a table or one JSON line per result. */
import { DsteerError } from '../engine/errors.js';
import type { GpuKernels } from '../kernels/gpu-backend.js';
import { benchDecode, benchLinear, benchLoad, haveDir } from '../bench/cpu.js';
import { BENCH_CONFIGS, benchE2e, benchSteering } from '../bench/e2e.js';
import { benchExtract, benchSweep } from '../bench/experiment.js';
import { benchKernels } from '../bench/gpu-kernels.js';
import { benchTrain } from './bench-train.js';
import { sharedModel } from '../bench/paths.js';
import { appendJsonLines, jsonLine, machine, printTable, type BenchResult } from '../bench/report.js';
import { parseChoice, parseIntIn } from './args.js';
import { chooseBackend, note } from './common.js';

export interface BenchFlags {
  suite: string;
  device?: string;
  format: string;
  config?: string;
  steps: string;
  reps: string;
  prompts: string;
  out?: string;
  model?: string;
  weightDtype: string;
}

const SUITES = ['kernels', 'e2e', 'steering', 'cpu', 'experiment', 'train', 'all'] as const;

export async function runBench(f: BenchFlags): Promise<void> {
  const suite = parseChoice('--suite', f.suite, SUITES);
  const format = parseChoice('--format', f.format, ['text', 'json'] as const);
  const steps = parseIntIn('--steps', f.steps, 1, 100000);
  const reps = parseIntIn('--reps', f.reps, 1, 1000);
  const prompts = parseIntIn('--prompts', f.prompts, 1, 1024);
  note(`machine: ${machine()}`);
  const rows: BenchResult[] = [];
  const emit = (r: BenchResult[]): void => {
    rows.push(...r);
    if (format === 'json') for (const x of r) process.stdout.write(JSON.stringify(jsonLine(x)) + '\n');
  };
  if (suite === 'cpu' || suite === 'all') {
    emit(await benchLinear(1500));
    const dir = f.model ?? sharedModel('stories260k');
    if (haveDir(dir)) emit(await benchDecode(dir, 256));
    else note(`bench: decode skipped: ${dir} has no config.json (pass --model DIR)`);
    emit(await benchLoad(400));
  }
  if (suite === 'kernels' || suite === 'all') {
    // the kernel suite measures the WebGPU kernels, so it accepts a software adapter by default
    const b = await chooseBackend(f.device ?? 'webgpu', f.weightDtype);
    note(b.note);
    if (b.kernels.kind !== 'webgpu') throw new DsteerError('--suite kernels measures the WebGPU kernels; use --device webgpu (or auto with a hardware GPU)', 2);
    const g = (b.kernels as unknown as GpuKernels).gpu;
    emit(await benchKernels(g, b.kernels.description, !g.handle.adapterInfo.isSoftware, reps));
  }
  for (const s of ['e2e', 'steering'] as const) {
    if (suite !== s && suite !== 'all') continue;
    const b = await chooseBackend(f.device ?? 'auto', f.weightDtype);
    note(b.note);
    const soft = b.kernels.kind === 'cpu' || (b.kernels as unknown as GpuKernels).gpu.handle.adapterInfo.isSoftware;
    const cfg = parseChoice('--config', f.config ?? (soft ? 'small' : '8b'), Object.keys(BENCH_CONFIGS));
    if (s === 'e2e') emit(await benchE2e(b.kernels, cfg, steps, soft ? 32 : 512));
    else emit(await benchSteering(b.kernels, cfg, steps, prompts));
  }
  if (suite === 'experiment' || suite === 'all') {
    const b = await chooseBackend(f.device ?? 'auto', f.weightDtype);
    note(b.note);
    emit(await benchSweep(b.kernels, 8, Math.min(steps, 64)));
    emit(await benchExtract(b.kernels, 32));
  }
  // the trainer (micro model, SFT and DPO steps); not part of 'all' (a minute of training)
  if (suite === 'train') emit(await benchTrain(Math.min(steps, 10)));
  if (format === 'text') printTable(rows);
  if (f.out) {
    appendJsonLines(f.out, rows, { suite });
    note(`appended ${rows.length} results to ${f.out}`);
  }
}
