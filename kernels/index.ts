/**
 * The one table of kernels. Each entry names the kernel (= file stem, test stem and bench stem) and
 * its CPU twin; the WebGPU backend adds the launcher and WGSL versions to the same entries. A test
 * (tests/kernels/registry.test.ts) fails when a kernel lacks its twin or its test.
 */
import { argmaxRef } from './argmax.ref.js';
import { attentionRef } from './attention.ref.js';
import { gatherRowsRef } from './backend.js';
import { embeddingRef } from './embedding.ref.js';
import { kvAppendRef } from './kv-append.ref.js';
import { linearRef } from './linear.ref.js';
import { residualSteerRef } from './residual-add.ref.js';
import { rmsnormRef } from './rmsnorm.ref.js';
import { ropeRef } from './rope.ref.js';
import { sampleRef } from './sample.ref.js';
import { logSoftmaxRef } from './softmax.ref.js';
import { swigluRef } from './swiglu.ref.js';

export interface KernelEntry {
  /** File stem of the kernel, its twin, its test and its bench. */
  name: string;
  /** One line of math. */
  math: string;
  /** The CPU twin (the oracle and the CPU backend's implementation). */
  twin: (...args: never[]) => void;
}

export const KERNELS: readonly KernelEntry[] = [
  { name: 'embedding', math: 'out[r] = table[ids[r]]', twin: embeddingRef },
  { name: 'rmsnorm', math: 'out = w * x / sqrt(mean(x^2) + eps)', twin: rmsnormRef },
  { name: 'linear', math: 'out = x W^T (+ b)', twin: linearRef },
  { name: 'rope', math: 'rotate-half RoPE at per-row positions', twin: ropeRef },
  { name: 'kv-append', math: 'cache[slot[r], pos[r]] = k[r], v[r]', twin: kvAppendRef },
  { name: 'attention', math: 'causal softmax(q K^T / sqrt(d)) V over the KV cache, GQA', twin: attentionRef },
  { name: 'swiglu', math: 'out = silu(gate) * up', twin: swigluRef },
  { name: 'residual-add', math: 'x += branch + alpha[r, j] * V[vec[r], j]', twin: residualSteerRef },
  { name: 'gather-rows', math: 'out[i] = src[idx[i]]', twin: gatherRowsRef },
  { name: 'softmax', math: 'log_softmax(x) = x - max - log(sum exp(x - max))', twin: logSoftmaxRef },
  { name: 'argmax', math: 'out[r] = first index of max x[r]', twin: argmaxRef },
  { name: 'sample', math: 'temperature + top-p sampling with host uniforms', twin: sampleRef },
];
