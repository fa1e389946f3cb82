/** Child process of the load benchmark: loads one model folder and reports peak RSS (VmHWM). */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { NodeDir } from '../engine/byte-source-node.js';
import { cpuBackend } from '../kernels/backend.js';
import { loadModel } from '../models/load.js';
import { readVmHwm } from './cpu.js';

const dir = process.argv[2]!;
const baseline = readVmHwm();
const t0 = performance.now();
const { weightBytes } = await loadModel(await NodeDir.open(dir), cpuBackend());
const ms = performance.now() - t0;
const peak = readVmHwm();
process.stdout.write(JSON.stringify({ baseline, peak, weightBytes, ms, fileBytes: statSync(join(dir, 'model.safetensors')).size }) + '\n');
