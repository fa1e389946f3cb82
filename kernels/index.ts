/**
 * The one table of kernels. Each entry names the kernel (= file stem, test stem and bench case
 * name), its one line of math, its CPU twin, and its WebGPU launcher with the versions side by
 * side and the default marked. tests/kernels/registry.test.ts fails when a kernel lacks its twin,
 * its tests (tests/kernels/<name>.test.ts and <name>.gpu.test.ts), its WGSL files or its bench case.
 */
import { ARGMAX_VERSIONS, argmaxGpu } from './argmax.js';
import { argmaxRef } from './argmax.ref.js';
import { ATTENTION_DEFAULT, ATTENTION_VERSIONS, attentionGpu } from './attention.js';
import { attentionRef } from './attention.ref.js';
import { gatherRowsRef } from './backend.js';
import { EMBEDDING_VERSIONS, embeddingGpu } from './embedding.js';
import { embeddingRef } from './embedding.ref.js';
import { GATHER_ROWS_VERSIONS, gatherRowsGpu } from './gather-rows.js';
import { KV_APPEND_VERSIONS, kvAppendGpu } from './kv-append.js';
import { kvAppendRef } from './kv-append.ref.js';
import { LINEAR_DEFAULT, LINEAR_VERSIONS, linearGpu } from './linear.js';
import { linearRef } from './linear.ref.js';
import { QKV_ROPE_VERSIONS, qkvRopeGpu } from './qkv-rope.js';
import { qkvRopeRef } from './qkv-rope.ref.js';
import { RESIDUAL_ADD_VERSIONS, residualAddGpu } from './residual-add.js';
import { residualSteerRef } from './residual-add.ref.js';
import { RMSNORM_VERSIONS, rmsnormGpu } from './rmsnorm.js';
import { rmsnormRef } from './rmsnorm.ref.js';
import { ROPE_VERSIONS, ropeGpu } from './rope.js';
import { ropeRef } from './rope.ref.js';
import { SAMPLE_VERSIONS, sampleGpu } from './sample.js';
import { sampleRef } from './sample.ref.js';
import { SOFTMAX_VERSIONS, logSoftmaxGpu } from './softmax.js';
import { logSoftmaxRef } from './softmax.ref.js';
import { SWIGLU_VERSIONS, swigluGpu } from './swiglu.js';
import { swigluRef } from './swiglu.ref.js';

export interface KernelEntry {
  /** File stem of the kernel, its twin, its tests and its bench case. */
  name: string;
  /** One line of math. */
  math: string;
  /** The CPU twin (the oracle and the CPU backend's implementation). */
  twin: (...args: never[]) => void;
  /** The WebGPU launcher, its versions (each `v1` is kernels/<name>.wgsl, others <name>.<version>.wgsl) and the default. */
  gpu: { launcher: (...args: never[]) => void; versions: readonly string[]; default: string };
}

const v1 = (launcher: (...args: never[]) => void, versions: readonly string[]): KernelEntry['gpu'] => ({ launcher, versions, default: 'v1' });

export const KERNELS: readonly KernelEntry[] = [
  { name: 'embedding', math: 'out[r] = table[ids[r]]', twin: embeddingRef, gpu: v1(embeddingGpu, EMBEDDING_VERSIONS) },
  { name: 'rmsnorm', math: 'out = w * x / sqrt(mean(x^2) + eps)', twin: rmsnormRef, gpu: v1(rmsnormGpu, RMSNORM_VERSIONS) },
  { name: 'linear', math: 'out = x W^T (+ b); variant: x = silu(gate) * up', twin: linearRef, gpu: { launcher: linearGpu, versions: LINEAR_VERSIONS, default: LINEAR_DEFAULT } },
  { name: 'rope', math: 'rotate-half RoPE at per-row positions', twin: ropeRef, gpu: v1(ropeGpu, ROPE_VERSIONS) },
  { name: 'kv-append', math: 'cache[slot[r], pos[r]] = k[r], v[r]', twin: kvAppendRef, gpu: v1(kvAppendGpu, KV_APPEND_VERSIONS) },
  { name: 'qkv-rope', math: 'q = rope(qkv.q); cache[slot, pos] = rope(qkv.k), qkv.v', twin: qkvRopeRef, gpu: v1(qkvRopeGpu, QKV_ROPE_VERSIONS) },
  { name: 'attention', math: 'causal softmax(q K^T / sqrt(d)) V over the KV cache, GQA', twin: attentionRef, gpu: { launcher: attentionGpu, versions: ATTENTION_VERSIONS, default: ATTENTION_DEFAULT } },
  { name: 'swiglu', math: 'out = silu(gate) * up', twin: swigluRef, gpu: v1(swigluGpu, SWIGLU_VERSIONS) },
  { name: 'residual-add', math: 'x += branch + alpha[r, j] * V[vec[r], j]; variant: + rmsnorm(x)', twin: residualSteerRef, gpu: v1(residualAddGpu, RESIDUAL_ADD_VERSIONS) },
  { name: 'gather-rows', math: 'out[i] = src[idx[i]]', twin: gatherRowsRef, gpu: v1(gatherRowsGpu, GATHER_ROWS_VERSIONS) },
  { name: 'softmax', math: 'log_softmax(x) = x - max - log(sum exp(x - max))', twin: logSoftmaxRef, gpu: v1(logSoftmaxGpu, SOFTMAX_VERSIONS) },
  { name: 'argmax', math: 'out[r] = first index of max x[r]', twin: argmaxRef, gpu: v1(argmaxGpu, ARGMAX_VERSIONS) },
  { name: 'sample', math: 'temperature + top-p sampling with host uniforms', twin: sampleRef, gpu: v1(sampleGpu, SAMPLE_VERSIONS) },
];
