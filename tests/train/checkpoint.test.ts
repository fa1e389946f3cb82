/** An interrupted and resumed SFT or DPO run ends with the same bytes as an uninterrupted one. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../models/config.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../train/checkpoint.js';
import { referenceLogprobs, trainDpo } from '../../train/dpo.js';
import { cloneParams, initParams, paramEntries } from '../../train/model-train.js';
import { trainSft } from '../../train/sft.js';

const cfg = parseConfig({ model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 12, tie_word_embeddings: true }, 'c');
const seqs = Array.from({ length: 10 }, (_, i) => ({ ids: [1, 2 + (i % 5), 3, 4 + (i % 3), 5, 6], weight: [0, 0, 1, 1, 1, 1] }));
const O = { epochs: 3, B: 4, T: 5, lr: 0.01, minLr: 0.001, warmup: 2, clip: 1, weightDecay: 0.1, seed: 7 };
const bytes = (p: ReturnType<typeof initParams>): number[] => paramEntries(p).flatMap(([, t]) => Array.from(new Uint8Array(t.buffer, t.byteOffset, t.byteLength)));

describe('checkpoint and resume', () => {
  it('SFT: stop after 4 of 9 steps, resume from the encoded checkpoint: identical parameters and losses', () => {
    const full = initParams(cfg, 1);
    const fullLosses = trainSft(cfg, full, seqs, O);
    let saved: Uint8Array | null = null;
    const a = initParams(cfg, 1);
    trainSft(cfg, a, seqs, O, undefined, { stopAfter: 4, save: (c) => (saved = encodeCheckpoint(c)) });
    const ck: Checkpoint = decodeCheckpoint(saved!, 'sft.ckpt');
    expect(ck.step).toBe(4);
    const b = initParams(cfg, 99); // whatever it starts from, the checkpoint overwrites it
    const resumed = trainSft(cfg, b, seqs, O, undefined, { resume: ck });
    expect(resumed).toEqual(fullLosses);
    expect(bytes(b)).toEqual(bytes(full));
  });

  it('DPO: the same holds', () => {
    const ref = initParams(cfg, 2);
    const pairs = seqs.slice(0, 6).map((s, i) => ({ chosen: s, rejected: { ids: [1, 2, 9, 10, 11 - (i % 2)], weight: [0, 0, 1, 1, 1] } }));
    const refLp = referenceLogprobs(cfg, ref, pairs, 2, 5);
    const o = { ...O, B: 2, beta: 0.3 };
    const full = cloneParams(ref);
    trainDpo(cfg, full, refLp, pairs, o);
    let saved: Uint8Array | null = null;
    trainDpo(cfg, cloneParams(ref), refLp, pairs, o, undefined, { stopAfter: 5, save: (c) => (saved = encodeCheckpoint(c)) });
    const b = cloneParams(ref);
    trainDpo(cfg, b, refLp, pairs, o, undefined, { resume: decodeCheckpoint(saved!, 'dpo.ckpt') });
    expect(bytes(b)).toEqual(bytes(full));
  });

  it('a checkpoint from another run or a corrupt file is refused with the reason', () => {
    let saved: Uint8Array | null = null;
    trainSft(cfg, initParams(cfg, 1), seqs, O, undefined, { stopAfter: 2, save: (c) => (saved = encodeCheckpoint(c)) });
    expect(() => trainSft(cfg, initParams(cfg, 1), seqs.slice(0, 6), O, undefined, { resume: decodeCheckpoint(saved!, 'x') })).toThrow(/made for a run of 9 steps; this run has 6/);
    expect(() => decodeCheckpoint(new Uint8Array(3), 'bad.ckpt')).toThrow(/bad.ckpt: not a checkpoint/);
  });
});
